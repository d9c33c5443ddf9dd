/* tokenize.c — `proteindiff tokenize` (tokenize.h) from a run file's settings: load the
 * tokenizer checkpoint (pd_checkpoint_load_stage), plan which entries are tokenized and where
 * their codes go, give each rank a contiguous range to encode (tokenize_encode.c), write the
 * tokens file (tokens_file.c) and summarise the MDS check over every entry. */
#include "train/tokenize.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "parallel/comm.h"
#include "parallel/memory_budget.h"
#include "train/stage_tokenizer.h"
#include "train/checkpoint.h"
#include "train/tokenize_plan.h"

static void plan_free(pd_tokenize_plan *p)
{
    free(p->index);
    free(p->length);
    free(p->split);
    free(p->skipped);
    for (int l = 0; l < PD_TOKENIZER_MAX_LEVELS; l++) free(p->offset[l]);
    memset(p, 0, sizeof *p);
}

static pd_status make_plan(pd_dataset *ds, int levels, int max_length, pd_tokenize_plan *p)
{
    memset(p, 0, sizeof *p);
    p->levels = levels;
    const int64_t E = pd_dataset_n_entries(ds);
    p->index = pd_malloc((size_t)(E + 1) * sizeof *p->index);
    p->length = pd_malloc((size_t)(E + 1) * sizeof *p->length);
    p->split = pd_malloc((size_t)(E + 1));
    p->skipped = pd_malloc((size_t)(E + 1) * sizeof *p->skipped);
    for (int l = 0; l < levels; l++) p->offset[l] = pd_calloc((size_t)(E + 1), sizeof **p->offset);
    if (!p->index || !p->length || !p->split || !p->skipped || (levels && !p->offset[levels - 1])) return PD_ERR_NOMEM;
    p->name_width = 1;
    for (int64_t e = 0; e < E; e++) {
        pd_entry_info info;
        PD_TRY(pd_dataset_entry_info(ds, e, &info));
        if (info.length > max_length) {
            p->skipped[p->n_skipped++] = e;
            continue;
        }
        if (strlen(info.name) + 1 > p->name_width) p->name_width = strlen(info.name) + 1;
        p->index[p->n] = e;
        p->length[p->n] = info.length;
        p->split[p->n] = info.split;
        for (int l = 0; l < levels; l++) p->offset[l][p->n + 1] = p->offset[l][p->n] + pd_tokenize_grid(info.length, l) * pd_tokenize_grid(info.length, l);
        p->n++;
    }
    return PD_OK;
}

/* The memory plan of the run: the budget, the room for activations, and the largest image,
 * which must fit alone (collective: pd_memory_budget agrees over comm). */
static pd_status memory_plan(const pd_config *cfg, MPI_Comm comm, pd_stage *s, pd_dataset *ds,
                             const pd_tokenize_plan *p, pd_tokenize_memory *tm)
{
    const pd_tokenizer_config *c = pd_tokenizer_get_config(s->model);
    PD_TRY(pd_stage_memory_infer("tokenizer", "encode", cfg, &tm->mem));
    tm->budget = pd_memory_budget(cfg, comm, 0, tm->how, sizeof tm->how);
    tm->params = 4.0 * (double)pd_params_count(s->params);
    tm->room = tm->budget - tm->params;
    int64_t longest = -1;
    for (int64_t k = 0; k < p->n; k++)
        if (longest < 0 || p->length[k] > p->length[longest]) longest = k;
    const int side = longest >= 0 ? pd_tokstage_side(c, p->length[longest]) : 0;
    const double need = longest >= 0 ? pd_tokenize_images_bytes(&tm->mem, side, 1) : 0;
    pd_info("tokenize memory plan (per rank): budget %.1f MiB (%s); parameters %.1f MiB; the largest image (%d x %d "
            "pixels) ~%.1f MiB [%s]", tm->budget / 1048576.0, tm->how, tm->params / 1048576.0, side, side,
            need / 1048576.0, tm->mem.basis);
    if (longest < 0 || need <= tm->room) return PD_OK;
    pd_entry_info info;
    PD_TRY(pd_dataset_entry_info(ds, p->index[longest], &info));
    return pd_fail(PD_ERR_NOMEM,
                   "tokenize memory plan: entry %s (%d residues, a %d x %d image) cannot be tokenized within a budget of "
                   "%.1f MiB per rank (%s): it alone needs ~%.1f MiB of activations + %.1f MiB of parameters. Raise "
                   "run.memory_budget_mb, run fewer ranks per node, or lower model.tokenizer.max_length", info.name,
                   (int)info.length, side, side, tm->budget / 1048576.0, tm->how, need / 1048576.0, tm->params / 1048576.0);
}

