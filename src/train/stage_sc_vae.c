/* stage_sc_vae.c — stage 1 (side-chain VAE + amino-acid classifier, src/models/sc_vae.h) plugged
 * into the training loop: batches of residue voxels, the loss normalised by the global residue
 * count, the validation metrics with their baselines (mean voxel, most frequent amino acid, both
 * taken from the valid split itself) and per-amino-acid confusion, and the encode hook of
 * `proteindiff encode`. Validation runs the inference path with z = mu: the accuracy and the
 * confusion are the classifier's on the reconstruction decode(mu) (docs/models/sc_vae.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "models/sc_vae.h"
#include "nn/optim.h"
#include "parallel/comm.h"
#include "train/stage.h"
#include "train/voxel_batch.h"

#define AA 20
/* Residues per forward in validation and encode: bounds the activations' memory, and for
 * encode makes the chunks depend on the entry alone (rank-count-independent results). */
#define CHUNK_RESIDUES 256

static const char aa_letters[] = "ACDEFGHIKLMNPQRSTVWY";

/* Validation sums: counts, loss sums, per-class counts, the 20x20 confusion (true-major), and the
 * per-cell sums of the mean-voxel baseline last (V^3 of them). */
enum {
    S_N,
    S_MSE,
    S_KL,
    S_CORRECT,
    S_CE,
    S_SUMSQ,
    S_CORRECT_INPUT,
    S_AA,
    S_CONFUSION = S_AA + AA,
    S_CELLS = S_CONFUSION + AA * AA
};

/* The stage's training settings, read from the run file once (s->priv), not per batch or unit.
 * train.sc_vae.classifier_steps: the first `steps - classifier_steps` steps train the VAE alone,
 * the rest the classifier alone on decode(mu), each phase with its own warmup and cosine (the
 * classifier then learns from reconstructions that are already good, from its first step). */
typedef struct sc_settings {
    double keep;                  /* residue_sample / batch_residues, 0 = keep every residue */
    int64_t classifier_steps;     /* 0: one phase, both parts every step */
    int64_t first_classifier_step;
    pd_lr_schedule vae_phase, classifier_phase;
} sc_settings;

static pd_status sc_create(pd_stage *s, const pd_config *cfg, uint64_t seed, int64_t pad_multiple)
{
    pd_sc_vae_config c;   /* classifier_steps < steps is a cross-check of the run file (core/config.c) */
    PD_TRY(pd_sc_vae_config_from(cfg, &c));
    sc_settings *set = pd_calloc(1, sizeof *set);
    if (!set) return PD_ERR_NOMEM;
    set->keep = (double)pd_cfg_stage_int(cfg, "sc_vae", "residue_sample") /
                (double)pd_cfg_stage_int(cfg, "sc_vae", "batch_residues");
    set->classifier_steps = pd_cfg_stage_int(cfg, "sc_vae", "classifier_steps");
    set->first_classifier_step = pd_cfg_stage_int(cfg, "sc_vae", "steps") - set->classifier_steps;
    pd_lr_schedule phase = {.lr = pd_cfg_stage_float(cfg, "sc_vae", "lr"),
                            .warmup_steps = pd_cfg_stage_int(cfg, "sc_vae", "warmup"),
                            .min_ratio = pd_cfg_stage_float(cfg, "sc_vae", "min_lr_ratio")};
    set->vae_phase = set->classifier_phase = phase;
    set->vae_phase.total_steps = set->first_classifier_step;
    set->classifier_phase.total_steps = set->classifier_steps;
    pd_sc_vae *m;
    pd_status st = pd_sc_vae_create(&m, &c, &(pd_model_opts){.seed = seed, .pad_multiple = pad_multiple});
    if (st != PD_OK) {
        free(set);
        return st;
    }
    s->model = m;
    s->params = pd_sc_vae_params(m);
    s->priv = set;
    return PD_OK;
}

