/* stage_diffusion.c — stage 3 (latent DiT, src/models/diffusion.h) plugged into the training
 * loop. It trains on FROZEN latents: the SC-VAE encoder means (the spec's fix: the noisy input
 * is built from the mean) and the BB-VAE encoder means that `proteindiff encode` wrote to
 * run.dir/latents/{sc_vae,bb_vae}.h5, for whole entries; the amino acids come from the dataset.
 * The loss is normalised by the global count of residues that have both latents; validation
 * reports val_loss on a fixed timestep grid (deterministic, rank-count independent). */
#include <stdlib.h>
#include <string.h>

#include "models/diffusion.h"
#include "train/latents.h"
#include "train/stage.h"

/* Validation: every valid entry at these fractions of T (fixed grid), with the noise and reveal
 * draws of fixed stream steps, once with the training reveal and once fully masked (design). */
#define VAL_GRID 4
#define VAL_STREAM_STEP 0x76616c0000000000ull

typedef struct diffusion_priv {
    pd_latent_file sc, bb;
    int checked_rows;   /* the latents' R was compared with the dataset's */
} diffusion_priv;

typedef struct diffusion_batch_data {
    int n_entries;
    int64_t *offset;     /* [n + 1], from 0 */
    float *sc_mu, *bb_mu;
    float *atom14;       /* [N, 14, 3] when the model reads backbone geometry, else NULL */
    uint8_t *aa, *valid, *chain;
    uint64_t *keys;
    int64_t n_valid;
} diffusion_batch_data;

enum { S_N, S_SQ, S_SQ_MASKED, S_TARGET_SQ, S_REVEALED, S_ENTRIES, S_SEQ_LABELLED, S_SEQ_CORRECT, S_DESIGN_LABELLED,
       S_DESIGN_CORRECT, N_SUMS };

static pd_status open_latents(diffusion_priv *p, const pd_config *cfg, const pd_diffusion_config *c)
{
    const char *dataset = pd_cfg_str(cfg, "data.dataset");
    char path[4300];
    pd_latents_path(cfg, "sc_vae", path, sizeof path);
    PD_TRY(pd_latent_file_open(&p->sc, path, "sc_vae", c->sc_latent, dataset));
    pd_latents_path(cfg, "bb_vae", path, sizeof path);
    PD_TRY(pd_latent_file_open(&p->bb, path, "bb_vae", c->bb_latent, dataset));
    if (p->sc.rows != p->bb.rows)
        return pd_fail(PD_ERR_FORMAT, "%s has %lld rows but %s has %lld: encode both stages from the same dataset",
                       p->sc.path, (long long)p->sc.rows, p->bb.path, (long long)p->bb.rows);
    return PD_OK;
}

static void close_latents(diffusion_priv *p)
{
    pd_latent_file_close(&p->sc);
    pd_latent_file_close(&p->bb);
    free(p);
}

static pd_status diff_create(pd_stage *s, const pd_config *cfg, uint64_t seed, int64_t pad_multiple)
{
    pd_diffusion_config c;
    PD_TRY(pd_diffusion_config_from(cfg, &c));
    diffusion_priv *p = pd_calloc(1, sizeof *p);
    if (!p) return PD_ERR_NOMEM;
    p->sc.file = p->sc.mu = p->sc.valid = -1;
    p->bb.file = p->bb.mu = p->bb.valid = -1;
    pd_diffusion *m = NULL;
    pd_status st = open_latents(p, cfg, &c);
    if (st == PD_OK) st = pd_diffusion_create(&m, &c, &(pd_model_opts){.seed = seed, .pad_multiple = pad_multiple});
    if (st != PD_OK) {
        close_latents(p);
        return st;
    }
    s->priv = p;
    s->model = m;
    s->params = pd_diffusion_params(m);
    return PD_OK;
}

static void diff_destroy(pd_stage *s)
{
    diffusion_priv *p = s->priv;
    if (p) close_latents(p);
    s->priv = NULL;
    if (s->model) pd_diffusion_destroy(s->model);
    s->model = NULL;
    s->params = NULL;
}