pd_status pd_tokenize_run(const pd_config *cfg, const pd_tokenize_options *o, MPI_Comm comm)
{
    int rank = 0, nranks = 1;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    const pd_stage_ops *ops;
    PD_TRY(pd_stage_find("tokenizer", &ops));
    pd_stage s;
    memset(&s, 0, sizeof s);
    s.ops = ops;
    s.cfg = cfg;
    s.seed = (uint64_t)pd_cfg_stage_int(cfg, "tokenizer", "seed");
    PD_TRY(pd_agree(comm, ops->create(&s, cfg, s.seed, 1)));
    pd_status st = pd_agree(comm, pd_checkpoint_load_stage(o->checkpoint, &s));
    pd_dataset *ds = NULL;
    if (st == PD_OK) st = pd_agree(comm, pd_dataset_open(&ds, pd_cfg_str(cfg, "data.dataset"), comm));
    const pd_tokenizer_config *c = pd_tokenizer_get_config(s.model);
    const int max_length = (int)pd_cfg_int(cfg, "model.tokenizer.max_length");
    pd_tokenize_plan p;
    memset(&p, 0, sizeof p);
    if (st == PD_OK) st = pd_agree(comm, make_plan(ds, c->levels, max_length, &p));
    if (st == PD_OK && o->png_dir && rank == 0 && mkdir(o->png_dir, 0777) != 0 && errno != EEXIST)
        st = pd_fail(PD_ERR_IO, "cannot create the PNG folder %s: %s", o->png_dir, strerror(errno));
    if (st == PD_OK) st = pd_agree(comm, PD_OK);
    pd_tokenize_results r;
    memset(&r, 0, sizeof r);
    if (st == PD_OK) {
        r.lo = p.n * rank / nranks;
        r.hi = p.n * (rank + 1) / nranks;
        const int64_t cnt = r.hi - r.lo;
        r.rmsd = pd_calloc((size_t)cnt + 1, sizeof *r.rmsd);
        r.frac_1a = pd_calloc((size_t)cnt + 1, sizeof *r.frac_1a);
        r.image_mae = pd_calloc((size_t)cnt + 1, sizeof *r.image_mae);
        pd_status a = r.rmsd && r.frac_1a && r.image_mae ? PD_OK : PD_ERR_NOMEM;
        for (int l = 0; a == PD_OK && l < c->levels; l++) {
            r.codes[l] = pd_malloc((size_t)(p.offset[l][r.hi] - p.offset[l][r.lo] + 1) * sizeof(int32_t));
            if (!r.codes[l]) a = PD_ERR_NOMEM;
        }
        pd_info("tokenize: %lld entries up to %d residues (%lld longer ones skipped), %d rank(s), checkpoint %s",
                (long long)p.n, max_length, (long long)p.n_skipped, nranks, o->checkpoint);
        pd_tokenize_memory tm;
        memset(&tm, 0, sizeof tm);
        const pd_status plan_st = memory_plan(cfg, comm, &s, ds, &p, &tm);   /* collective: every rank */
        if (a == PD_OK) a = plan_st;
        if (a == PD_OK)
            a = pd_tokenize_encode_range(&s, ds, &p, o, pd_cfg_stage_int(cfg, "tokenizer", "batch_residues"), &tm, &r);
        st = pd_agree(comm, a);
        double peak[2] = {tm.peak_bytes, tm.peak_plan};   /* the rank with the largest peak */
        struct { double v; int r; } in = {peak[0], rank}, out;
        MPI_Allreduce(&in, &out, 1, MPI_DOUBLE_INT, MPI_MAXLOC, comm);
        MPI_Bcast(peak, 2, MPI_DOUBLE, out.r, comm);
        if (st == PD_OK && peak[1] > 0)
            pd_info("tokenize: memory: largest arena peak of a batch %.2f MiB against the plan's %.2f MiB (%+.0f %%)",
                    peak[0] / 1048576.0, peak[1] / 1048576.0, 100.0 * (peak[0] / peak[1] - 1));
    }
    if (st == PD_OK) st = pd_tokens_file_write(o->out, comm, rank, &p, &r, ds, s.model, o->checkpoint, cfg->text);
    if (st == PD_OK) {
        /* The structure check summarised over every tokenized entry. */
        double sums[4] = {0};
        for (int64_t i = 0; i < r.hi - r.lo; i++)
            if (!isnan(r.rmsd[i])) {
                sums[0] += 1;
                sums[1] += r.rmsd[i];
                sums[2] += r.frac_1a[i];
                sums[3] += r.image_mae[i];
            }
        MPI_Allreduce(MPI_IN_PLACE, sums, 4, MPI_DOUBLE, MPI_SUM, comm);
        const double k = sums[0] > 0 ? sums[0] : 1;
        pd_info("tokenize: wrote %s: %lld entries, %d levels of %d codes", o->out, (long long)p.n, c->levels, c->codebook);
        pd_info("tokenize: MDS check of the reconstructions over %.0f entries: mean Cb RMSD %.3f A, mean fraction of "
                "pairs under 1 A %.3f, mean image distance error %.3f A", sums[0], sums[1] / k, sums[2] / k, sums[3] / k);
        if (o->png_dir) pd_info("tokenize: original | reconstruction PNGs of the first %d entries in %s", o->png_count, o->png_dir);
    }
    for (int l = 0; l < PD_TOKENIZER_MAX_LEVELS; l++) free(r.codes[l]);
    free(r.rmsd);
    free(r.frac_1a);
    free(r.image_mae);
    plan_free(&p);
    if (ds) pd_dataset_close(ds);
    ops->destroy(&s);
    return st;
}
