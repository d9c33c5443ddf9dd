/* loop.c — `proteindiff train`: sets up communicators, dataset, stage model and the strategy's
 * state, resumes from the newest checkpoint when asked, then runs steps with metrics, progress,
 * validation and checkpoints until train.steps or a SIGTERM/SIGUSR1, and prints a summary. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "core/progress.h"
#include "core/timer.h"
#include "parallel/comm.h"
#include "parallel/memory_budget.h"
#include "train/checkpoint.h"
#include "train/metrics.h"
#include "train/signals.h"
#include "train/train.h"
#include "nn/device.h"
#include "train/trainer.h"

static pd_status make_dir(const char *path)
{
    char buf[8192];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return pd_fail(PD_ERR_IO, "cannot create folder %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) return pd_fail(PD_ERR_IO, "cannot create folder %s: %s", buf, strerror(errno));
    return PD_OK;
}

static void read_settings(pd_trainer *t)
{
    const pd_config *c = t->cfg;
    const char *s = t->stage_name;
    t->steps = pd_cfg_stage_int(c, s, "steps");
    t->seed = (uint64_t)pd_cfg_stage_int(c, s, "seed");
    t->batch_residues = pd_cfg_stage_int(c, s, "batch_residues");
    t->val_every = pd_cfg_stage_int(c, s, "val_every");
    t->log_every = pd_cfg_stage_int(c, s, "log_every");
    t->checkpoint_every = pd_cfg_stage_int(c, s, "checkpoint_every");
    t->keep_checkpoints = pd_cfg_stage_int(c, s, "keep_checkpoints");
    t->grad_clip = pd_cfg_stage_float(c, s, "grad_clip");
    t->schedule.lr = pd_cfg_stage_float(c, s, "lr");
    t->schedule.warmup_steps = pd_cfg_stage_int(c, s, "warmup");
    t->schedule.total_steps = t->steps;
    t->schedule.min_ratio = pd_cfg_stage_float(c, s, "min_lr_ratio");
}

static void mib_text(double bytes, char *buf, size_t len) { snprintf(buf, len, "%.1f MiB", bytes / 1048576.0); }

/* The longest entry (by cost) of a split: index into the split, or -1 when empty. */
static int64_t longest_entry(const pd_split_list *s)
{
    int64_t best = -1;
    for (int64_t i = 0; i < s->n; i++)
        if (best < 0 || s->lengths[i] > s->lengths[best]) best = i;
    return best;
}

/* Activations of a micro-batch of `m` cost units made of entries of the typical cost. */
static double typical_bytes(const pd_trainer *t, int32_t typical, int64_t m)
{
    if (t->stage.ops->per_residue && m < typical) typical = (int32_t)(m > 0 ? m : 1);   /* a residue range */
    const int64_t n = m / typical > 0 ? m / typical : 1;
    int32_t *c = pd_malloc((size_t)n * sizeof *c);
    if (!c) return 0;
    for (int64_t j = 0; j < n; j++) c[j] = typical;
    const double bytes = pd_stage_memory_bytes(&t->mem, c, n);
    free(c);
    return bytes;
}

/* The memory plan, before any step: the per-rank budget, what the strategy's state takes, the
 * stage's activation estimate, and the micro-batch limit (train.micro_batch_residues, or the
 * largest that fits). Fails on every rank, naming the stage, the entry and the bytes, when one
 * entry alone does not fit. Identical on every rank (the budget is the smallest rank's). */
