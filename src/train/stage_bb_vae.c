/* stage_bb_vae.c — stage 2 (backbone VAE, src/models/bb_vae.h) plugged into the training loop:
 * batches of whole entries, the SPEC §5 kNN graph and pair labels built on the fly per batch,
 * the three loss terms each normalised by its own GLOBAL count, and the SPEC §8 validation
 * metrics with their baselines (both taken from the valid split itself). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "features/graph.h"
#include "models/bb_vae.h"
#include "train/stage.h"

/* One rank's batch: the entries' arrays (voxels and distograms dropped after reading), the
 * packed amino acids and dataset row ids of every residue, and the graph with its labels. */
typedef struct bb_batch {
    int n_entries;
    pd_entry *entries;
    pd_bb_backbone *views;
    uint8_t *aa;            /* [N] 0..19, 20 = X */
    uint64_t *row_ids;      /* [N] dataset residue rows (key the reparameterisation noise) */
    pd_bb_graph graph;
    int64_t seq_targets;    /* valid residues with a standard amino acid */
} bb_batch;

/* Validation sums (all plain sums over the valid split, so the engine can add them over ranks). */
enum {
    V_PAIRS, V_DIST_CE, V_ORIENT_CE, V_DIST_OK, V_ORIENT_OK,
    V_SEQ_N, V_SEQ_CE, V_SEQ_OK, V_KL, V_KL_N, V_RESIDUES, V_NEAR, V_NEAR_OK,
    V_DIST_HIST, V_ORIENT_HIST = V_DIST_HIST + PD_BB_DIST_CLASSES,
    V_AA_HIST = V_ORIENT_HIST + PD_BB_ORIENT_CLASSES, V_COUNT = V_AA_HIST + PD_BB_VAE_AA
};

static pd_status bb_create(pd_stage *s, const pd_config *cfg, uint64_t seed, int64_t pad_multiple)
{
    pd_bb_vae_config c;
    PD_TRY(pd_bb_vae_config_from(cfg, &c));
    pd_bb_vae *m;
    PD_TRY(pd_bb_vae_create(&m, &c, &(pd_model_opts){.seed = seed, .pad_multiple = pad_multiple}));
    s->model = m;
    s->params = pd_bb_vae_params(m);
    return PD_OK;
}

static void bb_destroy(pd_stage *s)
{
    pd_bb_vae_destroy(s->model);
    s->model = NULL;
    s->params = NULL;
}

static void batch_free(bb_batch *bb)
{
    if (!bb) return;
    for (int i = 0; i < bb->n_entries; i++) pd_entry_free(&bb->entries[i]);
    free(bb->entries);
    free(bb->views);
    free(bb->aa);
    free(bb->row_ids);
    pd_bb_graph_free(&bb->graph);
    free(bb);
}

/* Read the entries, keep what the graph and the loss need, build the graph with labels. */
static pd_status batch_read(pd_dataset *ds, const int64_t *entries, int64_t n_entries, int k, bb_batch **out)
{
    *out = NULL;
    if (n_entries > 1 << 30) return pd_fail(PD_ERR_CONFIG, "bb_vae stage: %lld entries in one batch", (long long)n_entries);
    bb_batch *bb = pd_calloc(1, sizeof *bb);
    if (!bb) return PD_ERR_NOMEM;
    bb->entries = pd_calloc((size_t)n_entries + 1, sizeof *bb->entries);
    bb->views = pd_calloc((size_t)n_entries + 1, sizeof *bb->views);
    if (!bb->entries || !bb->views) {
        batch_free(bb);
        return PD_ERR_NOMEM;
    }
    int64_t N = 0;
    pd_status st = PD_OK;
    for (int64_t i = 0; i < n_entries && st == PD_OK; i++) {
        st = pd_dataset_read_entry(ds, entries[i], &bb->entries[i]);
        if (st != PD_OK) break;
        bb->n_entries = (int)i + 1;
        pd_entry *e = &bb->entries[i];
        free(e->voxels);
        free(e->distogram);
        e->voxels = NULL;
        e->distogram = NULL;
        bb->views[i] = pd_bb_backbone_of_entry(e);
        N += e->length;
    }
    if (st == PD_OK) {
        bb->aa = pd_malloc((size_t)N + 1);
        bb->row_ids = pd_malloc(((size_t)N + 1) * sizeof *bb->row_ids);
        if (!bb->aa || !bb->row_ids) st = PD_ERR_NOMEM;
    }
    for (int64_t i = 0, r = 0; i < n_entries && st == PD_OK; i++) {
        pd_entry_info info;
        st = pd_dataset_entry_info(ds, entries[i], &info);
        for (int32_t j = 0; st == PD_OK && j < bb->entries[i].length; j++, r++) {
            bb->aa[r] = bb->entries[i].aa[j];
            bb->row_ids[r] = (uint64_t)(info.residue_offset + j);
        }
    }
    if (st == PD_OK) st = pd_bb_graph_build(&bb->graph, (int)n_entries, bb->views, k, 1);
    if (st != PD_OK) {
        batch_free(bb);
        return st;
    }
    for (int64_t r = 0; r < N; r++) bb->seq_targets += bb->graph.node_valid[r] && bb->aa[r] < PD_BB_VAE_AA;
    *out = bb;
    return PD_OK;
}

