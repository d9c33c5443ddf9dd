/* diagnose.c — the measurements of diagnose.h. Test entries are shared over ranks; every figure
 * is a sum over residues reduced at the end, so the result does not depend on the rank count. */
#include "design/diagnose.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/rng.h"
#include "core/timer.h"
#include "dataset/inputs.h"
#include "dataset/reader.h"
#include "design/design_run.h"
#include "design/designer.h"
#include "models/diffusion.h"
#include "models/schedule.h"
#include "parallel/comm.h"
#include "train/latents.h"

/* the noise levels of the x̂0 curve (timesteps of T = 1000; scaled for other T) */
static const int grid_1000[] = {0, 50, 100, 200, 300, 400, 500, 600, 700, 800, 900, 999};
#define N_GRID ((int)(sizeof grid_1000 / sizeof grid_1000[0]))
/* extra classifier temperatures tried on the k-sample average (on top of the configured one) */
static const double temps[] = {1.5, 2.0, 3.0, 4.0, 6.0};
#define N_TEMPS ((int)(sizeof temps / sizeof temps[0]))
/* rows: true μ, the grid, one sample, k samples averaged, the same at each extra temperature */
enum { ROW_TRUE = 0, ROW_GRID = 1, ROW_ONE = ROW_GRID + N_GRID, ROW_MEAN, ROW_TEMP, N_ROWS = ROW_TEMP + N_TEMPS };
enum { Q_CORRECT, Q_NLL, Q_N, N_Q };

static int argmax20(const float *p)
{
    int best = 0;
    for (int a = 1; a < 20; a++)
        if (p[a] > p[best]) best = a;
    return best;
}

static void add_rows(double *q, const float *logp, const uint8_t *use, const uint8_t *aa, int64_t L)
{
    for (int64_t i = 0; i < L; i++) {
        if (!use[i]) continue;
        q[Q_CORRECT] += argmax20(logp + i * 20) == aa[i];
        q[Q_NLL] += -(double)logp[i * 20 + aa[i]];
        q[Q_N] += 1;
    }
}

typedef struct diag_ctx {
    pd_designer *d;
    pd_dataset *ds;
    pd_latent_file sc, bb;
    int samples;
    uint64_t seed;
} diag_ctx;

