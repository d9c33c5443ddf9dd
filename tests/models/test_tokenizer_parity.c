/* test_tokenizer_parity.c — the structure tokenizer against its PyTorch reference
 * (tests/reference/tokenizer_ref.py, run by tokenizer_parity.sh). `write DIR` creates the tiny
 * model and writes its configuration, weights, codebooks, images and lengths to DIR/in.bin;
 * `check DIR` rebuilds the same model, runs one training forward + backward and one EMA codebook
 * update, and compares loss, terms, reconstruction, code indices, every parameter gradient,
 * the BatchNorm running statistics and the updated codebooks with DIR/out.bin (float32 C vs
 * float64 torch). Then it perturbs one weight and shows the comparison detects it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "models/tokenizer.h"
#include "nn/bundle.h"
#include "nn/ops.h"
#include "test.h"

/* Tiny configuration of the brief: 2 levels, width 16, heads 2, latent 8, rope 4, 8 codes,
 * 1 block, two 8×8 images, the second only 5×5 valid (so every mask is exercised). */
enum { SIDE = 8, BATCH = 2 };
static const int32_t LENGTHS[BATCH] = {8, 5};
static const uint64_t SEED = 424242;
/* f32 C against f64 torch: relative to each tensor's largest value, with an absolute floor of
 * 1e-6 × the largest gradient of the whole model (f32 rounding in backward is proportional to
 * the signals flowing through it, not to a tensor's own final size). */
static const double RTOL = 1e-5, GRAD_FLOOR = 1e-6;

static void tiny_config(pd_tokenizer_config *c)
{
    pd_tokenizer_config_default(c);
    c->levels = 2;
    c->width = 16;
    c->mlp = 32;
    c->heads = 2;
    c->latent_dim = 8;
    c->rope_dim = 4;
    c->codebook = 8;
    c->blocks = 1;
    c->data_init = 0;        /* the compared EMA step is the plain update */
    c->dead_threshold = 0;
}

static void make_images(float *img)
{
    pd_rng r;
    pd_rng_init(&r, SEED, 0, 0, PD_RNG_NOISE);
    for (int i = 0; i < BATCH * 3 * SIDE * SIDE; i++) img[i] = (float)pd_rng_normal(&r);
}

static int report(pd_status s, const char *what)
{
    if (s == PD_OK) return 1;
    fprintf(stderr, "%s: %s\n", what, pd_last_error());
    return 0;
}

/* ---- bundle writing (format of tests/reference/nn_bundle.py) -------------------------------------- */

static int put_item(FILE *f, const char *name, uint32_t dtype, int ndim, const int64_t *shape, const void *data,
                    size_t elem)
{
    const uint32_t len = (uint32_t)strlen(name), nd = (uint32_t)ndim;
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) numel *= shape[i];
    return fwrite(&len, 4, 1, f) == 1 && fwrite(name, 1, len, f) == len && fwrite(&dtype, 4, 1, f) == 1 &&
           fwrite(&nd, 4, 1, f) == 1 && fwrite(shape, 8, (size_t)ndim, f) == (size_t)ndim &&
           fwrite(data, elem, (size_t)numel, f) == (size_t)numel;
}

static int put_real(FILE *f, const char *name, int ndim, const int64_t *shape, const pd_real *data)
{
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) numel *= shape[i];
    float *tmp = malloc((size_t)numel * sizeof *tmp);
    if (!tmp) return 0;
    for (int64_t i = 0; i < numel; i++) tmp[i] = (float)data[i];
    const int ok = put_item(f, name, 0, ndim, shape, tmp, sizeof(float));
    free(tmp);
    return ok;
}

static int put_i32(FILE *f, const char *name, int64_t n, const int32_t *v)
{
    return put_item(f, name, 1, 1, &n, v, sizeof(int32_t));
}