static pd_status memory_plan(pd_trainer *t)
{
    const pd_config *c = t->cfg;
    pd_status st = pd_stage_memory_model(t->stage_name, c, &t->mem);
    if (st == PD_ERR_NOT_IMPLEMENTED) {
        pd_clear_error();
        memset(&t->mem, 0, sizeof t->mem);
        snprintf(t->mem.basis, sizeof t->mem.basis, "no estimate for this stage");
        st = PD_OK;
    }
    PD_TRY(pd_agree(t->world, st));
    const char *unit = t->stage.ops->entry_plan ? "pixels" : "residues";   /* what an entry's cost counts */
    const char *unit1 = t->stage.ops->entry_plan ? "pixel" : "residue";
    const pd_engine_memory *em = &t->engine.mem;
    t->state_bytes = (double)(em->params + em->grads + em->optimizer + em->work);
    char how[160];
    const double budget = pd_memory_budget(c, t->world, t->topo.node.size, how, sizeof how);
    t->budget_bytes = budget;
    const double room = budget - t->state_bytes;

    char b1[32], b2[32], b3[32], b4[32];
    mib_text(budget, b1, sizeof b1);
    mib_text(t->state_bytes, b2, sizeof b2);
    /* Every entry must fit alone, in training and in validation; for a per-residue stage, which
     * cuts long entries into residue ranges, one residue of it. */
    const int per_residue = t->stage.ops->per_residue;
    const pd_split_list *splits[2] = {&t->train, &t->valid};
    for (int sp = 0; sp < 2; sp++) {
        const int64_t i = longest_entry(splits[sp]);
        if (i < 0) continue;
        const int32_t len = splits[sp]->lengths[i], fit = per_residue && len > 1 ? 1 : len;
        const double need = pd_stage_memory_bytes(&t->mem, &fit, 1);
        if (need <= room) continue;
        pd_entry_info info;
        st = pd_dataset_entry_info(t->ds, splits[sp]->entries[i], &info);
        mib_text(need, b3, sizeof b3);
        mib_text(need + t->state_bytes, b4, sizeof b4);
        return pd_agree(t->world, pd_fail(PD_ERR_NOMEM,
            "memory plan: stage %s cannot train on entry %s (%s split, %d %s) within a budget of %s per rank (%s): "
            "%s needs %s of activations + %s of parameters, gradients and optimizer state "
            "(%s, partition of %d) = %s. Raise run.memory_budget_mb, run on more ranks with a sharded strategy, or "
            "leave such entries out (featurize.max_len)", t->stage_name, st == PD_OK ? info.name : "?",
            sp ? "valid" : "train", (int)len, unit, b1, how,
            fit < len ? "a micro-batch of a single residue of it" : "one micro-batch of it alone", b3, b2,
            pd_strategy_name(t->topo.plan.strategy), t->engine.psize, b4));
    }

    /* The micro-batch limit (in cost units). */
    const long long explicit_m = pd_cfg_stage_int(c, t->stage_name, "micro_batch_residues");
    double mean = 0;
    for (int64_t i = 0; i < t->train.n; i++) mean += t->train.lengths[i];
    mean = t->train.n ? mean / (double)t->train.n : 1;
    const int32_t typical = (int32_t)(mean + 0.5) > 0 ? (int32_t)(mean + 0.5) : 1;
    const char *source;
    int64_t display_m = 0;
    if (t->mem.whole_batch) {
        t->micro_residues = 0;
        source = "whole share (the stage needs its batch in one forward)";
        if (explicit_m > 0)
            pd_warn("train.%s.micro_batch_residues = %lld is ignored: stage %s runs its whole share in one forward "
                    "(synchronised BatchNorm, EMA codebook)", t->stage_name, explicit_m, t->stage_name);
        const int64_t share = (t->batch_residues + t->nranks - 1) / t->nranks;
        const double need = typical_bytes(t, typical, share);
        if (need > room) {
            mib_text(need, b3, sizeof b3);
            return pd_agree(t->world, pd_fail(PD_ERR_NOMEM,
                "memory plan: stage %s runs a rank's whole share of the batch in one forward (about %lld %s of "
                "train.batch_residues = %lld over %d rank(s)), which needs about %s of activations + %s of state, more "
                "than the budget of %s per rank (%s); raise run.memory_budget_mb, use more ranks, or lower "
                "train.%s.batch_residues", t->stage_name, (long long)share, unit,
                (long long)t->batch_residues, t->nranks, b3, b2, b1, how, t->stage_name));
        }
    } else if (explicit_m > 0) {
        t->micro_residues = explicit_m;
        source = "train.micro_batch_residues";
        const double need = typical_bytes(t, typical, explicit_m);
        if (need > room) {
            mib_text(need, b3, sizeof b3);
            return pd_agree(t->world, pd_fail(PD_ERR_NOMEM,
                "memory plan: stage %s: train.%s.micro_batch_residues = %lld needs about %s of activations (entries "
                "of the mean length, %d %s) + %s of state, more than the budget of %s per rank (%s); lower it, or set "
                "it to 0 to pick the largest that fits", t->stage_name, t->stage_name, explicit_m, b3, (int)typical,
                unit, b2, b1, how));
        }
    } else {
        /* The largest limit (cost units) whose micro-batches of typical entries fit, rounded down to
         * a quarter octave so that small changes of free memory leave the plan alone. */
        int64_t lo = 1, hi = t->batch_residues;
        if (typical_bytes(t, typical, hi) <= room) {
            lo = hi;
        } else {
            while (hi - lo > 1) {
                const int64_t mid = lo + (hi - lo) / 2;
                if (typical_bytes(t, typical, mid) <= room) lo = mid;
                else hi = mid;
            }
            int64_t q = 1;
            while (q * 8 <= lo) q *= 2;
            lo = lo / q * q;
        }
        t->micro_residues = 0;   /* the byte limit below decides */
        display_m = lo;
        source = "the largest that fits (train.micro_batch_residues = 0)";
    }
    /* Every micro-batch also stays within the room left (rounded down to a quarter octave, so that
     * small changes of free memory between a run and its resume leave the plan alone). */
    {
        double q = 1048576.0;
        while (q * 8 <= room) q *= 2;
        t->micro_bytes = t->mem.whole_batch ? 0 : room > 1048576.0 ? floor(room / q) * q : room;
    }
    const int64_t share = (t->batch_residues + t->nranks - 1) / t->nranks;
    if (!display_m) display_m = t->micro_residues > 0 ? t->micro_residues : share;
    const int64_t per_step = (share + display_m - 1) / display_m;
    int32_t mlen = (int32_t)(display_m < share ? display_m : share);
    t->activation_bytes = typical_bytes(t, typical, mlen);
    mib_text(t->activation_bytes, b3, sizeof b3);
    mib_text(t->state_bytes + t->activation_bytes, b4, sizeof b4);
    const int32_t longest = t->train.n ? t->train.lengths[longest_entry(&t->train)] : 0;
    char cut_text[160] = "";
    const int64_t longest_pieces = longest > 0 ? pd_trainer_entry_pieces(t, longest) : 1;
    if (longest_pieces > 1)
        snprintf(cut_text, sizeof cut_text, "; entries over a micro-batch are cut into residue ranges (the longest "
                 "into %lld of <= %lld)", (long long)longest_pieces,
                 (long long)((longest + longest_pieces - 1) / longest_pieces));
    pd_info("memory plan (%s, per rank): budget %s (%s); state %s (params %.1f + grads %.1f + AdamW %.1f + work %.1f "
            "MiB, %s over %d); activations %.4f MiB per %s of a %d-%s entry, %.1f MiB for the longest (%d) [%s]; "
            "micro-batches of at most %lld %s (%s): ~%lld per step for a share of ~%lld, %s each; total ~%s%s",
            t->stage_name, b1, how, b2, (double)em->params / 1048576.0, (double)em->grads / 1048576.0,
            (double)em->optimizer / 1048576.0, (double)em->work / 1048576.0, pd_strategy_name(t->topo.plan.strategy),
            t->engine.psize, pd_stage_memory_bytes(&t->mem, &typical, 1) / typical / 1048576.0,
            unit1, (int)typical, unit1,
            pd_stage_memory_bytes(&t->mem, &longest, 1) / 1048576.0, (int)longest, t->mem.basis,
            (long long)display_m, unit, source,
            (long long)per_step, (long long)share, b3, b4, cut_text);
    return PD_OK;
}