static void free_data(diffusion_batch_data *d)
{
    if (!d) return;
    free(d->offset);
    free(d->sc_mu);
    free(d->bb_mu);
    free(d->atom14);
    free(d->aa);
    free(d->valid);
    free(d->chain);
    free(d->keys);
    free(d);
}

static pd_status diff_load(pd_stage *s, pd_dataset *ds, pd_stage_batch *b)
{
    diffusion_priv *p = s->priv;
    const pd_diffusion_config *c = pd_diffusion_get_config(s->model);
    if (!p->checked_rows) {
        if (pd_dataset_n_residues(ds) != p->sc.rows)
            return pd_fail(PD_ERR_FORMAT, "the latents %s have %lld rows but the dataset %s has %lld residues: they were "
                           "made from another dataset; run `proteindiff encode` for both stages again", p->sc.path,
                           (long long)p->sc.rows, pd_dataset_path(ds), (long long)pd_dataset_n_residues(ds));
        p->checked_rows = 1;
    }
    diffusion_batch_data *d = pd_calloc(1, sizeof *d);
    if (!d) return PD_ERR_NOMEM;
    d->n_entries = (int)b->n_entries;
    d->offset = pd_calloc((size_t)b->n_entries + 1, sizeof *d->offset);
    d->keys = pd_calloc((size_t)b->n_entries + 1, sizeof *d->keys);
    pd_status st = d->offset && d->keys ? PD_OK : PD_ERR_NOMEM;
    for (int64_t i = 0; st == PD_OK && i < b->n_entries; i++) {
        pd_entry_info info;
        st = pd_dataset_entry_info(ds, b->entries[i], &info);
        d->offset[i + 1] = d->offset[i] + (st == PD_OK ? info.length : 0);
        d->keys[i] = (uint64_t)b->entries[i];
    }
    const int64_t N = st == PD_OK ? d->offset[b->n_entries] : 0;
    if (st == PD_OK) {
        d->sc_mu = pd_malloc((size_t)(N + 1) * (size_t)c->sc_latent * sizeof(float));
        d->bb_mu = pd_malloc((size_t)(N + 1) * (size_t)c->bb_latent * sizeof(float));
        d->aa = pd_malloc((size_t)N + 1);
        d->valid = pd_malloc((size_t)N + 1);
        d->chain = pd_malloc((size_t)N + 1);
        if (c->geometry) d->atom14 = pd_malloc((size_t)(N + 1) * 14 * 3 * sizeof(float));
        if (!d->sc_mu || !d->bb_mu || !d->aa || !d->valid || !d->chain || (c->geometry && !d->atom14)) st = PD_ERR_NOMEM;
    }
    uint8_t *bb_valid = st == PD_OK ? pd_malloc((size_t)N + 1) : NULL;
    if (st == PD_OK && !bb_valid) st = PD_ERR_NOMEM;
    for (int64_t i = 0; st == PD_OK && i < b->n_entries; i++) {
        pd_entry_info info;
        st = pd_dataset_entry_info(ds, b->entries[i], &info);
        const int64_t at = d->offset[i];
        if (st == PD_OK) st = pd_dataset_read_sequence(ds, b->entries[i], d->aa + at, d->chain + at);
        if (st == PD_OK && d->atom14) st = pd_dataset_read_atom14(ds, b->entries[i], d->atom14 + at * 14 * 3);
        if (st == PD_OK)
            st = pd_latent_file_read(&p->sc, info.residue_offset, info.length, d->sc_mu + at * c->sc_latent, d->valid + at);
        if (st == PD_OK)
            st = pd_latent_file_read(&p->bb, info.residue_offset, info.length, d->bb_mu + at * c->bb_latent, bb_valid + at);
        if (st != PD_OK) pd_error_context("diffusion batch, entry %lld (%s)", (long long)b->entries[i], info.name);
    }
    for (int64_t r = 0; st == PD_OK && r < N; r++) {
        d->valid[r] = d->valid[r] && bb_valid[r];
        if (d->aa[r] > PD_DIFFUSION_TOKEN_UNKNOWN) d->aa[r] = PD_DIFFUSION_TOKEN_UNKNOWN;
        d->n_valid += d->valid[r];
    }
    free(bb_valid);
    if (st != PD_OK) {
        free_data(d);
        return st;
    }
    b->data = d;
    b->count = d->n_valid;
    b->residues = N;
    return PD_OK;
}