static pd_status bb_load(pd_stage *s, pd_dataset *ds, pd_stage_batch *b)
{
    const pd_bb_vae *m = s->model;
    bb_batch *bb;
    PD_TRY(batch_read(ds, b->entries, b->n_entries, m->cfg.neighbors, &bb));
    b->data = bb;
    b->count = bb->graph.n_valid_pairs;
    b->residues = bb->graph.n_nodes;
    return PD_OK;
}

static void bb_free_batch(pd_stage *s, pd_stage_batch *b)
{
    (void)s;
    batch_free(b->data);
    b->data = NULL;
}

/* This batch's three counts (pairs, sequence targets, KL residues); zeros for a phantom. */
static void bb_batch_counts(pd_stage *s, const pd_stage_batch *b, double *c)
{
    (void)s;
    const bb_batch *bb = b->data;
    c[0] = c[1] = c[2] = 0;
    if (b->phantom) return;
    c[0] = (double)bb->graph.n_valid_pairs;
    c[1] = (double)bb->seq_targets;
    c[2] = (double)bb->graph.n_valid_nodes;
}

/* The three global counts of the step: summed by the engine over every micro-batch of every rank
 * (b->global_counts, from bb_batch_counts), else summed over ranks here with the loss hook's
 * collective (s->comm), else (a caller outside the training loop) this batch's. The engine's own
 * normaliser is the pair count (b->count). */
static pd_status global_counts(pd_stage *s, const pd_stage_batch *b, pd_bb_vae_normaliser *n)
{
    double c[3];
    if (b->global_counts) {
        memcpy(c, b->global_counts, sizeof c);
    } else {
        bb_batch_counts(s, b, c);
        if (s->comm) PD_TRY(s->comm->sum_f64(s->comm->user, c, 3));
    }
    /* A global count of 0 means no term of that kind anywhere: divide the (zero) sum by 1. */
    n->pairs = c[0] > 0 ? c[0] : 1;
    n->seq_residues = c[1] > 0 ? c[1] : 1;
    n->kl_residues = c[2] > 0 ? c[2] : 1;
    return PD_OK;
}

static pd_tensor *bb_loss(pd_stage *s, pd_graph *g, pd_stage_batch *b, int64_t step, double normaliser,
                          pd_stage_terms *terms)
{
    (void)normaliser; /* the global pair count, which global_counts sums as well */
    pd_bb_vae_normaliser norm;
    pd_status st = global_counts(s, b, &norm);
    if (st != PD_OK) return pd_graph_fail(g, "bb_vae stage: summing the batch counts over ranks: %s", pd_last_error());
    bb_batch *bb = b->data;
    pd_bb_vae_batch in = {.graph = &bb->graph, .aa = bb->aa, .seed = s->seed, .step = (uint64_t)step,
                          .row_ids = bb->row_ids};
    pd_bb_vae_output out;
    st = pd_bb_vae_forward(g, s->model, &in, &norm, &out);
    if (st != PD_OK) {
        if (pd_graph_status(g) == PD_OK) pd_graph_fail(g, "bb_vae stage: %s (%s)", pd_last_error(), pd_status_name(st));
        return NULL;
    }
    const pd_bb_vae_stats *t = &out.stats;
    terms->n = 0;
    pd_stage_term_add(terms, "pair_ce", out.pair_loss->data[0]);
    pd_stage_term_add(terms, "seq_ce", out.seq_loss->data[0]);
    pd_stage_term_add(terms, "kl", out.kl_loss->data[0]);
    /* Correct counts over global counts: summed over ranks they are the batch accuracies. */
    pd_stage_term_add(terms, "dist_acc", (double)t->dist_correct / norm.pairs);
    pd_stage_term_add(terms, "orient_acc", (double)t->orient_correct / norm.pairs);
    pd_stage_term_add(terms, "seq_acc", (double)t->seq_correct / norm.seq_residues);
    return out.loss;
}