static pd_status collect_split(pd_trainer *t, int split, pd_split_list *out)
{
    const int64_t n = pd_dataset_n_entries(t->ds);
    void (*plan)(const pd_config *, int32_t, int32_t *, int32_t *) = t->stage.ops->entry_plan;
    out->entries = pd_calloc((size_t)n + 1, sizeof *out->entries);
    out->lengths = pd_calloc((size_t)n + 1, sizeof *out->lengths);
    out->groups = plan ? pd_calloc((size_t)n + 1, sizeof *out->groups) : NULL;
    if (!out->entries || !out->lengths || (plan && !out->groups)) return PD_ERR_NOMEM;
    out->n = 0;
    for (int64_t i = 0; i < n; i++) {
        pd_entry_info info;
        PD_TRY(pd_dataset_entry_info(t->ds, i, &info));
        if (info.split != split) continue;
        int32_t cost = info.length, group = 0;
        if (plan) plan(t->cfg, info.length, &cost, &group);
        if (cost <= 0) continue; /* the stage does not use this entry (e.g. longer than it trains on) */
        out->entries[out->n] = i;
        out->lengths[out->n] = cost;
        if (plan) out->groups[out->n] = group;
        out->n++;
    }
    return PD_OK;
}

static void free_split(pd_split_list *s)
{
    free(s->entries);
    free(s->lengths);
    free(s->groups);
    memset(s, 0, sizeof *s);
}