static void sc_destroy(pd_stage *s)
{
    pd_sc_vae_destroy(s->model);
    free(s->priv);
    s->model = NULL;
    s->params = NULL;
    s->priv = NULL;
}

/* Training batches may keep a random subset of their residues (train.sc_vae.residue_sample):
 * residues drawn from many entries rather than every residue of one or two. */
static pd_status sc_load(pd_stage *s, pd_dataset *ds, pd_stage_batch *b)
{
    const pd_sc_vae_config *c = pd_sc_vae_get_config(s->model);
    const sc_settings *set = s->priv;
    PD_TRY(pd_voxel_stage_load(ds, c->voxel, b));
    if (b->step > 0 && set->keep > 0 && !b->phantom) {
        pd_voxel_batch *vb = b->data;
        pd_voxel_batch_subsample(vb, set->keep, s->seed, b->step);
        b->count = vb->n;
    }
    return PD_OK;
}

static void sc_free_batch(pd_stage *s, pd_stage_batch *b)
{
    (void)s;
    pd_voxel_stage_free(b);
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
    const sc_settings *set = s->priv;
    pd_sc_vae_part part = PD_SC_VAE_ALL;
    if (set->classifier_steps > 0)
        part = step < set->first_classifier_step ? PD_SC_VAE_RECONSTRUCTION : PD_SC_VAE_CLASSIFIER;
    pd_tensor *loss = pd_sc_vae_loss_part(g, s->model, voxel_tensor(g, vb), vb->aa, vb->row_ids, s->seed,
                                          (uint64_t)step, normaliser, part, &t);
    if (!loss) return NULL;
    terms->n = 0;
    pd_stage_term_add(terms, "mse", t.mse);
    pd_stage_term_add(terms, "kl", t.kl);
    pd_stage_term_add(terms, "ce", t.ce);
    if (pd_sc_vae_get_config(s->model)->classifier_input_weight > 0) pd_stage_term_add(terms, "ce_input", t.ce_input);
    /* Every kept residue is labelled, so correct / global count is the batch accuracy. */
    pd_stage_term_add(terms, "acc", normaliser > 0 ? (double)t.n_correct / normaliser : 0);
    return loss;
}

/* The two phases' learning rates (see sc_settings above); frozen units get 0. */
static double sc_unit_lr(pd_stage *s, int64_t step, int unit, double lr)
{
    const sc_settings *set = s->priv;
    if (set->classifier_steps <= 0) return lr;
    const int classifier = strncmp(s->params->units[unit].name, "cls", 3) == 0;
    const int in_phase2 = step >= set->first_classifier_step;
    if (classifier != in_phase2) return 0;
    return in_phase2 ? pd_lr_at(&set->classifier_phase, step - set->first_classifier_step)
                     : pd_lr_at(&set->vae_phase, step);
}

static int64_t sc_n_val_sums(pd_stage *s)
{
    int64_t V = pd_sc_vae_get_config(s->model)->voxel;
    return S_CELLS + V * V * V;
}

static int argmax20(const pd_real *row)
{
    int best = 0;
    for (int c = 1; c < AA; c++)
        if (row[c] > row[best]) best = c;
    return best;
}

/* One chunk of residues in eval mode: mu, logvar = encode(x); recon, logits = decode_classify(mu)
 * (z = mu); the same MSE, KL and CE as pd_sc_vae_loss computes (tests/train/encode.sh recomputes
 * every val_* figure with the PyTorch reference), plus the prediction of each residue for the confusion, and the classifier
 * on the input voxels for comparison. */
