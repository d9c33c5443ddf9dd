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
        if (a == PD_OK) a = pd_tokenize_encode_range(&s, ds, &p, o, pd_cfg_stage_int(cfg, "tokenizer", "batch_residues"), &r);
        st = pd_agree(comm, a);
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