static pd_status setup(pd_trainer *t)
{
    /* run.device: a cuda run in a CPU-only build stops here, before any data is read. The
     * placement becomes the default of the stage's parameters and of the graph. */
    pd_placement place;
    PD_TRY(pd_agree(t->world, pd_placement_from_config(t->cfg, &place)));
    PD_TRY(pd_agree(t->world, pd_placement_start(&place, t->world)));
    PD_TRY(pd_topology_from_config(&t->topo, t->world, t->cfg));
    const int on_gpu = place.device == PD_DEVICE_CUDA;
    PD_TRY(pd_agree(t->world, pd_coll_set_create(&t->cs, &t->topo, on_gpu ? PD_COLL_NCCL : PD_COLL_MPI,
                                                 on_gpu ? pd_device_compute_stream() : NULL)));
    const char *path = pd_cfg_str(t->cfg, "data.dataset");
    PD_TRY(pd_agree(t->world, pd_dataset_open(&t->ds, path, t->world)));
    pd_status st = collect_split(t, 0, &t->train);
    if (st == PD_OK) st = collect_split(t, 1, &t->valid);
    if (st == PD_OK && t->train.n == 0)
        st = pd_fail(PD_ERR_CONFIG, "the dataset %s has no entries in the train split that stage %s uses; featurize "
                     "more structures, change data.valid_fraction / data.test_fraction, or check the stage's length "
                     "limits (e.g. model.tokenizer.max_length)", path, t->stage_name);
    PD_TRY(pd_agree(t->world, st));
    if (t->valid.n == 0) pd_warn("the dataset %s has no valid entries: no val_* metrics", path);

    t->stage.cfg = t->cfg;
    t->stage.seed = t->seed;
    st = t->stage.ops->create(&t->stage, t->cfg, t->seed, t->topo.plan.partition->size);
    PD_TRY(pd_agree(t->world, st));
    pd_adamw_config adamw;
    pd_adamw_config_default(&adamw);
    adamw.beta1 = pd_cfg_stage_float(t->cfg, t->stage_name, "beta1");
    adamw.beta2 = pd_cfg_stage_float(t->cfg, t->stage_name, "beta2");
    adamw.weight_decay = pd_cfg_stage_float(t->cfg, t->stage_name, "weight_decay");
    st = pd_engine_init(&t->engine, &t->topo, &t->cs, t->stage.params, &adamw, pd_cfg_float(t->cfg, "parallel.bucket_mb"));
    PD_TRY(pd_agree(t->world, st));
    st = pd_graph_create(&t->g, 0);
    if (st == PD_OK) pd_engine_attach(&t->engine, t->g);
    if (st == PD_OK) st = pd_sampler_init(&t->sampler, t->train.lengths, t->train.n, t->seed, t->batch_residues, 1);
    if (st == PD_OK && t->train.groups) st = pd_sampler_set_groups(&t->sampler, t->train.groups);
    return pd_agree(t->world, st);
}

static void teardown(pd_trainer *t)
{
    if (t->g) pd_graph_destroy(t->g);
    pd_sampler_free(&t->sampler);
    pd_engine_free(&t->engine);
    if (t->stage.model) t->stage.ops->destroy(&t->stage);
    free_split(&t->train);
    free_split(&t->valid);
    if (t->ds) pd_dataset_close(t->ds);
    if (t->cs.world) pd_coll_set_free(&t->cs);
    if (t->topo.world.size) pd_topology_free(&t->topo);
}

