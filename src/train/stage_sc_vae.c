/* stage_sc_vae.c — stage 1 (side-chain VAE + amino-acid classifier, src/models/sc_vae.h) plugged
 * into the training loop: batches of residue voxels, the loss normalised by the global residue
 * count, and the SPEC §8 validation metrics with their baselines (mean voxel, most frequent
 * amino acid, both taken from the valid split itself). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/sc_vae.h"
#include "train/stage.h"
#include "train/voxel_batch.h"

enum { S_N, S_MSE, S_KL, S_CORRECT, S_CE, S_SUMSQ, S_AA, S_CELLS = S_AA + 20 };

static pd_status sc_create(pd_stage *s, const pd_config *cfg, uint64_t seed, int64_t pad_multiple)
{
    pd_sc_vae_config c;
    PD_TRY(pd_sc_vae_config_from(cfg, &c));
    pd_sc_vae *m;
    PD_TRY(pd_sc_vae_create_padded(&m, &c, seed, pad_multiple));
    s->model = m;
    s->params = pd_sc_vae_params(m);
    return PD_OK;
}

static void sc_destroy(pd_stage *s)
{
    pd_sc_vae_destroy(s->model);
    s->model = NULL;
    s->params = NULL;
}

static pd_status sc_load(pd_stage *s, pd_dataset *ds, pd_stage_batch *b)
{
    const pd_sc_vae_config *c = pd_sc_vae_get_config(s->model);
    if (pd_dataset_voxel_size(ds) != c->voxel)
        return pd_fail(PD_ERR_CONFIG, "the dataset %s has %d^3 voxels but featurize.voxel_size = %d in the run "
                       "file; use the run file the dataset was built with", pd_dataset_path(ds),
                       pd_dataset_voxel_size(ds), c->voxel);
    pd_voxel_batch *vb = pd_calloc(1, sizeof *vb);
    if (!vb) return PD_ERR_NOMEM;
    pd_status st = pd_voxel_batch_read(ds, b->entries, b->n_entries, vb);
    if (st != PD_OK) {
        free(vb);
        return st;
    }
    b->data = vb;
    b->count = vb->n;
    b->residues = vb->residues;
    return PD_OK;
}

static void sc_free_batch(pd_stage *s, pd_stage_batch *b)
{
    (void)s;
    if (b->data) pd_voxel_batch_free(b->data);
    free(b->data);
    b->data = NULL;
}

static pd_tensor *voxel_tensor(pd_graph *g, const pd_voxel_batch *vb)
{
    int64_t V = vb->voxel;
    return pd_tensor_from_floats(g, 5, (int64_t[]){vb->n, 1, V, V, V}, vb->voxels);
}

static pd_tensor *sc_loss(pd_stage *s, pd_graph *g, pd_stage_batch *b, int64_t step, double normaliser,
                          pd_stage_terms *terms)
{
    const pd_voxel_batch *vb = b->data;
    pd_sc_vae_terms t;
    pd_tensor *loss = pd_sc_vae_loss(g, s->model, voxel_tensor(g, vb), vb->aa, vb->row_ids, s->seed,
                                     (uint64_t)step, normaliser, &t);
    if (!loss) return NULL;
    terms->n = 0;
    pd_stage_term_add(terms, "mse", t.mse);
    pd_stage_term_add(terms, "kl", t.kl);
    pd_stage_term_add(terms, "ce", t.ce);
    /* Every kept residue is labelled, so correct / global count is the batch accuracy. */
    pd_stage_term_add(terms, "acc", normaliser > 0 ? (double)t.n_correct / normaliser : 0);
    return loss;
}

static int64_t sc_n_val_sums(pd_stage *s)
{
    int64_t V = pd_sc_vae_get_config(s->model)->voxel;
    return S_CELLS + V * V * V;
}

static pd_status sc_val_accumulate(pd_stage *s, pd_graph *g, pd_stage_batch *b, double *sums)
{
    const pd_voxel_batch *vb = b->data;
    pd_sc_vae_terms t;
    /* normaliser 1: the terms come back as sums over residues. */
    pd_tensor *loss = pd_sc_vae_loss(g, s->model, voxel_tensor(g, vb), vb->aa, vb->row_ids, s->seed, 0, 1.0, &t);
    if (!loss) return pd_graph_status(g);
    const int64_t cells = (int64_t)vb->voxel * vb->voxel * vb->voxel;
    sums[S_N] += (double)vb->n;
    sums[S_MSE] += t.mse;
    sums[S_KL] += t.kl;
    sums[S_CE] += t.ce;
    sums[S_CORRECT] += (double)t.n_correct;
    for (int64_t r = 0; r < vb->n; r++) {
        const float *x = vb->voxels + r * cells;
        sums[S_AA + vb->aa[r]] += 1;
        for (int64_t c = 0; c < cells; c++) {
            sums[S_SUMSQ] += (double)x[c] * x[c];
            sums[S_CELLS + c] += x[c];
        }
    }
    return PD_OK;
}

static void sc_val_finish(pd_stage *s, const double *sums, pd_stage_metrics *out)
{
    const int64_t cells = sc_n_val_sums(s) - S_CELLS;
    const double n = sums[S_N] > 0 ? sums[S_N] : 1;
    /* Predicting the mean voxel: sum over cells of (sum x^2 - (sum x)^2 / n), per cell and residue. */
    double resid = sums[S_SUMSQ];
    for (int64_t c = 0; c < cells; c++) resid -= sums[S_CELLS + c] * sums[S_CELLS + c] / n;
    double best = 0;
    for (int a = 0; a < 20; a++) best = fmax(best, sums[S_AA + a]);
    pd_stage_metric_add(out, "val_mse", sums[S_MSE] / n);
    pd_stage_metric_add(out, "val_kl", sums[S_KL] / n);
    pd_stage_metric_add(out, "val_ce", sums[S_CE] / n);
    pd_stage_metric_add(out, "val_acc", sums[S_CORRECT] / n);
    pd_stage_metric_add(out, "val_baseline_mse", resid / (n * (double)cells));
    pd_stage_metric_add(out, "val_baseline_acc", best / n);
    pd_stage_metric_add(out, "val_residues", sums[S_N]);
}

const pd_stage_ops pd_stage_sc_vae = {
    .name = "sc_vae",
    .count_name = "residues",
    .create = sc_create,
    .destroy = sc_destroy,
    .load_batch = sc_load,
    .free_batch = sc_free_batch,
    .loss = sc_loss,
    .n_val_sums = sc_n_val_sums,
    .val_accumulate = sc_val_accumulate,
    .val_finish = sc_val_finish,
};