static int64_t bb_n_val_sums(pd_stage *s)
{
    (void)s;
    return V_COUNT;
}

static pd_status bb_val_accumulate(pd_stage *s, pd_graph *g, pd_stage_batch *b, double *sums)
{
    bb_batch *bb = b->data;
    pd_bb_vae_batch in = {.graph = &bb->graph, .aa = bb->aa, .seed = s->seed, .step = 0, .row_ids = bb->row_ids};
    pd_bb_vae_output out;
    PD_TRY(pd_bb_vae_forward(g, s->model, &in, NULL, &out));
    const pd_bb_vae_stats *t = &out.stats;
    sums[V_PAIRS] += (double)t->pairs;
    sums[V_DIST_CE] += t->dist_ce;
    sums[V_ORIENT_CE] += t->orient_ce;
    sums[V_DIST_OK] += (double)t->dist_correct;
    sums[V_ORIENT_OK] += (double)t->orient_correct;
    sums[V_SEQ_N] += (double)t->seq_residues;
    sums[V_SEQ_CE] += t->seq_ce;
    sums[V_SEQ_OK] += (double)t->seq_correct;
    sums[V_KL] += t->kl;
    sums[V_KL_N] += (double)t->kl_residues;
    sums[V_RESIDUES] += (double)bb->graph.n_nodes;
    sums[V_NEAR] += (double)t->near_pairs;
    sums[V_NEAR_OK] += (double)t->near_correct;
    /* Class histograms of the labels themselves, for the baselines. */
    const pd_bb_graph *gr = &bb->graph;
    const int64_t n_labels = gr->pair_offset[gr->n_entries];
    for (int64_t p = 0; p < n_labels; p++) {
        if (gr->dist_label[p] >= 0) sums[V_DIST_HIST + gr->dist_label[p]] += 1;
        if (gr->orient_label[p] >= 0) sums[V_ORIENT_HIST + gr->orient_label[p]] += 1;
    }
    for (int64_t r = 0; r < gr->n_nodes; r++)
        if (gr->node_valid[r] && bb->aa[r] < PD_BB_VAE_AA) sums[V_AA_HIST + bb->aa[r]] += 1;
    return PD_OK;
}

static double largest(const double *x, int n)
{
    double best = 0;
    for (int i = 0; i < n; i++) best = fmax(best, x[i]);
    return best;
}

/* Cross-entropy of always predicting the histogram's own distribution (its entropy, nats). */
static double marginal_ce(const double *hist, int n)
{
    double total = 0, h = 0;
    for (int i = 0; i < n; i++) total += hist[i];
    for (int i = 0; i < n; i++)
        if (hist[i] > 0) h -= hist[i] / total * log(hist[i] / total);
    return h;
}

/* SPEC §8 keys plus what makes them readable. The distance baseline is the marginal one: always
 * predict the most frequent distance class of the valid split's labelled pairs (class 63, "22 A
 * or more", on any set of whole proteins), so it scores 1 on far pairs and 0 on near ones;
 * val_near_dist_acc is the accuracy on the pairs below the last class, where that baseline scores
 * 0 (val_baseline_near_dist_acc: the most frequent near class), and val_dist_ce compares with
 * val_baseline_dist_ce, the entropy of the valid split's distance-class distribution. */