static void write_metrics(FILE *f, const pd_trainer *t, int64_t done, const pd_step_result *r,
                          const pd_stage_metrics *val)
{
    if (!f) return;
    pd_json_line j = {0};
    pd_json_begin(&j);
    pd_json_str(&j, "stage", t->stage_name);
    pd_json_int(&j, "step", done);
    pd_json_int(&j, "epoch", r->epoch);
    pd_json_num(&j, "loss", r->loss);
    for (int i = 0; i < r->terms.n; i++) pd_json_num(&j, r->terms.name[i], r->terms.value[i]);
    pd_json_num(&j, "lr", r->lr);
    pd_json_num(&j, "grad_norm", r->grad_norm);
    pd_json_int(&j, "residues", r->residues);
    pd_json_num(&j, "count", r->count); /* the global normaliser (stage ops count_name) */
    pd_json_num(&j, "residues_per_s", r->seconds > 0 ? (double)r->residues / r->seconds : 0);
    pd_json_num(&j, "step_ms", r->seconds * 1e3);
    pd_json_num(&j, "comm_ms", r->comm_seconds * 1e3);
    pd_json_num(&j, "comm_calls", r->comm_calls);
    pd_json_num(&j, "comm_mb", r->comm_mb);
    pd_json_num(&j, "peak_mb", r->peak_mb);
    pd_json_num(&j, "plan_mb", r->plan_mb);
    pd_json_int(&j, "micro_batches", r->micro_batches);
    for (int i = 0; val && i < val->n; i++) {
        if (val->m[i].n_values > 1) pd_json_list(&j, val->m[i].name, val->m[i].n_values, val->m[i].values);
        else pd_json_num(&j, val->m[i].name, val->m[i].value);
    }
    fprintf(f, "%s\n", pd_json_end(&j));
    fflush(f);
    pd_json_free(&j);
}

static void val_text(const pd_stage_metrics *val, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int i = 0; i < val->n && strlen(buf) + 40 < len; i++)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%s %.5g", i ? ", " : "", val->m[i].name, val->m[i].value);
}

/* Resume: the newest complete checkpoint, or a fresh start. Returns the first step index. */
static pd_status maybe_resume(pd_trainer *t, const char *ckpt_dir, int resume, int64_t *start, double *elapsed)
{
    *start = 0;
    *elapsed = 0;
    if (!resume) return PD_OK;
    char *path = NULL;
    PD_TRY(pd_checkpoint_find_latest(ckpt_dir, t->stage_name, t->world, &path));
    if (!path) {
        pd_info("resume: no complete %s checkpoint in %s; starting from step 0", t->stage_name, ckpt_dir);
        return PD_OK;
    }
    pd_ckpt_meta meta;
    pd_status st = pd_checkpoint_read(path, &meta, &t->engine, &t->stage, t->world);
    if (st == PD_OK) st = pd_agree(t->world, pd_sampler_set_state(&t->sampler, &meta.sampler));
    if (st == PD_OK) {
        if (t->batch_residues != meta.sampler.batch_residues)
            pd_warn("resume: train.batch_residues changed from %lld to %lld; the new budget applies from now",
                    (long long)meta.sampler.batch_residues, (long long)t->batch_residues);
        pd_sampler_set_budget(&t->sampler, t->batch_residues);
        pd_info("resume: %s at step %lld (written by %d rank(s) under %s; now %d rank(s) under %s)", path,
                (long long)meta.step, meta.nranks, meta.strategy, t->nranks, pd_strategy_name(t->topo.plan.strategy));
        *start = meta.step;
        *elapsed = meta.elapsed;
    }
    free(path);
    return st;
}

static pd_status checkpoint(pd_trainer *t, const char *ckpt_dir, int64_t done, double elapsed, char *path, size_t len)
{
    pd_ckpt_meta meta;
    memset(&meta, 0, sizeof meta);
    snprintf(meta.stage, sizeof meta.stage, "%s", t->stage_name);
    snprintf(meta.strategy, sizeof meta.strategy, "%s", pd_strategy_name(t->topo.plan.strategy));
    meta.step = done;
    meta.sampler = pd_sampler_get_state(&t->sampler);
    meta.seed = t->seed;
    meta.nranks = t->nranks;
    meta.elapsed = elapsed;
    const double t0 = pd_now();
    PD_TRY(pd_checkpoint_write(ckpt_dir, &meta, t->cfg->text, &t->engine, &t->stage, t->world,
                               (int)t->keep_checkpoints, pd_cfg_float(t->cfg, "debug.checkpoint_stall"), path, len));
    pd_info("checkpoint: %s (step %lld, %.2f s)", path, (long long)done, pd_now() - t0);
    return PD_OK;
}

