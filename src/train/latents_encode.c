/* latents_encode.c — `proteindiff encode RUN.cfg --stage NAME`: load a checkpoint's parameters
 * into the stage's model (serially on every rank: a checkpoint is dense), give each rank a
 * contiguous range of entries, encode every entry on its own with the stage's hook (so the
 * result does not depend on the rank count) and write run.dir/latents/<stage>.h5. Memory: one
 * entry at a time, each within run.memory_budget_mb (an entry too long for it stops every rank
 * before the file is created, naming it). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/progress.h"
#include "core/timer.h"
#include "dataset/h5util.h"
#include "dataset/reader.h"
#include "parallel/comm.h"
#include "parallel/memory_budget.h"
#include "train/checkpoint.h"
#include "train/latents.h"
#include "train/stage.h"

/* The absolute path when it exists (provenance attributes stay valid from any folder). */
static void absolute(const char *path, char *out, size_t len)
{
    char buf[PATH_MAX];
    snprintf(out, len, "%s", realpath(path, buf) ? buf : path);
}

/* ---- the command ----------------------------------------------------------------------------- */

typedef struct encode_job {
    const pd_config *cfg;
    const pd_encode_options *opt;
    MPI_Comm world;
    int rank, nranks;
    pd_stage stage;
    pd_dataset *ds;
    pd_graph *g;
    char checkpoint[PATH_MAX + 8], dataset[PATH_MAX + 8], out[4200];
    pd_stage_memory mem;           /* one entry's forward (pd_stage_memory_infer "encode") */
    double peak_bytes, peak_plan;  /* the largest arena peak of an entry and its estimate */
} encode_job;

static pd_status find_checkpoint(encode_job *j)
{
    if (j->opt->checkpoint) {
        if (access(j->opt->checkpoint, R_OK) != 0)
            return pd_fail(PD_ERR_IO, "encode: cannot read the checkpoint %s: %s", j->opt->checkpoint, strerror(errno));
        absolute(j->opt->checkpoint, j->checkpoint, sizeof j->checkpoint);
        return PD_OK;
    }
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/checkpoints", pd_cfg_str(j->cfg, "run.dir"));
    char *found = NULL;
    PD_TRY(pd_checkpoint_find_latest(dir, j->opt->stage, j->world, &found));
    if (!found)
        return pd_fail(PD_ERR_CONFIG, "encode: no complete %s checkpoint in %s; train the stage first (`proteindiff "
                       "train RUN.cfg --stage %s`) or name one with --checkpoint FILE", j->opt->stage, dir,
                       j->opt->stage);
    absolute(found, j->checkpoint, sizeof j->checkpoint);
    free(found);
    return PD_OK;
}

static pd_status make_latents_dir(const char *out)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", out);
    char *slash = strrchr(dir, '/');
    if (!slash) return PD_OK;
    *slash = '\0';
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return pd_fail(PD_ERR_IO, "cannot create folder %s: %s (is run.dir writable?)", dir, strerror(errno));
    return PD_OK;
}

/* Entries [*begin, *end) of this rank: entry i belongs to rank floor(first_row(i) * nranks / R),
 * contiguous ranges of about R / nranks residues each. */
static pd_status my_entries(encode_job *j, int64_t *begin, int64_t *end)
{
    const int64_t n = pd_dataset_n_entries(j->ds), R = pd_dataset_n_residues(j->ds);
    *begin = *end = n;
    int found = 0;
    for (int64_t i = 0; i < n; i++) {
        pd_entry_info info;
        PD_TRY(pd_dataset_entry_info(j->ds, i, &info));
        int owner = R > 0 ? (int)((__int128)info.residue_offset * j->nranks / R) : 0;
        if (owner == j->rank && !found) {
            *begin = i;
            found = 1;
        }
        if (owner > j->rank) {
            *end = i;
            break;
        }
    }
    if (!found) *begin = *end;
    return PD_OK;
}