static void diff_free_batch(pd_stage *s, pd_stage_batch *b)
{
    (void)s;
    free_data(b->data);
    b->data = NULL;
}

static pd_diffusion_batch model_batch(const diffusion_batch_data *d)
{
    pd_diffusion_batch mb = {
        .n_entries = d->n_entries,
        .offset = d->offset,
        .sc_mu = d->sc_mu,
        .bb_mu = d->bb_mu,
        .aa = d->aa,
        .valid = d->valid,
        .entry_keys = d->keys,
        .atom14 = d->atom14,
        .chain = d->chain,
    };
    return mb;
}

static pd_tensor *diff_loss(pd_stage *s, pd_graph *g, pd_stage_batch *b, int64_t step, double normaliser,
                            pd_stage_terms *terms)
{
    const diffusion_batch_data *d = b->data;
    pd_diffusion_batch mb = model_batch(d);
    pd_diffusion_terms t;
    pd_tensor *loss = pd_diffusion_loss(g, s->model, &mb, s->seed, (uint64_t)step, normaliser, &t);
    if (!loss) return NULL;
    terms->n = 0;
    pd_stage_term_add(terms, "mse", t.mse);
    /* fraction of the batch's residues whose amino acid was shown (random reveal, p ~ U(0,1)) */
    pd_stage_term_add(terms, "revealed", normaliser > 0 ? (double)t.n_revealed / normaliser : 0);
    if (pd_diffusion_get_config(s->model)->sequence_loss > 0) {
        pd_stage_term_add(terms, "seq_ce", t.seq_ce);
        pd_stage_term_add(terms, "seq_head_ce", t.seq_head_ce);
        /* fraction of the batch's residues the sequence term reads as native (x̂0 through the
         * latent classifier, or the hidden head with model.diffusion.sequence_head = "hidden") */
        pd_stage_term_add(terms, "seq_hit", normaliser > 0 ? (double)t.n_seq_correct / normaliser : 0);
    }
    return loss;
}

static int64_t diff_n_val_sums(pd_stage *s)
{
    (void)s;
    return N_SUMS;
}