static pd_status run_steps(pd_trainer *t, const char *run_dir, const char *ckpt_dir, int64_t start, double elapsed0)
{
    char metrics_path[4200], ckpt_path[4200] = "";
    snprintf(metrics_path, sizeof metrics_path, "%s/metrics.jsonl", run_dir);
    FILE *metrics = NULL;
    pd_status st = t->rank == 0 ? pd_metrics_open(metrics_path, t->stage_name, start, &metrics) : PD_OK;
    PD_TRY(pd_agree(t->world, st));

    pd_progress prog;
    pd_progress_start(&prog, "steps", t->steps - start, t->rank == 0);
    const int tty = pd_log_is_tty();
    const double t_begin = pd_now();
    double comm_total = 0, step_total = 0;
    int64_t residues_total = 0, done = start;
    pd_step_result r;
    memset(&r, 0, sizeof r);
    pd_stage_metrics val = {0};
    int stopped = 0;
    pd_train_signals_install();
    for (int64_t step = start; step < t->steps; step++) {
        st = pd_trainer_step(t, step, &r);
        if (st != PD_OK) break;
        done = step + 1;
        step_total += r.seconds;
        comm_total += r.comm_seconds;
        residues_total += r.residues;
        if (r.peak_mb > t->max_peak_bytes / 1048576.0) {
            t->max_peak_bytes = r.peak_mb * 1048576.0;
            t->max_plan_bytes = r.plan_mb * 1048576.0;
        }
        int evaluate = (t->val_every > 0 && done % t->val_every == 0) || done == t->steps;
        val.n = 0;
        if (evaluate && (st = pd_trainer_validate(t, &val)) != PD_OK) break;
        if (t->rank == 0) write_metrics(metrics, t, done, &r, evaluate ? &val : NULL);
        char extra[512];
        snprintf(extra, sizeof extra, "loss %.5g  lr %.3g  |g| %.3g  %.0f res/s  comm %.0f%%", r.loss, r.lr,
                 r.grad_norm, r.seconds > 0 ? (double)r.residues / r.seconds : 0,
                 r.seconds > 0 ? 100 * r.comm_seconds / r.seconds : 0);
        if (tty) {
            pd_progress_update(&prog, done - start, extra);
        } else if (done % t->log_every == 0 || done == t->steps) {
            double rate = (double)(done - start) / (pd_now() - t_begin);
            char eta[32];
            pd_format_duration(rate > 0 ? (double)(t->steps - done) / rate : 0, eta, sizeof eta);
            pd_info("%s step %lld/%lld  %s  ETA %s", t->stage_name, (long long)done, (long long)t->steps, extra, eta);
        }
        if (evaluate && val.n) {
            char vt[1024];
            val_text(&val, vt, sizeof vt);
            pd_info("%s validation at step %lld: %s", t->stage_name, (long long)done, vt);
        }
        /* Stop requests are agreed on: every rank checkpoints and leaves at the same step. */
        int stop = pd_train_signal_pending() != 0;
        MPI_Allreduce(MPI_IN_PLACE, &stop, 1, MPI_INT, MPI_MAX, t->world);
        int due = (t->checkpoint_every > 0 && done % t->checkpoint_every == 0) || done == t->steps || stop;
        if (due && (st = checkpoint(t, ckpt_dir, done, elapsed0 + pd_now() - t_begin, ckpt_path, sizeof ckpt_path)) != PD_OK)
            break;
        if (stop) {
            stopped = 1;
            break;
        }
    }
    pd_train_signals_restore();
    if (tty) pd_progress_finish(&prog, NULL);
    if (metrics) fclose(metrics);
    if (st != PD_OK) return st;

    const double wall = pd_now() - t_begin;
    const int64_t ran = done - start;
    char dur[32];
    pd_format_duration(wall, dur, sizeof dur);
    pd_info("%s: %lld steps (%lld..%lld) in %s on %d rank(s), %s: %.0f residues/s, %.1f ms/step, communication %.1f%% "
            "of step time", t->stage_name, (long long)ran, (long long)start + 1, (long long)done, dur, t->nranks,
            pd_strategy_name(t->topo.plan.strategy), wall > 0 ? (double)residues_total / wall : 0,
            ran ? 1e3 * step_total / (double)ran : 0, step_total > 0 ? 100 * comm_total / step_total : 0);
    if (ran) {
        char terms[512] = "";
        for (int i = 0; i < r.terms.n; i++)
            snprintf(terms + strlen(terms), sizeof terms - strlen(terms), ", %s %.5g", r.terms.name[i], r.terms.value[i]);
        pd_info("%s: final loss %.6g%s", t->stage_name, r.loss, terms);
    }
    if (val.n) {
        char vt[1024];
        val_text(&val, vt, sizeof vt);
        pd_info("%s: final validation: %s", t->stage_name, vt);
    }
    if (ran)
        pd_info("%s: activation memory: measured arena peak %.1f MiB (largest step, largest rank) against the plan's "
                "%.1f MiB for that step's largest micro-batch (%+.0f %%); with the state, %.1f MiB of the %.1f MiB budget",
                t->stage_name, t->max_peak_bytes / 1048576.0, t->max_plan_bytes / 1048576.0,
                t->max_plan_bytes > 0 ? 100.0 * (t->max_peak_bytes / t->max_plan_bytes - 1) : 0,
                (t->max_peak_bytes + t->state_bytes) / 1048576.0, t->budget_bytes / 1048576.0);
    pd_info("%s: metrics in %s; newest checkpoint %s", t->stage_name, metrics_path, ckpt_path[0] ? ckpt_path : "(none)");
    if (stopped) {
        pd_fail(PD_ERR_INTERRUPTED, "%s stopped by a signal after step %lld; checkpoint %s; continue with "
                "`proteindiff train RUN.cfg --stage %s --resume`", t->stage_name, (long long)done, ckpt_path,
                t->stage_name);
        return pd_agree(t->world, PD_ERR_INTERRUPTED);
    }
    return PD_OK;
}