static pd_status val_chunk(pd_stage *s, pd_graph *g, const pd_voxel_batch *vb, int64_t first, int64_t n, double *sums)
{
    const int64_t V = vb->voxel, cells = V * V * V;
    const float *x = vb->voxels + first * cells;
    pd_tensor *voxels = pd_tensor_from_floats(g, 5, (int64_t[]){n, 1, V, V, V}, x);
    pd_tensor *mu, *logvar, *recon, *logits, *logits_input;
    PD_TRY(pd_sc_vae_encode(g, s->model, voxels, &mu, &logvar));
    PD_TRY(pd_sc_vae_decode_classify(g, s->model, mu, &recon, &logits));
    PD_TRY(pd_sc_vae_classify(g, s->model, voxels, &logits_input));
    const int64_t L = mu->shape[1];
    for (int64_t r = 0; r < n; r++) {
        const int aa = vb->aa[first + r];
        const float *xr = x + r * cells;
        const pd_real *yr = recon->data + r * cells;
        double se = 0, sq = 0;
        for (int64_t c = 0; c < cells; c++) {
            double d = (double)yr[c] - xr[c];
            se += d * d;
            sq += (double)xr[c] * xr[c];
            sums[S_CELLS + c] += xr[c];
        }
        double kl = 0;
        for (int64_t j = 0; j < L; j++) {
            double m = mu->data[r * L + j], lv = logvar->data[r * L + j];
            kl += -0.5 * (1 + lv - m * m - exp(lv));
        }
        const pd_real *lr = logits->data + r * AA;
        double top = lr[0], z = 0;
        for (int c = 1; c < AA; c++) top = fmax(top, lr[c]);
        for (int c = 0; c < AA; c++) z += exp((double)lr[c] - top);
        const int pred = argmax20(lr);
        sums[S_N] += 1;
        sums[S_MSE] += se / (double)cells;
        sums[S_SUMSQ] += sq;
        sums[S_KL] += kl;
        sums[S_CE] += top + log(z) - lr[aa];
        sums[S_CORRECT] += pred == aa;
        sums[S_CORRECT_INPUT] += argmax20(logits_input->data + r * AA) == aa;
        sums[S_AA + aa] += 1;
        sums[S_CONFUSION + aa * AA + pred] += 1;
    }
    return PD_OK;
}

static pd_status sc_val_accumulate(pd_stage *s, pd_graph *g, pd_stage_batch *b, double *sums)
{
    const pd_voxel_batch *vb = b->data;
    for (int64_t first = 0; first < vb->n; first += CHUNK_RESIDUES) {
        pd_graph_reset(g);
        int64_t n = vb->n - first < CHUNK_RESIDUES ? vb->n - first : CHUNK_RESIDUES;
        PD_TRY(val_chunk(s, g, vb, first, n, sums));
    }
    pd_graph_reset(g);
    return PD_OK;
}

/* RUN_DIR/sc_vae_confusion.tsv from rank 0 (the sums are identical on every rank), replaced
 * atomically at each validation: after a run it holds the final validation's counts. */
static void write_confusion(const pd_stage *s, const double *sums)
{
    if (pd_world_rank() != 0) return;
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/sc_vae_confusion.tsv", pd_cfg_str(s->cfg, "run.dir"));
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        pd_warn("cannot write %s: the validation confusion is not saved", tmp);
        return;
    }
    fprintf(f, "# sc_vae validation confusion: rows = true amino acid, columns = the classifier's prediction on the "
               "reconstruction decode(mu); %.0f residues, accuracy %.4f\n",
            sums[S_N], sums[S_N] > 0 ? sums[S_CORRECT] / sums[S_N] : 0);
    fprintf(f, "true\\pred");
    for (int p = 0; p < AA; p++) fprintf(f, "\t%c", aa_letters[p]);
    fprintf(f, "\ttotal\trecall\n");
    for (int t = 0; t < AA; t++) {
        fprintf(f, "%c", aa_letters[t]);
        for (int p = 0; p < AA; p++) fprintf(f, "\t%.0f", sums[S_CONFUSION + t * AA + p]);
        double total = sums[S_AA + t];
        fprintf(f, "\t%.0f\t%.4f\n", total, total > 0 ? sums[S_CONFUSION + t * AA + t] / total : 0);
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0) pd_warn("cannot write %s: the validation confusion is not saved", path);
}