static void bb_val_finish(pd_stage *s, const double *sums, pd_stage_metrics *out)
{
    const pd_bb_vae *m = s->model;
    const double pairs = sums[V_PAIRS] > 0 ? sums[V_PAIRS] : 1, seq = sums[V_SEQ_N] > 0 ? sums[V_SEQ_N] : 1;
    const double kl_n = sums[V_KL_N] > 0 ? sums[V_KL_N] : 1, near = sums[V_NEAR] > 0 ? sums[V_NEAR] : 1;
    const double pair_ce = (sums[V_DIST_CE] + sums[V_ORIENT_CE]) / pairs;
    pd_stage_metric_add(out, "val_loss", pair_ce + sums[V_SEQ_CE] / seq + m->cfg.beta_kl * sums[V_KL] / kl_n);
    pd_stage_metric_add(out, "val_pair_ce", pair_ce);
    pd_stage_metric_add(out, "val_dist_ce", sums[V_DIST_CE] / pairs);
    pd_stage_metric_add(out, "val_orient_ce", sums[V_ORIENT_CE] / pairs);
    pd_stage_metric_add(out, "val_seq_ce", sums[V_SEQ_CE] / seq);
    pd_stage_metric_add(out, "val_kl", sums[V_KL] / kl_n);
    pd_stage_metric_add(out, "val_dist_acc", sums[V_DIST_OK] / pairs);
    pd_stage_metric_add(out, "val_near_dist_acc", sums[V_NEAR_OK] / near);
    pd_stage_metric_add(out, "val_orient_acc", sums[V_ORIENT_OK] / pairs);
    pd_stage_metric_add(out, "val_seq_recovery", sums[V_SEQ_OK] / seq);
    pd_stage_metric_add(out, "val_baseline_dist_acc", largest(sums + V_DIST_HIST, PD_BB_DIST_CLASSES) / pairs);
    pd_stage_metric_add(out, "val_baseline_near_dist_acc", largest(sums + V_DIST_HIST, PD_BB_DIST_CLASSES - 1) / near);
    pd_stage_metric_add(out, "val_baseline_dist_ce", marginal_ce(sums + V_DIST_HIST, PD_BB_DIST_CLASSES));
    pd_stage_metric_add(out, "val_baseline_orient_acc", largest(sums + V_ORIENT_HIST, PD_BB_ORIENT_CLASSES) / pairs);
    pd_stage_metric_add(out, "val_baseline_seq_recovery", largest(sums + V_AA_HIST, PD_BB_VAE_AA) / seq);
    pd_stage_metric_add(out, "val_pairs", sums[V_PAIRS]);
    pd_stage_metric_add(out, "val_residues", sums[V_RESIDUES]);
}

static int64_t bb_latent_dim(pd_stage *s)
{
    const pd_bb_vae *m = s->model;
    return m->cfg.latent;
}

/* Latents for `proteindiff encode`: the encoder's mu and log sigma^2 of every valid residue
 * (the caller runs g in eval mode without gradients). Invalid residues keep zero rows. */
static pd_status bb_encode(pd_stage *s, pd_graph *g, pd_stage_batch *b, int64_t first_row, float *mu_rows,
                           float *logvar_rows, uint8_t *valid_rows)
{
    pd_bb_vae *m = s->model;
    const bb_batch *bb = b->data;
    const pd_bb_graph *gr = &bb->graph;
    const int64_t Z = m->cfg.latent;
    pd_tensor *enc = pd_bb_vae_encoder(g, m, gr);
    PD_TRY(pd_graph_status(g));
    if (!enc) return pd_fail(PD_ERR, "bb_vae encode: the encoder produced no output");
    for (int64_t i = 0; i < gr->n_nodes; i++) {
        const int64_t r = (int64_t)bb->row_ids[i] - first_row;
        if (r < 0 || r >= b->residues)
            return pd_fail(PD_ERR, "bb_vae encode: residue row %llu is outside the batch's rows %lld..%lld (the "
                           "entries of an encode batch must be consecutive)", (unsigned long long)bb->row_ids[i],
                           (long long)first_row, (long long)(first_row + b->residues - 1));
        if (!gr->node_valid[i]) continue;
        const pd_real *h = enc->data + i * 2 * Z;
        for (int64_t j = 0; j < Z; j++) {
            mu_rows[r * Z + j] = (float)h[j];
            logvar_rows[r * Z + j] = (float)h[Z + j];
        }
        valid_rows[r] = 1;
    }
    return PD_OK;
}

const pd_stage_ops pd_stage_bb_vae = {
    .name = "bb_vae",
    .count_name = "pairs",
    .create = bb_create,
    .destroy = bb_destroy,
    .load_batch = bb_load,
    .free_batch = bb_free_batch,
    .loss = bb_loss,
    .n_counts = 3,
    .batch_counts = bb_batch_counts,
    .n_val_sums = bb_n_val_sums,
    .val_accumulate = bb_val_accumulate,
    .val_finish = bb_val_finish,
    .latent_dim = bb_latent_dim,
    .encode = bb_encode,
};