static pd_status diagnose_entry(diag_ctx *x, int64_t index, const pd_entry_info *info, double (*q)[N_Q])
{
    pd_diffusion *dit = x->d->models->dit;
    const pd_diffusion_config *dc = pd_diffusion_get_config(dit);
    const int D = dc->sc_latent, Bd = dc->bb_latent, T = dc->timesteps;
    const int64_t L = info->length;
    uint8_t *aa = pd_malloc((size_t)L), *chain = pd_malloc((size_t)L), *use = pd_malloc((size_t)L);
    uint8_t *sc_ok = pd_malloc((size_t)L), *bb_ok = pd_malloc((size_t)L), *valid = pd_malloc((size_t)L);
    float *atom14 = pd_malloc((size_t)L * 42 * sizeof(float)), *mu = pd_malloc((size_t)L * D * sizeof(float));
    float *bb = pd_malloc((size_t)L * Bd * sizeof(float)), *xt = pd_malloc((size_t)L * D * sizeof(float));
    float *pred = pd_malloc((size_t)L * D * sizeof(float)), *x0 = pd_malloc((size_t)L * D * sizeof(float));
    float *logp = pd_malloc((size_t)(L * 20 * (x->samples > 1 ? x->samples : 1)) * sizeof(float));
    float *mean = pd_malloc((size_t)L * 20 * sizeof(float)), *logits = pd_malloc((size_t)L * 20 * sizeof(float));
    int32_t *tokens = pd_malloc((size_t)L * sizeof(int32_t));
    pd_status st = aa && chain && use && sc_ok && bb_ok && valid && atom14 && mu && bb && xt && pred && x0 && logp &&
                   mean && logits && tokens ? PD_OK : PD_ERR_NOMEM;
    if (st == PD_OK) st = pd_dataset_read_sequence(x->ds, index, aa, chain);
    if (st == PD_OK) st = pd_dataset_read_atom14(x->ds, index, atom14);
    if (st == PD_OK) st = pd_latent_file_read(&x->sc, info->residue_offset, L, mu, sc_ok);
    if (st == PD_OK) st = pd_latent_file_read(&x->bb, info->residue_offset, L, bb, bb_ok);
    for (int64_t i = 0; st == PD_OK && i < L; i++) {
        valid[i] = sc_ok[i] && bb_ok[i];
        use[i] = valid[i] && aa[i] < 20;
        tokens[i] = PD_DIFFUSION_TOKEN_MASK;
    }
    /* the classifier on decode(true SC μ) */
    if (st == PD_OK) st = pd_designer_decode_classify(x->d, mu, L, logp);
    if (st == PD_OK) add_rows(q[ROW_TRUE], logp, use, aa, L);
    /* the DiT's one-step x̂0 from the true μ noised to t */
    const int64_t off[2] = {0, L};
    const pd_diffusion_cond cond = {.n_entries = 1, .offset = off, .bb_mu = bb, .tokens = tokens, .valid = valid,
                                    .atom14 = atom14, .chain = chain};
    for (int k = 0; st == PD_OK && k < N_GRID; k++) {
        int32_t t = (int32_t)((int64_t)grid_1000[k] * T / 1000);
        if (t >= T) t = T - 1;
        const double ab = pd_schedule_alpha_bar(pd_diffusion_get_schedule(dit), t);
        pd_rng rng;
        pd_rng_init(&rng, x->seed, (uint64_t)k, (uint64_t)index, PD_RNG_DESIGN);
        for (int64_t j = 0; j < L * D; j++) xt[j] = (float)(sqrt(ab) * mu[j] + sqrt(1 - ab) * pd_rng_normal(&rng));
        pd_graph_reset(x->d->g);
        st = pd_diffusion_predict_seq(x->d->g, dit, &cond, xt, &t, pred, x->d->hidden_classifier ? logits : NULL);
        pd_graph_reset(x->d->g);
        if (st == PD_OK && x->d->hidden_classifier) {
            pd_designer_logits_to_logp(x->d, logits, L, logp);
        } else if (st == PD_OK) {
            pd_diffusion_split_prediction(dc->target, ab, L * D, xt, pred, x0, NULL);
            st = pd_designer_decode_classify(x->d, x0, L, logp);
        }
        if (st == PD_OK) add_rows(q[ROW_GRID + k], logp, use, aa, L);
    }
    /* the full sampler: one sample, and k averaged (log of the mean probability) */
    if (st == PD_OK) {
        pd_design_backbone view = {(int32_t)L, atom14, chain, tokens};
        st = pd_designer_run(x->d, &view, x->samples, pd_design_entry_seed(x->seed, info->name), logp, valid, NULL);
    }
    if (st == PD_OK) {
        for (int64_t i = 0; i < L; i++) use[i] = use[i] && valid[i];
        add_rows(q[ROW_ONE], logp, use, aa, L);
        for (int64_t j = 0; j < L * 20; j++) {
            double p = 0;
            for (int s = 0; s < x->samples; s++) p += exp((double)logp[(int64_t)s * L * 20 + j]);
            mean[j] = (float)log(fmax(p / x->samples, 1e-30));
        }
        add_rows(q[ROW_MEAN], mean, use, aa, L);
        /* log-softmax(logp / τ) = log-softmax(logits / (τ · configured temperature)) */
        for (int k = 0; k < N_TEMPS; k++) {
            for (int64_t i = 0; i < L; i++)
                for (int a = 0; a < 20; a++) {
                    double p = 0;
                    for (int s = 0; s < x->samples; s++) {
                        const float *row = logp + ((int64_t)s * L + i) * 20;
                        double mx = row[0] / temps[k], sum = 0;
                        for (int b = 1; b < 20; b++) mx = fmax(mx, row[b] / temps[k]);
                        for (int b = 0; b < 20; b++) sum += exp(row[b] / temps[k] - mx);
                        p += exp(row[a] / temps[k] - mx) / sum;
                    }
                    mean[i * 20 + a] = (float)log(fmax(p / x->samples, 1e-30));
                }
            add_rows(q[ROW_TEMP + k], mean, use, aa, L);
        }
    }
    if (st != PD_OK) pd_error_context("diagnosing entry %s", info->name);
    free(aa), free(chain), free(use), free(sc_ok), free(bb_ok), free(valid), free(atom14), free(mu), free(bb);
    free(xt), free(pred), free(x0), free(logp), free(mean), free(logits), free(tokens);
    return st;
}

static void row_label(int r, int T, int samples, char *buf, size_t len)
{
    if (r == ROW_TRUE) snprintf(buf, len, "classifier(decode(true SC mu))");
    else if (r < ROW_ONE) snprintf(buf, len, "x0_hat at t = %d", (int)((int64_t)grid_1000[r - ROW_GRID] * T / 1000));
    else if (r == ROW_ONE) snprintf(buf, len, "sampler, 1 sample");
    else if (r == ROW_MEAN) snprintf(buf, len, "sampler, %d samples averaged", samples);
    else snprintf(buf, len, "  the same, temperature x %g", temps[r - ROW_TEMP]);
}

static const char *const split_names[3] = {"train", "valid", "test"};