static int write_inputs(const char *dir)
{
    pd_tokenizer_config c;
    tiny_config(&c);
    pd_tokenizer *m;
    if (!report(pd_tokenizer_create(&m, &c, &(pd_model_opts){.seed = SEED}), "create")) return 1;
    char path[1024];
    snprintf(path, sizeof path, "%s/in.bin", dir);
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", path);
        return 1;
    }
    int ok = fwrite("PDTB1\n", 1, 6, f) == 6;
    const int32_t ints[] = {c.levels, c.width, c.mlp, c.heads, c.latent_dim, c.rope_dim, c.codebook, c.blocks};
    const char *names[] = {"cfg.levels", "cfg.width", "cfg.mlp", "cfg.heads", "cfg.latent_dim", "cfg.rope_dim",
                           "cfg.codebook", "cfg.blocks"};
    for (int i = 0; i < 8; i++) ok = ok && put_i32(f, names[i], 1, &ints[i]);
    const pd_real scal[] = {(pd_real)c.beta, (pd_real)c.ema_decay, (pd_real)c.vq_eps};
    ok = ok && put_real(f, "cfg.beta", 1, (int64_t[]){1}, &scal[0]) &&
         put_real(f, "cfg.ema_decay", 1, (int64_t[]){1}, &scal[1]) && put_real(f, "cfg.vq_eps", 1, (int64_t[]){1}, &scal[2]);
    pd_params *P = pd_tokenizer_params(m);
    for (int i = 0; i < P->n_params && ok; i++) {
        char name[300];
        snprintf(name, sizeof name, "param.%s", P->params[i]->name);
        ok = put_real(f, name, P->params[i]->t.ndim, P->params[i]->t.shape, P->params[i]->t.data);
    }
    for (int l = 0; l < c.levels && ok; l++) {
        char name[64];
        snprintf(name, sizeof name, "codebook.%d", l);
        const pd_vq_codebook *b = pd_tokenizer_codebook(m, l);
        ok = put_real(f, name, 2, (int64_t[]){b->codes, b->dim}, b->embed);
    }
    float img[BATCH * 3 * SIDE * SIDE];
    pd_real imgr[BATCH * 3 * SIDE * SIDE];
    make_images(img);
    for (int i = 0; i < BATCH * 3 * SIDE * SIDE; i++) imgr[i] = img[i];
    ok = ok && put_real(f, "images", 4, (int64_t[]){BATCH, 3, SIDE, SIDE}, imgr) && put_i32(f, "lengths", BATCH, LENGTHS);
    ok = (fclose(f) == 0) && ok;
    pd_tokenizer_destroy(m);
    if (!ok) fprintf(stderr, "writing %s failed\n", path);
    return ok ? 0 : 1;
}

/* ---- checking ------------------------------------------------------------------------------------- */

/* max|a − ref| / max|ref| (floor: abs_floor), without counting a check; -1 when missing. */
static double rel_error(const pd_bundle *b, const char *name, const pd_real *a, int64_t n, double abs_floor)
{
    const pd_bundle_item *it = NULL;
    for (int i = 0; i < b->n; i++)
        if (strcmp(b->items[i].name, name) == 0) it = &b->items[i];
    if (!it || it->numel != n || it->dtype != PD_BUNDLE_F32) return -1;
    const float *ref = it->data;
    double max_ref = 0, max_diff = 0;
    for (int64_t i = 0; i < n; i++) {
        const double d = fabs((double)a[i] - ref[i]);
        max_diff = isnan(d) ? INFINITY : d > max_diff ? d : max_diff;
        if (fabs(ref[i]) > max_ref) max_ref = fabs(ref[i]);
    }
    const double scale = max_ref > abs_floor / RTOL ? max_ref : abs_floor / RTOL;
    return max_diff / (scale > 1e-30 ? scale : 1e-30);
}

typedef struct run {
    pd_graph *g;
    pd_tensor *loss, *recon;
    pd_tokenizer_terms terms;
    pd_tokenizer_vq_batch vq;
} run;

static int forward_backward(pd_tokenizer *m, run *r)
{
    float img[BATCH * 3 * SIDE * SIDE];
    make_images(img);
    pd_graph_reset(r->g);
    pd_tensor *x = pd_tensor_from_floats(r->g, 4, (int64_t[]){BATCH, 3, SIDE, SIDE}, img);
    r->loss = pd_tokenizer_loss(r->g, m, x, LENGTHS, NULL, &r->terms, &r->vq, &r->recon);
    if (!r->loss) return report(pd_graph_status(r->g), "forward");
    pd_params_zero_grad(pd_tokenizer_params(m));
    return report(pd_backward(r->g, r->loss), "backward");
}

/* Worst relative error over loss and every gradient (the perturbation check). */
static double worst_error(pd_tokenizer *m, const pd_bundle *ref, const run *r, double grad_floor)
{
    pd_params *P = pd_tokenizer_params(m);
    double worst = rel_error(ref, "loss", r->loss->data, 1, 0);
    for (int i = 0; i < P->n_params; i++) {
        char name[300];
        snprintf(name, sizeof name, "grad.%s", P->params[i]->name);
        const double e = rel_error(ref, name, P->params[i]->t.grad, P->params[i]->t.numel, grad_floor);
        if (e < 0 || e > worst) worst = e < 0 ? INFINITY : e;
    }
    return worst;
}