static void sc_val_finish(pd_stage *s, const double *sums, pd_stage_metrics *out)
{
    const int64_t cells = sc_n_val_sums(s) - S_CELLS;
    const double n = sums[S_N] > 0 ? sums[S_N] : 1;
    /* Predicting the mean voxel: sum over cells of (sum x^2 - (sum x)^2 / n), per cell and residue. */
    double resid = sums[S_SUMSQ];
    for (int64_t c = 0; c < cells; c++) resid -= sums[S_CELLS + c] * sums[S_CELLS + c] / n;
    double best = 0;
    for (int a = 0; a < AA; a++) best = fmax(best, sums[S_AA + a]);
    pd_stage_metric_add(out, "val_mse", sums[S_MSE] / n);
    pd_stage_metric_add(out, "val_kl", sums[S_KL] / n);
    pd_stage_metric_add(out, "val_ce", sums[S_CE] / n);
    pd_stage_metric_add(out, "val_acc", sums[S_CORRECT] / n);
    pd_stage_metric_add(out, "val_acc_input", sums[S_CORRECT_INPUT] / n);
    pd_stage_metric_add(out, "val_baseline_mse", resid / (n * (double)cells));
    pd_stage_metric_add(out, "val_baseline_acc", best / n);
    pd_stage_metric_add(out, "val_residues", sums[S_N]);
    write_confusion(s, sums);
}

static int64_t sc_latent_dim(pd_stage *s) { return pd_sc_vae_get_config(s->model)->latent; }

static pd_status sc_encode(pd_stage *s, pd_graph *g, pd_stage_batch *b, int64_t first_row, float *mu_rows,
                           float *logvar_rows, uint8_t *valid_rows)
{
    const pd_voxel_batch *vb = b->data;
    const int64_t V = vb->voxel, cells = V * V * V, L = sc_latent_dim(s);
    for (int64_t first = 0; first < vb->n; first += CHUNK_RESIDUES) {
        pd_graph_reset(g);
        int64_t n = vb->n - first < CHUNK_RESIDUES ? vb->n - first : CHUNK_RESIDUES;
        pd_tensor *voxels = pd_tensor_from_floats(g, 5, (int64_t[]){n, 1, V, V, V}, vb->voxels + first * cells);
        pd_tensor *mu, *logvar;
        PD_TRY(pd_sc_vae_encode(g, s->model, voxels, &mu, &logvar));
        for (int64_t r = 0; r < n; r++) {
            int64_t row = (int64_t)vb->row_ids[first + r] - first_row;
            if (row < 0 || row >= b->residues)
                return pd_fail(PD_ERR, "sc_vae encode: residue row %lld outside the batch's rows [%lld, %lld)",
                               (long long)vb->row_ids[first + r], (long long)first_row,
                               (long long)(first_row + b->residues));
            for (int64_t j = 0; j < L; j++) {
                mu_rows[row * L + j] = (float)mu->data[r * L + j];
                logvar_rows[row * L + j] = (float)logvar->data[r * L + j];
            }
            valid_rows[row] = 1;
        }
    }
    pd_graph_reset(g);
    return PD_OK;
}

const pd_stage_ops pd_stage_sc_vae = {
    .name = "sc_vae",
    .per_residue = 1,   /* residues are independent samples: long entries may be cut into ranges */
    .count_name = "residues",
    .create = sc_create,
    .destroy = sc_destroy,
    .load_batch = sc_load,
    .free_batch = sc_free_batch,
    .loss = sc_loss,
    .unit_lr = sc_unit_lr,
    .n_val_sums = sc_n_val_sums,
    .val_accumulate = sc_val_accumulate,
    .val_finish = sc_val_finish,
    .latent_dim = sc_latent_dim,
    .encode = sc_encode,
};