/* Encode entries [begin, end) and write their rows; returns the number of encoded rows. */
static pd_status encode_range(encode_job *j, pd_latents_writer *w, int64_t begin, int64_t end, int64_t dim,
                              int64_t *n_valid)
{
    *n_valid = 0;
    pd_progress prog;
    pd_progress_start(&prog, "entries", end - begin, j->rank == 0);
    float *mu = NULL, *logvar = NULL;
    uint8_t *valid = NULL;
    size_t cap = 0;
    pd_status st = PD_OK;
    for (int64_t i = begin; st == PD_OK && i < end; i++) {
        pd_entry_info info;
        st = pd_dataset_entry_info(j->ds, i, &info);
        if (st != PD_OK) break;
        pd_stage_batch b = {.n_entries = 1, .entries = &i};
        st = j->stage.ops->load_batch(&j->stage, j->ds, &b);
        if (st != PD_OK) break;
        const size_t rows = (size_t)info.length;
        if (rows > cap) {
            free(mu);
            free(logvar);
            free(valid);
            mu = pd_malloc(rows * (size_t)dim * sizeof *mu);
            logvar = pd_malloc(rows * (size_t)dim * sizeof *logvar);
            valid = pd_malloc(rows);
            cap = mu && logvar && valid ? rows : 0;
            if (!cap) st = PD_ERR_NOMEM;
        }
        if (st == PD_OK) {
            memset(mu, 0, rows * (size_t)dim * sizeof *mu);
            memset(logvar, 0, rows * (size_t)dim * sizeof *logvar);
            memset(valid, 0, rows);
            b.residues = info.length;
            pd_arena *arena = pd_graph_arena(j->g);
            pd_arena_window_start(arena);
            st = j->stage.ops->encode(&j->stage, j->g, &b, info.residue_offset, mu, logvar, valid);
            const double peak = (double)pd_arena_window_peak(arena);
            if (peak > j->peak_bytes) {
                j->peak_bytes = peak;
                j->peak_plan = pd_stage_memory_bytes(&j->mem, &info.length, 1);
            }
        }
        j->stage.ops->free_batch(&j->stage, &b);
        pd_graph_reset(j->g);
        if (st == PD_OK) st = pd_latents_writer_put(w, info.residue_offset, info.length, mu, logvar, valid);
        if (st != PD_OK) {
            pd_error_context("encoding entry %lld (%s)", (long long)i, info.name);
            break;
        }
        for (size_t r = 0; r < rows; r++) *n_valid += valid[r];
        pd_progress_update(&prog, i + 1 - begin, NULL);
    }
    pd_progress_finish(&prog, NULL);
    free(mu);
    free(logvar);
    free(valid);
    return st;
}

/* Test hook: PD_DEBUG_ENCODE_STALL=SECONDS pauses every rank after the rows are written and
 * before complete = 1, so tests can kill an encode mid-write (tests/train/encode.sh). */
static void debug_stall(void)
{
    const char *s = getenv("PD_DEBUG_ENCODE_STALL");
    double seconds = s && s[0] ? atof(s) : 0;
    if (seconds <= 0) return;
    pd_info("encode: PD_DEBUG_ENCODE_STALL: pausing %.1f s before marking the file complete", seconds);
    const double t0 = pd_now();
    while (pd_now() - t0 < seconds) usleep(10000);
}

/* The memory plan: every entry is encoded alone, so the longest must fit the budget less the
 * model's parameters. Identical on every rank (the budget is the smallest rank's). */
static pd_status memory_plan(encode_job *j)
{
    const char *name = j->stage.ops->name;
    PD_TRY(pd_stage_memory_infer(name, "encode", j->cfg, &j->mem));
    char how[160];
    const double budget = pd_memory_budget(j->cfg, j->world, 0, how, sizeof how);
    const double params = 4.0 * (double)pd_params_count(j->stage.params), room = budget - params;
    const int64_t n = pd_dataset_n_entries(j->ds);
    int64_t longest = -1;
    int32_t len = 0;
    for (int64_t i = 0; i < n; i++) {
        pd_entry_info info;
        PD_TRY(pd_dataset_entry_info(j->ds, i, &info));
        if (info.length > len) {
            len = info.length;
            longest = i;
        }
    }
    const double need = pd_stage_memory_bytes(&j->mem, &len, 1);
    pd_info("encode memory plan (%s, per rank): budget %.1f MiB (%s); parameters %.1f MiB; one entry at a time, the "
            "longest (%d residues) ~%.1f MiB [%s]", name, budget / 1048576.0, how, params / 1048576.0, (int)len,
            need / 1048576.0, j->mem.basis);
    if (longest < 0 || need <= room) return PD_OK;
    pd_entry_info info;
    PD_TRY(pd_dataset_entry_info(j->ds, longest, &info));
    return pd_fail(PD_ERR_NOMEM,
                   "encode memory plan: stage %s cannot encode entry %s (%d residues) within a budget of %.1f MiB per rank "
                   "(%s): it alone needs ~%.1f MiB of activations + %.1f MiB of parameters. Raise run.memory_budget_mb, "
                   "run fewer ranks per node, or leave such entries out (featurize.max_len)", name, info.name,
                   (int)info.length, budget / 1048576.0, how, need / 1048576.0, params / 1048576.0);
}