static int check_outputs(const char *dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/out.bin", dir);
    pd_bundle ref;
    if (!report(pd_bundle_read(&ref, path), "reading the reference")) return 1;
    pd_tokenizer_config c;
    tiny_config(&c);
    pd_tokenizer *m;
    run r = {0};
    if (!report(pd_tokenizer_create(&m, &c, &(pd_model_opts){.seed = SEED}), "create") || !report(pd_graph_create(&r.g, 0), "graph")) return 1;
    pd_params *P = pd_tokenizer_params(m);
    CHECK(forward_backward(m, &r));
    if (pd_test_failures) return 1;

    printf("loss C %.9g  (mse %.9g, commit %.6g %.6g)\n", r.terms.loss, r.terms.mse, r.terms.commit[0], r.terms.commit[1]);
    pd_bundle_compare(&ref, "loss", r.loss->data, 1, RTOL);
    pd_real v = (pd_real)r.terms.mse;
    pd_bundle_compare(&ref, "mse", &v, 1, RTOL);
    pd_bundle_compare(&ref, "recon", r.recon->data, r.recon->numel, RTOL);
    for (int l = 0; l < c.levels; l++) {
        char name[64];
        snprintf(name, sizeof name, "commit.%d", l);
        v = (pd_real)r.terms.commit[l];
        pd_bundle_compare(&ref, name, &v, 1, RTOL);
        snprintf(name, sizeof name, "index.%d", l);
        const int32_t *idx = pd_bundle_i32(&ref, name);
        int same = idx != NULL;
        for (int64_t i = 0; same && i < r.vq.rows[l]; i++) same = idx[i] == r.vq.index[l][i];
        CHECK_MSG(same, "level %d: C and torch pick different codes", l);
    }
    /* Gradients: the global scale sets the absolute floor. */
    double gmax = 0;
    for (int i = 0; i < P->n_params; i++)
        for (int64_t k = 0; k < P->params[i]->t.numel; k++)
            if (fabs(P->params[i]->t.grad[k]) > gmax) gmax = fabs(P->params[i]->t.grad[k]);
    double worst_grad = 0;
    for (int i = 0; i < P->n_params; i++) {
        char name[300];
        snprintf(name, sizeof name, "grad.%s", P->params[i]->name);
        const double e = rel_error(&ref, name, P->params[i]->t.grad, P->params[i]->t.numel, GRAD_FLOOR * gmax);
        CHECK_MSG(e >= 0 && e <= RTOL, "%s: relative error %.3g (missing = -1)", name, e);
        if (e > worst_grad) worst_grad = e;
    }
    printf("  %d gradient tensors, worst relative error %.2e (floor %.2e absolute)\n", P->n_params, worst_grad,
           GRAD_FLOOR * gmax);
    for (int i = 0; i < pd_tokenizer_n_batchnorms(m); i++) {
        const char *bn;
        pd_batchnorm_stats *s = pd_tokenizer_batchnorm(m, i, &bn);
        char name[128];
        snprintf(name, sizeof name, "%s.running_mean", bn);
        pd_bundle_compare(&ref, name, s->running_mean, s->channels, RTOL);
        snprintf(name, sizeof name, "%s.running_var", bn);
        pd_bundle_compare(&ref, name, s->running_var, s->channels, RTOL);
    }
    /* One EMA codebook step from this batch's statistics. */
    double *stats = malloc((size_t)pd_tokenizer_vq_stats_numel(m) * sizeof *stats);
    CHECK(stats != NULL);
    if (stats) {
        pd_tokenizer_vq_stats(m, &r.vq, stats);
        CHECK(report(pd_tokenizer_codebook_update(m, stats, &r.vq, SEED, 0, NULL), "codebook update"));
        for (int l = 0; l < c.levels; l++) {
            const pd_vq_codebook *b = pd_tokenizer_codebook(m, l);
            char name[64];
            snprintf(name, sizeof name, "ema.%d.embed", l);
            pd_bundle_compare(&ref, name, b->embed, b->codes * b->dim, RTOL);
            snprintf(name, sizeof name, "ema.%d.count", l);
            pd_bundle_compare(&ref, name, b->ema_count, b->codes, RTOL);
            snprintf(name, sizeof name, "ema.%d.sum", l);
            pd_bundle_compare(&ref, name, b->ema_sum, b->codes * b->dim, RTOL);
        }
        free(stats);
    }

    /* The comparison can fail: perturb one weight of the first encoder block by 1e-3 and rerun
     * with the original codebooks (a fresh model, same seed). */
    pd_tokenizer *pert;
    CHECK(report(pd_tokenizer_create(&pert, &c, &(pd_model_opts){.seed = SEED}), "create"));
    pd_param *w = pd_params_find(pd_tokenizer_params(pert), "enc.0.blocks.0.attn.q.weight");
    CHECK(w != NULL);
    if (w) {
        w->t.data[3] += 1e-3f;
        CHECK(forward_backward(pert, &r));
        const double e = worst_error(pert, &ref, &r, GRAD_FLOOR * gmax);
        printf("  perturbed enc.0.blocks.0.attn.q.weight[3] by 1e-3: worst relative error %.2e (tolerance %.0e)\n", e,
               RTOL);
        CHECK_MSG(e > RTOL, "a perturbed weight went unnoticed (error %.3g)", e);
    }
    pd_tokenizer_destroy(pert);
    pd_graph_destroy(r.g);
    pd_tokenizer_destroy(m);
    pd_bundle_free(&ref);
    return pd_test_finish("test_tokenizer_parity");
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "write") != 0 && strcmp(argv[1], "check") != 0)) {
        fprintf(stderr, "usage: %s write|check DIR\n", argv[0]);
        return 2;
    }
    return strcmp(argv[1], "write") == 0 ? write_inputs(argv[2]) : check_outputs(argv[2]);
}