pd_status pd_train_run(const pd_config *cfg, const pd_train_options *opt, MPI_Comm world)
{
    pd_trainer t;
    memset(&t, 0, sizeof t);
    t.cfg = cfg;
    t.stage_name = opt->stage;
    t.world = world;
    MPI_Comm_rank(world, &t.rank);
    MPI_Comm_size(world, &t.nranks);
    PD_TRY(pd_stage_find(opt->stage, &t.stage.ops));
    read_settings(&t);

    char run_dir[4096], ckpt_dir[4200];
    snprintf(run_dir, sizeof run_dir, "%s", pd_cfg_str(cfg, "run.dir"));
    snprintf(ckpt_dir, sizeof ckpt_dir, "%s/checkpoints", run_dir);
    pd_status st = t.rank == 0 ? make_dir(ckpt_dir) : PD_OK;
    PD_TRY(pd_agree(world, st));

    st = setup(&t);
    int64_t start = 0;
    double elapsed = 0;
    if (st == PD_OK) {
        char topo[256];
        pd_topology_describe(&t.topo, topo, sizeof topo);
        pd_info("train %s: %lld train / %lld valid entries of %s; %lld parameters in %d units; %s", t.stage_name,
                (long long)t.train.n, (long long)t.valid.n, pd_cfg_str(cfg, "data.dataset"),
                (long long)pd_params_count(t.stage.params), t.stage.params->n_units, topo);
        pd_engine_report_memory(&t.engine);
        st = memory_plan(&t);
    }
    if (st == PD_OK) {
        int resume = opt->resume || pd_cfg_stage_bool(cfg, t.stage_name, "resume");
        st = maybe_resume(&t, ckpt_dir, resume, &start, &elapsed);
        if (st == PD_OK && t.rank == 0) pd_checkpoint_remove_unfinished(ckpt_dir, t.stage_name);
    }
    if (st == PD_OK && start >= t.steps)
        pd_info("%s: already at step %lld of train.steps = %lld; nothing to do", t.stage_name, (long long)start,
                (long long)t.steps);
    else if (st == PD_OK)
        st = run_steps(&t, run_dir, ckpt_dir, start, elapsed);
    teardown(&t);
    return st;
}