static pd_status run_encode(encode_job *j)
{
    const pd_stage_ops *ops = j->stage.ops;
    PD_TRY(find_checkpoint(j));
    absolute(pd_cfg_str(j->cfg, "data.dataset"), j->dataset, sizeof j->dataset);
    pd_latents_path(j->cfg, ops->name, j->out, sizeof j->out);
    int skip = j->rank == 0 && !j->opt->force && pd_latents_up_to_date(j->out, ops->name, j->dataset, j->checkpoint);
    MPI_Bcast(&skip, 1, MPI_INT, 0, j->world);
    if (skip) {
        pd_info("encode: %s is complete and was made from %s and %s; nothing to do (--force rewrites it)", j->out,
                j->checkpoint, j->dataset);
        return PD_OK;
    }
    PD_TRY(pd_agree(j->world, j->rank == 0 ? make_latents_dir(j->out) : PD_OK));
    PD_TRY(pd_agree(j->world, pd_dataset_open(&j->ds, pd_cfg_str(j->cfg, "data.dataset"), j->world)));

    j->stage.cfg = j->cfg;
    j->stage.seed = (uint64_t)pd_cfg_stage_int(j->cfg, ops->name, "seed");
    pd_status st = ops->create(&j->stage, j->cfg, j->stage.seed, 1);
    if (st == PD_OK) st = pd_checkpoint_load_stage(j->checkpoint, &j->stage);
    if (st == PD_OK) st = pd_graph_create(&j->g, 0);
    PD_TRY(pd_agree(j->world, st));
    pd_graph_set_training(j->g, 0);
    pd_graph_set_grad(j->g, 0);
    PD_TRY(pd_agree(j->world, memory_plan(j)));

    const int64_t dim = ops->latent_dim(&j->stage), R = pd_dataset_n_residues(j->ds);
    pd_latents_meta meta = {ops->name, j->dataset, j->checkpoint, j->cfg->text, j->opt->created_by, dim, R};
    pd_latents_writer *w;
    PD_TRY(pd_latents_writer_create(&w, j->out, j->world, &meta));
    pd_info("encode %s: %lld entries, %lld residues of %s with %s on %d rank(s) -> %s", ops->name,
            (long long)pd_dataset_n_entries(j->ds), (long long)R, j->dataset, j->checkpoint, j->nranks, j->out);
    const double t0 = pd_now();
    int64_t begin, end, n_valid = 0;
    st = my_entries(j, &begin, &end);
    if (st == PD_OK) st = encode_range(j, w, begin, end, dim, &n_valid);
    if (st == PD_OK) debug_stall();
    PD_TRY(pd_latents_writer_finish(w, st));
    MPI_Allreduce(MPI_IN_PLACE, &n_valid, 1, MPI_INT64_T, MPI_SUM, j->world);
    const double secs = pd_now() - t0;
    pd_info("encode %s: wrote %s: %lld of %lld residue rows encoded (the rest masked), latent size %lld, %.1f s "
            "(%.0f residues/s)", ops->name, j->out, (long long)n_valid, (long long)R, (long long)dim, secs,
            secs > 0 ? (double)R / secs : 0);
    double peak[2] = {j->peak_bytes, j->peak_plan};   /* the rank with the largest peak */
    struct { double v; int r; } in = {peak[0], j->rank}, out;
    MPI_Allreduce(&in, &out, 1, MPI_DOUBLE_INT, MPI_MAXLOC, j->world);
    MPI_Bcast(peak, 2, MPI_DOUBLE, out.r, j->world);
    if (peak[1] > 0)
        pd_info("encode %s: memory: largest arena peak of an entry %.2f MiB against the plan's %.2f MiB (%+.0f %%)",
                ops->name, peak[0] / 1048576.0, peak[1] / 1048576.0, 100.0 * (peak[0] / peak[1] - 1));
    return PD_OK;
}

pd_status pd_latents_encode(const pd_config *cfg, const pd_encode_options *opt, MPI_Comm world)
{
    encode_job j;
    memset(&j, 0, sizeof j);
    j.cfg = cfg;
    j.opt = opt;
    j.world = world;
    MPI_Comm_rank(world, &j.rank);
    MPI_Comm_size(world, &j.nranks);
    PD_TRY(pd_stage_find(opt->stage, &j.stage.ops));
    if (!j.stage.ops->encode || !j.stage.ops->latent_dim)
        return pd_fail(PD_ERR_USAGE, "encode: stage '%s' has no latents to write (encode works for the VAE stages "
                       "that implement the encode hook: sc_vae, bb_vae)", opt->stage);
    pd_h5_quiet();
    pd_status st = run_encode(&j);
    if (j.g) pd_graph_destroy(j.g);
    if (j.stage.model) j.stage.ops->destroy(&j.stage);
    if (j.ds) pd_dataset_close(j.ds);
    return st;
}
