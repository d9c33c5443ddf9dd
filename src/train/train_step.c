/* train_step.c — one optimizer step, the same on 1 or N ranks: the global batch from the
 * sampler, this rank's slice cut into micro-batches that fit the memory plan, the global count,
 * forward and backward on the tape for each micro-batch with the gradients accumulating (the
 * engine's hooks move parameters and gradients), the strategy's reduction, clipping by the global
 * norm, AdamW with warmup + cosine, the stage's after-step hook, and the step's global figures. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/timer.h"
#include "nn/ops.h"
#include "parallel/comm.h"
#include "train/trainer.h"

static pd_status sum_f64(void *user, double *buf, int64_t n)
{
    pd_trainer *t = user;
    return pd_coll_allreduce_sum(t->cs.world, buf, (size_t)n, PD_DT_F64);
}

static pd_status broadcast(void *user, void *buf, int64_t bytes)
{
    pd_trainer *t = user;
    return pd_coll_broadcast(t->cs.world, buf, (size_t)bytes, PD_DT_U8, 0);
}

/* The entry a rank without a share of the batch runs (loss scaled to 0, so that it makes the same
 * collective calls): the cheapest of the split, in the batch's group when the stage groups entries
 * (tokenizer length bins). It used to be the batch's first entry, which is a long one whenever a
 * batch holds a single entry: a side-chain VAE rank then ran all ~700 residues of it, unsampled,
 * 10x a normal step's work and 7 GB of activations, while the other rank waited. */
static int64_t phantom_entry(const pd_split_list *split, int64_t first)
{
    int64_t best = first;
    for (int64_t i = 0; i < split->n; i++)
        if ((!split->groups || split->groups[i] == split->groups[first]) && split->lengths[i] < split->lengths[best])
            best = i;
    return best;
}

/* The longest residue range of an entry of `len` residues that one micro-batch of a per-residue
 * stage holds alone: within t->micro_residues and t->micro_bytes, at least 1. */
static int32_t piece_limit(const pd_trainer *t, int32_t len)
{
    int32_t lo = 1, hi = len;
    if (t->micro_residues > 0 && t->micro_residues < hi) hi = (int32_t)t->micro_residues;
    if (t->micro_bytes <= 0 || pd_stage_memory_bytes(&t->mem, &hi, 1) <= t->micro_bytes) return hi;
    while (hi - lo > 1) {
        int32_t mid = lo + (hi - lo) / 2;
        if (pd_stage_memory_bytes(&t->mem, &mid, 1) <= t->micro_bytes) lo = mid;
        else hi = mid;
    }
    return lo;
}

int64_t pd_trainer_entry_pieces(const pd_trainer *t, int32_t len)
{
    if (!t->stage.ops->per_residue || len <= 1) return 1;
    const int over = (t->micro_residues > 0 && len > t->micro_residues) ||
                     (t->micro_bytes > 0 && pd_stage_memory_bytes(&t->mem, &len, 1) > t->micro_bytes);
    if (!over) return 1;
    const int32_t p = piece_limit(t, len);
    return (len + p - 1) / p;
}

pd_status pd_trainer_micro_plan(pd_trainer *t, const pd_split_list *split, const pd_batch *global, pd_micro_plan *mp)
{
    memset(mp, 0, sizeof *mp);
    mp->phantom = -1;
    pd_batch mine = {0};
    pd_status st = pd_batch_split(global, split->lengths, t->nranks, t->rank, &mine);
    int64_t n_items = 0;
    for (int64_t i = 0; st == PD_OK && i < mine.n; i++) n_items += pd_trainer_entry_pieces(t, split->lengths[mine.entries[i]]);
    if (st == PD_OK) {
        mp->entries = pd_malloc((size_t)(n_items + 1) * sizeof *mp->entries);
        mp->first = pd_malloc((size_t)(n_items + 2) * sizeof *mp->first);
        mp->cost = pd_malloc((size_t)(n_items + 1) * sizeof *mp->cost);
        mp->begin = pd_malloc((size_t)(n_items + 1) * sizeof *mp->begin);
        if (!mp->entries || !mp->first || !mp->cost || !mp->begin) st = PD_ERR_NOMEM;
    }
    if (st == PD_OK) {
        mp->n_items = n_items;
        /* Consecutive entries of the share (longest first) while they fit the limits; an entry of a
         * per-residue stage that exceeds them alone becomes m near-equal residue ranges, each a
         * micro-batch alone (the packing depends on the share and the limits only). */
        int64_t cur = 0, j = 0;
        int after_pieces = 0;
        for (int64_t i = 0; i < mine.n; i++) {
            const int64_t e = split->entries[mine.entries[i]];
            const int32_t len = split->lengths[mine.entries[i]];
            const int64_t m = pd_trainer_entry_pieces(t, len);
            if (m > 1) mp->n_cut++;
            for (int64_t q = 0; q < m; q++, j++) {
                mp->entries[j] = e;
                mp->begin[j] = (int32_t)((int64_t)len * q / m);
                mp->cost[j] = (int32_t)((int64_t)len * (q + 1) / m) - mp->begin[j];
                int cut = j == 0 || m > 1 || after_pieces ||
                          (t->micro_residues > 0 && cur + mp->cost[j] > t->micro_residues);
                if (!cut && t->micro_bytes > 0) {
                    const int64_t from = mp->first[mp->n - 1];
                    cut = pd_stage_memory_bytes(&t->mem, mp->cost + from, j + 1 - from) > t->micro_bytes;
                }
                if (cut) {
                    mp->first[mp->n++] = j;
                    cur = 0;
                }
                cur += mp->cost[j];
                after_pieces = m > 1;
            }
        }
        mp->first[mp->n] = n_items;
        for (int64_t k = 0; k < mp->n; k++) {
            double bytes = pd_stage_memory_bytes(&t->mem, mp->cost + mp->first[k], mp->first[k + 1] - mp->first[k]);
            if (bytes > mp->max_bytes) mp->max_bytes = bytes;
        }
        if (global->n > 0) mp->phantom = split->entries[phantom_entry(split, global->entries[0])];
        if (mp->n == 0 && mp->phantom >= 0) {
            int32_t c = split->lengths[phantom_entry(split, global->entries[0])];
            mp->max_bytes = pd_stage_memory_bytes(&t->mem, &c, 1);
        }
    }
    pd_batch_free(&mine);
    st = pd_agree(t->world, st);
    if (st != PD_OK) {
        pd_micro_plan_free(mp);
        return st;
    }
    mp->n_all = mp->n;
    MPI_Allreduce(MPI_IN_PLACE, &mp->n_all, 1, MPI_INT64_T, MPI_MAX, t->world);
    if (mp->n_all < 1) mp->n_all = 1;
    return PD_OK;
}