static pd_status diff_val_accumulate(pd_stage *s, pd_graph *g, pd_stage_batch *b, double *sums)
{
    const diffusion_batch_data *d = b->data;
    pd_diffusion *m = s->model;
    const pd_diffusion_config *c = pd_diffusion_get_config(m);
    const int64_t N = d->offset[d->n_entries];
    const int D = c->sc_latent;
    pd_diffusion_batch mb = model_batch(d);
    int32_t *t = pd_malloc((size_t)d->n_entries * sizeof *t);
    int32_t *tokens = pd_malloc((size_t)(N + 1) * sizeof *tokens), *masked = pd_malloc((size_t)(N + 1) * sizeof *masked);
    float *noise = pd_malloc((size_t)(N + 1) * (size_t)D * sizeof *noise);
    pd_status st = t && tokens && masked && noise ? PD_OK : PD_ERR_NOMEM;
    for (int k = 0; st == PD_OK && k < VAL_GRID; k++) {
        /* draws of a fixed stream step (keyed by the entry index as in training), then the
         * timestep replaced by the grid point: deterministic on any rank count */
        st = pd_diffusion_draw(m, &mb, s->seed, VAL_STREAM_STEP + (uint64_t)k, t, tokens, noise);
        if (st != PD_OK) break;
        const int32_t grid_t = (int32_t)(((2 * k + 1) * (int64_t)c->timesteps) / (2 * VAL_GRID));
        for (int e = 0; e < d->n_entries; e++) t[e] = grid_t;
        for (int64_t r = 0; r < N; r++) masked[r] = PD_DIFFUSION_TOKEN_MASK;
        pd_diffusion_terms revealed_terms, masked_terms;
        pd_graph_reset(g);
        if (!pd_diffusion_loss_given(g, m, &mb, t, tokens, noise, 1.0, &revealed_terms)) {
            st = pd_graph_status(g);
            break;
        }
        pd_graph_reset(g);
        if (!pd_diffusion_loss_given(g, m, &mb, t, masked, noise, 1.0, &masked_terms)) {
            st = pd_graph_status(g);
            break;
        }
        sums[S_N] += (double)revealed_terms.n_residues;
        sums[S_SQ] += revealed_terms.sum_sq;
        sums[S_SQ_MASKED] += masked_terms.sum_sq;
        sums[S_REVEALED] += (double)revealed_terms.n_revealed;
        sums[S_SEQ_LABELLED] += (double)masked_terms.n_labelled_masked;
        sums[S_SEQ_CORRECT] += (double)masked_terms.n_seq_correct_masked;
        /* predicting zero: the squared norm of the target */
        for (int64_t r = 0; r < N; r++) {
            if (!d->valid[r]) continue;
            for (int j = 0; j < D; j++) {
                double y = c->target == PD_TARGET_EPS ? noise[r * D + j] : d->sc_mu[r * D + j];
                sums[S_TARGET_SQ] += y * y;
            }
        }
    }
    /* what one-step design reads: x̂0 at t = T - 1 with every amino acid masked */
    if (st == PD_OK && c->sequence_loss > 0) {
        for (int e = 0; e < d->n_entries; e++) t[e] = c->timesteps - 1;
        pd_diffusion_terms design_terms;
        pd_graph_reset(g);
        if (!pd_diffusion_loss_given(g, m, &mb, t, masked, noise, 1.0, &design_terms))
            st = pd_graph_status(g);
        else {
            sums[S_DESIGN_LABELLED] += (double)design_terms.n_labelled_masked;
            sums[S_DESIGN_CORRECT] += (double)design_terms.n_seq_correct_masked;
        }
    }
    sums[S_ENTRIES] += d->n_entries;
    free(t);
    free(tokens);
    free(masked);
    free(noise);
    return st;
}

static void diff_val_finish(pd_stage *s, const double *sums, pd_stage_metrics *out)
{
    const int D = pd_diffusion_get_config(s->model)->sc_latent;
    const double n = sums[S_N] > 0 ? sums[S_N] * D : 1;
    pd_stage_metric_add(out, "val_loss", sums[S_SQ] / n);
    pd_stage_metric_add(out, "val_loss_masked", sums[S_SQ_MASKED] / n);
    pd_stage_metric_add(out, "val_baseline_loss", sums[S_TARGET_SQ] / n);
    pd_stage_metric_add(out, "val_revealed", sums[S_N] > 0 ? sums[S_REVEALED] / sums[S_N] : 0);
    pd_stage_metric_add(out, "val_residues", sums[S_N] / VAL_GRID);
    /* sequence_loss: the sequence term (the latent classifier on x̂0, or the hidden head), every
     * residue masked, mean over the t grid, and at t = T - 1 alone (val_design_recovery: what
     * one-step design reads) */
    if (pd_diffusion_get_config(s->model)->sequence_loss > 0) {
        pd_stage_metric_add(out, "val_x0_recovery", sums[S_SEQ_LABELLED] > 0 ? sums[S_SEQ_CORRECT] / sums[S_SEQ_LABELLED] : 0);
        pd_stage_metric_add(out, "val_design_recovery",
                            sums[S_DESIGN_LABELLED] > 0 ? sums[S_DESIGN_CORRECT] / sums[S_DESIGN_LABELLED] : 0);
    }
}

const pd_stage_ops pd_stage_diffusion = {
    .name = "diffusion",
    .count_name = "residues",
    .create = diff_create,
    .destroy = diff_destroy,
    .load_batch = diff_load,
    .free_batch = diff_free_batch,
    .loss = diff_loss,
    .n_val_sums = diff_n_val_sums,
    .val_accumulate = diff_val_accumulate,
    .val_finish = diff_val_finish,
};
