/* stage_probe.c — a deliberately small built-in stage: an amino-acid classifier (two Linear
 * layers with GELU) on each residue's divergence voxel. It trains in milliseconds, has no
 * degenerate parameters (every gradient is well conditioned), and exercises every path of
 * the engine — units, global normalisation, validation, extra state — so the engine's
 * multi-rank parity and resume tests do not depend on a model still being written. */
#include <stdlib.h>
#include <string.h>

#include "nn/ops.h"
#include "train/stage.h"
#include "train/voxel_batch.h"

#define PROBE_HIDDEN 32

typedef struct probe_model {
    pd_params P;
    int voxel;
    int unit1, unit2;
    pd_tensor *w1, *b1, *w2, *b2;
    double steps_seen;   /* extra (non-parameter) state: optimizer steps taken, checkpointed */
} probe_model;

static pd_status probe_create(pd_stage *s, const pd_config *cfg, uint64_t seed, int64_t pad_multiple)
{
    probe_model *m = pd_calloc(1, sizeof *m);
    if (!m) return PD_ERR_NOMEM;
    m->voxel = (int)pd_cfg_int(cfg, "featurize.voxel_size");
    const int64_t cells = (int64_t)m->voxel * m->voxel * m->voxel;
    pd_params_init(&m->P);
    m->unit1 = pd_params_unit_begin(&m->P, "l1");
    m->w1 = pd_param_new(&m->P, "l1.weight", 2, (int64_t[]){PROBE_HIDDEN, cells}, PD_INIT_TORCH_DEFAULT, (double)cells);
    m->b1 = pd_param_new(&m->P, "l1.bias", 1, (int64_t[]){PROBE_HIDDEN}, PD_INIT_TORCH_DEFAULT, (double)cells);
    pd_params_unit_end(&m->P);
    m->unit2 = pd_params_unit_begin(&m->P, "l2");
    m->w2 = pd_param_new(&m->P, "l2.weight", 2, (int64_t[]){20, PROBE_HIDDEN}, PD_INIT_TORCH_DEFAULT, PROBE_HIDDEN);
    m->b2 = pd_param_new(&m->P, "l2.bias", 1, (int64_t[]){20}, PD_INIT_TORCH_DEFAULT, PROBE_HIDDEN);
    pd_params_unit_end(&m->P);
    pd_status st = pd_params_finalize(&m->P, pad_multiple);
    if (st != PD_OK) {
        pd_params_free(&m->P);
        free(m);
        return st;
    }
    pd_params_init_values(&m->P, seed);
    s->model = m;
    s->params = &m->P;
    return PD_OK;
}

static void probe_destroy(pd_stage *s)
{
    probe_model *m = s->model;
    if (m) pd_params_free(&m->P);
    free(m);
    s->model = NULL;
    s->params = NULL;
}

static pd_status probe_load(pd_stage *s, pd_dataset *ds, pd_stage_batch *b)
{
    probe_model *m = s->model;
    return pd_voxel_stage_load(ds, m->voxel, b);
}

static void probe_free_batch(pd_stage *s, pd_stage_batch *b)
{
    (void)s;
    pd_voxel_stage_free(b);
}

/* logits [n, 20] */
static pd_tensor *probe_forward(pd_graph *g, probe_model *m, const pd_voxel_batch *vb)
{
    const int64_t cells = (int64_t)m->voxel * m->voxel * m->voxel;
    pd_tensor *x = pd_tensor_from_floats(g, 2, (int64_t[]){vb->n, cells}, vb->voxels);
    pd_unit_begin(g, m->unit1);
    pd_tensor *h = pd_gelu(g, pd_linear(g, x, m->w1, m->b1));
    pd_unit_end(g, m->unit1);
    pd_unit_begin(g, m->unit2);
    pd_tensor *logits = pd_linear(g, h, m->w2, m->b2);
    pd_unit_end(g, m->unit2);
    return logits;
}

static int64_t correct(const pd_tensor *logits, const int32_t *aa, int64_t n)
{
    int64_t k = 0;
    for (int64_t r = 0; r < n; r++) {
        const pd_real *row = logits->data + r * 20;
        int best = 0;
        for (int c = 1; c < 20; c++)
            if (row[c] > row[best]) best = c;
        k += best == aa[r];
    }
    return k;
}

static pd_tensor *probe_loss(pd_stage *s, pd_graph *g, pd_stage_batch *b, int64_t step, double normaliser,
                             pd_stage_terms *terms)
{
    (void)step;
    probe_model *m = s->model;
    const pd_voxel_batch *vb = b->data;
    pd_tensor *logits = probe_forward(g, m, vb);
    pd_tensor *ce = pd_cross_entropy(g, logits, vb->aa, -1, normaliser);
    if (!ce) return NULL;
    terms->n = 0;
    pd_stage_term_add(terms, "ce", ce->data[0]);
    pd_stage_term_add(terms, "acc", normaliser > 0 ? (double)correct(logits, vb->aa, vb->n) / normaliser : 0);
    return ce;
}

static pd_status probe_after_step(pd_stage *s, pd_graph *g, pd_stage_batch *b, int64_t step, const pd_stage_comm *comm)
{
    (void)g;
    (void)step;
    probe_model *m = s->model;
    /* A global statistic the way a BatchNorm/VQ stage would keep one: summed over ranks. */
    double mine = b->phantom ? 0 : (double)b->count, total = mine;
    PD_TRY(comm->sum_f64(comm->user, &total, 1));
    if (total > 0) m->steps_seen += 1;
    return PD_OK;
}

static int64_t probe_n_val_sums(pd_stage *s)
{
    (void)s;
    return 3;
}

static pd_status probe_val_accumulate(pd_stage *s, pd_graph *g, pd_stage_batch *b, double *sums)
{
    probe_model *m = s->model;
    const pd_voxel_batch *vb = b->data;
    pd_tensor *logits = probe_forward(g, m, vb);
    pd_tensor *ce = pd_cross_entropy(g, logits, vb->aa, -1, 1.0);
    if (!ce) return pd_graph_status(g);
    sums[0] += (double)vb->n;
    sums[1] += ce->data[0];
    sums[2] += (double)correct(logits, vb->aa, vb->n);
    return PD_OK;
}

static void probe_val_finish(pd_stage *s, const double *sums, pd_stage_metrics *out)
{
    (void)s;
    const double n = sums[0] > 0 ? sums[0] : 1;
    pd_stage_metric_add(out, "val_ce", sums[1] / n);
    pd_stage_metric_add(out, "val_acc", sums[2] / n);
}

static pd_status probe_save(pd_stage *s, const pd_stage_store *store)
{
    probe_model *m = s->model;
    return store->put_f64(store->user, "steps_seen", 1, &m->steps_seen);
}

static pd_status probe_restore(pd_stage *s, const pd_stage_store *store)
{
    probe_model *m = s->model;
    return store->get_f64(store->user, "steps_seen", 1, &m->steps_seen);
}

const pd_stage_ops pd_stage_probe = {
    .name = "probe",
    .per_residue = 1,
    .count_name = "residues",
    .create = probe_create,
    .destroy = probe_destroy,
    .load_batch = probe_load,
    .free_batch = probe_free_batch,
    .loss = probe_loss,
    .after_step = probe_after_step,
    .n_val_sums = probe_n_val_sums,
    .val_accumulate = probe_val_accumulate,
    .val_finish = probe_val_finish,
    .save_state = probe_save,
    .load_state = probe_restore,
};