void pd_micro_plan_free(pd_micro_plan *mp)
{
    free(mp->entries);
    free(mp->first);
    free(mp->cost);
    free(mp->begin);
    memset(mp, 0, sizeof *mp);
}

pd_status pd_trainer_load_micro(pd_trainer *t, const pd_micro_plan *mp, int64_t k, int64_t step, pd_stage_batch *b)
{
    memset(b, 0, sizeof *b);
    b->step = step;
    if (k < mp->n) {
        b->entries = mp->entries + mp->first[k];
        b->n_entries = mp->first[k + 1] - mp->first[k];
        if (t->stage.ops->per_residue) {
            b->range_first = mp->begin + mp->first[k];
            b->range_len = mp->cost + mp->first[k];
        }
    } else {
        if (mp->phantom < 0) return pd_fail(PD_ERR, "training engine: an empty global batch");
        b->entries = &mp->phantom;
        b->n_entries = 1;
        b->phantom = 1;
    }
    pd_status st = t->stage.ops->load_batch(&t->stage, t->ds, b);
    if (b->phantom) b->count = b->residues = 0;
    return st;
}

static void free_micro_batches(pd_trainer *t, pd_stage_batch *bs, int64_t n)
{
    for (int64_t k = 0; bs && k < n; k++)
        if (bs[k].data) t->stage.ops->free_batch(&t->stage, &bs[k]);
    free(bs);
}