static pd_status write_report(const pd_config *cfg, double (*q)[N_Q], int T, int samples, int split)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/diagnose-%s.json", pd_cfg_str(cfg, "run.dir"), split_names[split]);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return pd_fail(PD_ERR_IO, "cannot write %s (does run.dir exist?)", tmp);
    fprintf(f, "{\n  \"format\": \"proteindiff-diagnose\",\n  \"version\": 1,\n  \"split\": \"%s\",\n  "
            "\"classifier_temperature\": %g,\n  \"rows\": [", split_names[split], pd_cfg_float(cfg, "design.classifier_temperature"));
    printf("%-34s %9s %10s %9s\n", "stage of the chain", "recovery", "perplexity", "residues");
    for (int r = 0; r < N_ROWS; r++) {
        char label[64];
        row_label(r, T, samples, label, sizeof label);
        const double n = q[r][Q_N], rec = n > 0 ? q[r][Q_CORRECT] / n : NAN, ppl = n > 0 ? exp(q[r][Q_NLL] / n) : NAN;
        printf("%-34s %9.4f %10.2f %9.0f\n", label, rec, ppl, n);
        fprintf(f, "%s\n    {\"what\": \"%s\", \"t\": %d, \"recovery\": %.6g, \"perplexity\": %.6g, \"residues\": %.0f}",
                r ? "," : "", label, r >= ROW_GRID && r < ROW_ONE ? (int)((int64_t)grid_1000[r - ROW_GRID] * T / 1000) : -1,
                rec, ppl, n);
    }
    fprintf(f, "\n  ]\n}\n");
    fflush(stdout);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        remove(tmp);
        return pd_fail(PD_ERR_IO, "cannot write %s", path);
    }
    pd_info("diagnose: wrote %s", path);
    return PD_OK;
}

pd_status pd_diagnose_run(const pd_config *cfg, int split, MPI_Comm comm)
{
    if (split < 0 || split > 2) return pd_fail(PD_ERR_USAGE, "diagnose: split %d (0 train, 1 valid, 2 test)", split);
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    const double t0 = pd_now();
    diag_ctx x = {.samples = (int)pd_cfg_int(cfg, "design.eval_samples"), .seed = (uint64_t)pd_cfg_int(cfg, "design.seed")};
    x.sc.file = x.sc.mu = x.sc.valid = x.bb.file = x.bb.mu = x.bb.valid = -1;
    const char *path = pd_cfg_str(cfg, "data.dataset");
    PD_TRY(pd_agree(comm, pd_dataset_open(&x.ds, path, comm)));
    const int64_t n = pd_dataset_n_entries(x.ds);
    pd_entry_info *info = pd_calloc((size_t)n + 1, sizeof *info);
    int64_t *test = pd_calloc((size_t)n + 1, sizeof *test), *work = pd_calloc((size_t)n + 1, sizeof *work);
    int *owner = pd_calloc((size_t)n + 1, sizeof *owner);
    double(*q)[N_Q] = pd_calloc(N_ROWS, sizeof *q);
    int64_t n_test = 0;
    pd_status st = info && test && work && owner && q ? PD_OK : PD_ERR_NOMEM;
    for (int64_t i = 0; st == PD_OK && i < n; i++) {
        st = pd_dataset_entry_info(x.ds, i, &info[i]);
        if (st == PD_OK && info[i].split == split) {
            work[n_test] = info[i].length;
            test[n_test++] = i;
        }
    }
    if (st == PD_OK && n_test == 0) st = pd_fail(PD_ERR_CONFIG, "the dataset %s has no %s entries", path, split_names[split]);
    st = pd_agree(comm, st);
    pd_design_models models;
    int have_models = 0;
    pd_designer d = {0};
    if (st == PD_OK) {
        st = pd_design_models_load(&models, cfg, comm);
        have_models = st == PD_OK;
    }
    if (st == PD_OK) st = pd_agree(comm, pd_designer_init(&d, &models, cfg));
    x.d = &d;
    if (st == PD_OK) {
        const pd_diffusion_config *dc = pd_diffusion_get_config(models.dit);
        char lp[4300];
        pd_latents_path(cfg, "sc_vae", lp, sizeof lp);
        st = pd_latent_file_open(&x.sc, lp, "sc_vae", dc->sc_latent, path);
        pd_latents_path(cfg, "bb_vae", lp, sizeof lp);
        if (st == PD_OK) st = pd_latent_file_open(&x.bb, lp, "bb_vae", dc->bb_latent, path);
        st = pd_agree(comm, st);
    }
    if (st == PD_OK) {
        pd_inputs_partition(work, (int)n_test, size, owner);
        pd_info("diagnose: %lld %s entries of %s on %d rank(s), %d sample(s) averaged", (long long)n_test,
                split_names[split], path, size, x.samples);
    }
    for (int64_t k = 0; st == PD_OK && k < n_test; k++)
        if (owner[k] == rank) st = diagnose_entry(&x, test[k], &info[test[k]], q);
    st = pd_agree(comm, st);
    if (st == PD_OK) MPI_Allreduce(MPI_IN_PLACE, q, N_ROWS * N_Q, MPI_DOUBLE, MPI_SUM, comm);
    if (st == PD_OK && rank == 0)
        st = write_report(cfg, q, pd_diffusion_get_config(models.dit)->timesteps, x.samples, split);
    st = pd_agree(comm, st);
    if (st == PD_OK) pd_info("diagnose: done in %.1f s", pd_now() - t0);
    pd_latent_file_close(&x.sc);
    pd_latent_file_close(&x.bb);
    pd_designer_free(&d);
    if (have_models) pd_design_models_free(&models);
    free(info), free(test), free(work), free(owner), free(q);
    pd_dataset_close(x.ds);
    return st;
}