pd_status pd_trainer_step(pd_trainer *t, int64_t step, pd_step_result *r)
{
    memset(r, 0, sizeof *r);
    const double t0 = pd_now();
    pd_coll_set_stats_take(&t->cs);
    pd_batch global = {0};
    PD_TRY(pd_sampler_next(&t->sampler, &global));
    pd_micro_plan mp;
    pd_status st = pd_trainer_micro_plan(t, &t->train, &global, &mp);
    r->epoch = global.epoch;
    pd_batch_free(&global);
    PD_TRY(st);
    const int64_t K = mp.n_all;
    r->micro_batches = K;

    /* Every micro-batch is read first: the loss of each divides by the whole step's global counts. */
    pd_stage_batch *bs = pd_calloc((size_t)K, sizeof *bs);
    st = bs ? PD_OK : PD_ERR_NOMEM;
    for (int64_t k = 0; st == PD_OK && k < K; k++) st = pd_trainer_load_micro(t, &mp, k, step + 1, &bs[k]);
    st = pd_agree(t->world, st);
    if (st != PD_OK) {
        free_micro_batches(t, bs, K);
        pd_micro_plan_free(&mp);
        return st;
    }

    /* Global counts first: every rank divides by the same numbers, whatever the rank count and the
     * micro-batches. */
    const int nc = t->stage.ops->batch_counts ? t->stage.ops->n_counts : 0;
    double counts[2 + PD_STAGE_MAX_COUNTS] = {0};
    for (int64_t k = 0; k < K; k++) {
        counts[0] += (double)bs[k].count;
        counts[1] += (double)bs[k].residues;
        double c[PD_STAGE_MAX_COUNTS] = {0};
        if (nc && !bs[k].phantom) t->stage.ops->batch_counts(&t->stage, &bs[k], c);
        for (int i = 0; i < nc; i++) counts[2 + i] += c[i];
    }
    const double local_count = counts[0];
    st = pd_coll_allreduce_sum(t->cs.world, counts, (size_t)(2 + nc), PD_DT_F64);
    const double normaliser = counts[0] > 0 ? counts[0] : 1;
    r->count = counts[0];
    r->residues = (int64_t)counts[1];

    pd_stage_terms terms = {0};
    double sums[1 + PD_STAGE_MAX_TERMS] = {0};
    pd_stage_comm comm = {sum_f64, broadcast, t};
    pd_graph_reset(t->g);
    pd_arena_window_start(pd_graph_arena(t->g));
    for (int64_t k = 0; st == PD_OK && k < K; k++) {
        pd_stage_batch *b = &bs[k];
        b->global_counts = nc ? counts + 2 : NULL;
        pd_graph_reset(t->g);
        pd_graph_set_training(t->g, 1);
        pd_graph_set_grad(t->g, 1);
        pd_engine_begin_micro(&t->engine, k, K);
        pd_stage_terms mt = {0};
        t->stage.comm = &comm;
        pd_tensor *loss = t->stage.ops->loss(&t->stage, t->g, b, step, normaliser, &mt);
        /* A phantom batch runs the same forward (and collectives) but contributes nothing. */
        if (b->phantom) loss = pd_scale(t->g, loss, 0.0);
        st = pd_graph_status(t->g);
        if (st == PD_OK) st = pd_backward(t->g, loss);
        t->stage.comm = NULL;
        if (st == PD_OK) {
            terms.n = mt.n;
            for (int i = 0; i < mt.n; i++) terms.name[i] = mt.name[i];
            if (!b->phantom) {
                sums[0] += loss->data[0];
                for (int i = 0; i < mt.n; i++) sums[1 + i] += mt.value[i];
            }
        }
        /* Before the next micro-batch's collectives: a rank that failed stops every rank here. */
        if (k + 1 < K) st = pd_agree(t->world, st);
    }
    if (st == PD_OK) st = pd_engine_finish_backward(&t->engine);
    st = pd_agree(t->world, st);
    if (st != PD_OK) {
        free_micro_batches(t, bs, K);
        pd_micro_plan_free(&mp);
        return st;
    }

    /* Loss and terms summed over ranks (each was divided by the global count). */
    st = pd_coll_allreduce_sum(t->cs.world, sums, (size_t)(1 + terms.n), PD_DT_F64);
    r->loss = sums[0];
    r->terms = terms;
    for (int i = 0; i < terms.n; i++) r->terms.value[i] = sums[1 + i];

    double sumsq = 0;
    if (st == PD_OK) st = pd_engine_grad_sumsq(&t->engine, &sumsq);
    r->grad_norm = sqrt(sumsq);
    r->lr = pd_lr_at(&t->schedule, step);
    const double clip = pd_clip_factor(r->grad_norm, t->grad_clip);
    if (st == PD_OK && t->stage.ops->unit_lr) {
        double *unit_lr = pd_malloc((size_t)t->engine.n_units * sizeof *unit_lr);
        if (!unit_lr) st = PD_ERR_NOMEM;
        for (int u = 0; unit_lr && u < t->engine.n_units; u++)
            unit_lr[u] = t->stage.ops->unit_lr(&t->stage, step, u, r->lr);
        if (st == PD_OK) st = pd_engine_apply_per_unit(&t->engine, unit_lr, clip);
        free(unit_lr);
    } else if (st == PD_OK) {
        st = pd_engine_apply(&t->engine, r->lr, clip);
    }
    if (st == PD_OK && t->stage.ops->after_step) {
        /* The step's last micro-batch stands for the whole share: its graph is the one still held
         * (stages that need the whole batch's forward declare whole_batch and run one micro-batch). */
        pd_stage_batch *last = &bs[K - 1];
        if (K > 1) {
            last->count = (int64_t)local_count;
            last->phantom = mp.n == 0;
        }
        st = t->stage.ops->after_step(&t->stage, t->g, last, step, &comm);
    }
    const double mp_max_bytes = mp.max_bytes;
    free_micro_batches(t, bs, K);
    pd_micro_plan_free(&mp);
    PD_TRY(pd_agree(t->world, st));
    /* the arena's peak and the plan's estimate; the collectives' calls and bus bytes (what the strategy
     * moved this step: fsdp's per-micro-batch gathers show here), each the max over ranks */
    const pd_coll_stats cst = pd_coll_set_stats_take(&t->cs);
    double mx[4] = {(double)pd_arena_window_peak(pd_graph_arena(t->g)), mp_max_bytes, (double)cst.calls,
                    (double)cst.bus_bytes / 1048576.0};
    MPI_Allreduce(MPI_IN_PLACE, mx, 4, MPI_DOUBLE, MPI_MAX, t->world);
    r->peak_mb = mx[0] / 1048576.0;
    r->plan_mb = mx[1] / 1048576.0;
    r->comm_calls = mx[2];
    r->comm_mb = mx[3];
    r->seconds = pd_now() - t0;
    r->comm_seconds = cst.seconds;
    return PD_OK;
}
