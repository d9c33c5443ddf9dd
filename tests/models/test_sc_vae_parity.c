/* test_sc_vae_parity.c — the side-chain VAE against its PyTorch reference (tests/reference/
 * sc_vae_ref.py, run by sc_vae_parity.sh). `write DIR` creates the tiny model and writes its
 * weights, voxels, ε and amino acids to DIR/in.bin; `check DIR` loads them again, computes loss,
 * intermediate tensors and every parameter gradient, and compares them with DIR/out.bin.
 * Built twice: against the float library (the production numbers, tolerance 1e-5) and against
 * the double test library (the same code in f64 vs torch float64, tolerance 1e-9). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "models/sc_vae.h"
#include "nn/ops.h"
#include "sc_vae_bundle.h"
#include "test.h"

/* Tiny configuration: V = 4 (two down stages), width 2, latent 4, batch 3. beta_kl and the
 * normaliser are exactly representable in f32 so both sides use the same values; beta_kl is
 * large so the KL path carries gradients that matter in the comparison. The classifier's
 * input-voxel weight is the `write` argument (0, the spec's loss, by default), kept in the
 * bundle so `check` and the reference use the same. */
enum { VOXEL = 4, WIDTH = 2, LATENT = 4, BATCH = 3 };
static const double BETA_KL = 0.25, NORMALISER = 5.0, PERTURB_DELTA = 0.0625;
static const uint64_t SEED = 20240607;

#ifdef PD_REAL_DOUBLE
static const double RTOL = 1e-9, ATOL_GRAD = 1e-12;
#else
static const double RTOL = 1e-5, ATOL_GRAD = 1e-7;
#endif

static void tiny_config(pd_sc_vae_config *c, double input_weight)
{
    pd_sc_vae_config_default(c);
    c->voxel = VOXEL;
    c->width = WIDTH;
    c->latent = LATENT;
    c->beta_kl = BETA_KL;
    c->classifier_input_weight = input_weight;
}

static int report(pd_status s, const char *what)
{
    if (s == PD_OK) return 1;
    fprintf(stderr, "%s: %s\n", what, pd_last_error());
    return 0;
}

/* ---- write ---------------------------------------------------------------------------------- */

static int write_inputs(const char *dir, double input_weight)
{
    pd_sc_vae_config c;
    tiny_config(&c, input_weight);
    pd_sc_vae *m;
    if (!report(pd_sc_vae_create(&m, &c, &(pd_model_opts){.seed = SEED}), "create")) return 1;
    pd_params *P = pd_sc_vae_params(m);
    char path[1024];
    snprintf(path, sizeof path, "%s/in.bin", dir);
    FILE *f = scb_open_write(path);
    if (!f) return report(PD_ERR_IO, "open") ? 0 : 1;
    int64_t one = 1;
    int32_t ints[4] = {c.voxel, c.width, c.latent, c.max_groups};
    const char *int_names[4] = {"cfg.voxel", "cfg.width", "cfg.latent", "cfg.max_groups"};
    pd_status s = PD_OK;
    for (int i = 0; i < 4 && s == PD_OK; i++) s = scb_add_i32(f, int_names[i], 1, &one, &ints[i]);
    pd_real scalars[3] = {(pd_real)BETA_KL, (pd_real)NORMALISER, (pd_real)PERTURB_DELTA};
    if (s == PD_OK) s = scb_add_real(f, "cfg.beta_kl", 1, &one, &scalars[0]);
    if (s == PD_OK) s = scb_add_real(f, "cfg.normaliser", 1, &one, &scalars[1]);
    if (s == PD_OK) s = scb_add_real(f, "perturb.delta", 1, &one, &scalars[2]);
    pd_real weight = (pd_real)input_weight;
    if (s == PD_OK) s = scb_add_real(f, "cfg.classifier_input_weight", 1, &one, &weight);

    /* voxels: smooth blobs plus noise (not all-zero so every GroupNorm sees variance) */
    pd_real vox[BATCH * VOXEL * VOXEL * VOXEL], eps[BATCH * LATENT];
    pd_rng rng;
    pd_rng_init(&rng, SEED, 0, 0, PD_RNG_NOISE);
    for (int i = 0; i < BATCH * VOXEL * VOXEL * VOXEL; i++) vox[i] = (pd_real)(pd_rng_normal(&rng) * 0.5);
    for (int i = 0; i < BATCH * LATENT; i++) eps[i] = (pd_real)pd_rng_normal(&rng);
    int32_t aa[BATCH] = {3, -1, 17};   /* one residue without a label: CE must skip it */
    if (s == PD_OK) s = scb_add_real(f, "voxels", 5, (int64_t[]){BATCH, 1, VOXEL, VOXEL, VOXEL}, vox);
    if (s == PD_OK) s = scb_add_real(f, "eps", 2, (int64_t[]){BATCH, LATENT}, eps);
    if (s == PD_OK) s = scb_add_i32(f, "aa", 1, (int64_t[]){BATCH}, aa);
    for (int i = 0; i < P->n_params && s == PD_OK; i++) {
        char name[256];
        snprintf(name, sizeof name, "param.%s", P->params[i]->name);
        s = scb_add_real(f, name, P->params[i]->t.ndim, P->params[i]->t.shape, P->params[i]->t.data);
    }
    pd_status sc = scb_close(f, path);
    pd_sc_vae_destroy(m);
    if (!report(s, "write") || !report(sc, "close")) return 1;
    printf("wrote %s\n", path);
    return 0;
}

/* ---- check ---------------------------------------------------------------------------------- */

/* Largest |gradient| over the whole model (from the reference), for the absolute floor. */
static double grad_scale;

/* The reference value of element i: f32 in the float build; hi + lo (the float64 value to
 * ~48 bits) in the double build. */
static double ref_value(const scb_item *hi, const scb_item *lo, int64_t i)
{
    double v = ((const float *)hi->data)[i];
#ifdef PD_REAL_DOUBLE
    v += ((const float *)lo->data)[i];
#else
    (void)lo;
#endif
    return v;
}

/* Pass when |a_i - b_i| <= RTOL * (|b_i| + max_j |b_j|) + ATOL_GRAD * grad_scale for every
 * element: relative to the element, with a floor relative to its tensor's scale, and for gradients
 * an absolute floor at the precision's resolution of the model's largest gradient (gradients that
 * cancel to ~1e-5 of the others, e.g. behind a GroupNorm of two values at the tiny model's 1³
 * bottleneck, carry f32 rounding of the size of the large ones). */
static void compare(const scb_bundle *ref, const char *name, const pd_real *actual, int64_t n)
{
    char lo_name[300];
    snprintf(lo_name, sizeof lo_name, "%s.lo", name);
    const scb_item *hi = scb_get(ref, name, 0, n), *lo = hi ? scb_get(ref, lo_name, 0, n) : NULL;
    CHECK_MSG(hi != NULL && lo != NULL, "%s", pd_last_error());
    if (!hi || !lo) return;
    double floor = strncmp(name, "grad.", 5) == 0 ? ATOL_GRAD * grad_scale : 0;
    double scale = 0;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(ref_value(hi, lo, i)));
    double worst = 0, worst_rel = 0;
    int64_t worst_i = 0;
    for (int64_t i = 0; i < n; i++) {
        double b = ref_value(hi, lo, i), err = fabs((double)actual[i] - b);
        double ratio = err / (RTOL * (fabs(b) + scale) + floor + 1e-300);
        if (ratio > worst) worst = ratio, worst_i = i;
        worst_rel = fmax(worst_rel, err / (fabs(b) + scale + 1e-300));
    }
    CHECK_MSG(worst <= 1, "%s[%lld]: C %.12g vs torch %.12g (error/tolerance %.3g)", name, (long long)worst_i,
              (double)actual[worst_i], ref_value(hi, lo, worst_i), worst);
    if (getenv("PD_VERBOSE"))
        printf("  %-40s n=%-6lld scale %.3g scaled error %.3g error/tolerance %.3g\n", name, (long long)n, scale,
               worst_rel, worst);
}

static void compare_scalar(const scb_bundle *ref, const char *name, double actual)
{
    pd_real a = (pd_real)actual;
    compare(ref, name, &a, 1);
}

static pd_tensor *bundle_tensor(pd_graph *g, const scb_bundle *b, const char *name)
{
    const scb_item *it = scb_get(b, name, 0, -1);
    if (!it) return NULL;
    pd_tensor *t = pd_tensor_new(g, it->ndim, it->shape);
    if (t && scb_copy_real(b, name, t->data, t->numel) != PD_OK) return NULL;
    return t;
}

static int check_against(const char *dir)
{
    char in_path[1024], out_path[1024];
    snprintf(in_path, sizeof in_path, "%s/in.bin", dir);
    snprintf(out_path, sizeof out_path, "%s/out.bin", dir);
    scb_bundle in, ref;
    if (!report(scb_read(&in, in_path), "read inputs")) return 1;
    if (!report(scb_read(&ref, out_path), "read reference")) return 1;

    const scb_item *weight = scb_get(&in, "cfg.classifier_input_weight", 0, 1);
    CHECK(weight != NULL);
    if (!weight) return 1;
    pd_sc_vae_config c;
    tiny_config(&c, *(const float *)weight->data);
    pd_sc_vae *m;
    if (!report(pd_sc_vae_create(&m, &c, &(pd_model_opts){.seed = SEED + 1}), "create")) return 1;  /* other seed: weights come from in.bin */
    pd_params *P = pd_sc_vae_params(m);
    for (int i = 0; i < P->n_params; i++) {
        char name[256];
        snprintf(name, sizeof name, "param.%s", P->params[i]->name);
        CHECK_MSG(scb_copy_real(&in, name, P->params[i]->t.data, P->params[i]->t.numel) == PD_OK, "%s", pd_last_error());
    }
    const scb_item *np = scb_get(&ref, "n_params", 1, 1);
    CHECK_MSG(np && *(const int32_t *)np->data == pd_params_count(P), "parameter count: C %lld, torch %d",
              (long long)pd_params_count(P), np ? *(const int32_t *)np->data : -1);
    const scb_item *aa_item = scb_get(&in, "aa", 1, BATCH);
    CHECK(aa_item != NULL);
    if (!aa_item) return 1;
    const int32_t *aa = aa_item->data;

    pd_graph *g;
    if (!report(pd_graph_create(&g, 0), "graph")) return 1;
    pd_tensor *vox = bundle_tensor(g, &in, "voxels"), *eps = bundle_tensor(g, &in, "eps");
    CHECK(vox && eps);
    pd_params_zero_grad(P);
    pd_sc_vae_terms t;
    pd_tensor *loss = pd_sc_vae_loss_eps(g, m, vox, aa, eps, NORMALISER, &t);
    CHECK_MSG(loss != NULL, "forward: %s", pd_last_error());
    if (!loss) return 1;
    CHECK_MSG(pd_backward(g, loss) == PD_OK, "backward: %s", pd_last_error());
    compare_scalar(&ref, "loss", loss->data[0]);
    const double loss0 = loss->data[0];   /* the graph is reset below: the tensor does not survive it */
    compare_scalar(&ref, "mse", t.mse);
    compare_scalar(&ref, "kl", t.kl);
    compare_scalar(&ref, "ce", t.ce);
    compare_scalar(&ref, "ce_input", t.ce_input);
    CHECK(t.n == BATCH && t.n_labelled == 2);
    CHECK_NEAR(t.loss, t.mse + BETA_KL * t.kl + t.ce + c.classifier_input_weight * t.ce_input, 1e-5 * fabs(t.loss));
    CHECK(c.classifier_input_weight > 0 ? t.ce_input > 0 : t.ce_input == 0);

    grad_scale = 0;
    for (int i = 0; i < ref.n; i++)
        if (!strncmp(ref.items[i].name, "grad.", 5))
            for (int64_t j = 0; j < ref.items[i].numel; j++) grad_scale = fmax(grad_scale, fabs(((const float *)ref.items[i].data)[j]));
    printf("largest gradient %.4g; absolute floor for gradients %.3g\n", grad_scale, ATOL_GRAD * grad_scale);

    /* the gradients; every parameter of the model must receive a non-zero one somewhere */
    for (int i = 0; i < P->n_params; i++) {
        char name[256];
        snprintf(name, sizeof name, "grad.%s", P->params[i]->name);
        compare(&ref, name, P->params[i]->t.grad, P->params[i]->t.numel);
        double gmax = 0;
        for (int64_t j = 0; j < P->params[i]->t.numel; j++) gmax = fmax(gmax, fabs(P->params[i]->t.grad[j]));
        CHECK_MSG(gmax > 0, "parameter %s receives no gradient", P->params[i]->name);
    }

    /* the intermediate tensors, through the inference helpers */
    pd_graph_reset(g);
    vox = bundle_tensor(g, &in, "voxels");
    pd_tensor *mu = NULL, *logvar = NULL, *recon = NULL, *logits = NULL;
    CHECK_MSG(pd_sc_vae_encode(g, m, vox, &mu, &logvar) == PD_OK, "%s", pd_last_error());
    if (mu && logvar) {
        compare(&ref, "mu", mu->data, mu->numel);
        compare(&ref, "logvar", logvar->data, logvar->numel);
        eps = bundle_tensor(g, &in, "eps");
        pd_tensor *z = pd_tensor_new_like(g, mu);
        for (int64_t i = 0; i < z->numel; i++) z->data[i] = mu->data[i] + pd_exp(logvar->data[i] / 2) * eps->data[i];
        CHECK_MSG(pd_sc_vae_decode_classify(g, m, z, &recon, &logits) == PD_OK, "%s", pd_last_error());
        if (recon && logits) {
            compare(&ref, "recon", recon->data, recon->numel);
            compare(&ref, "logits", logits->data, logits->numel);
        }
    }

    /* evaluation mode: z = mu */
    pd_graph_reset(g);
    pd_graph_set_training(g, 0);
    vox = bundle_tensor(g, &in, "voxels");
    pd_tensor *loss_eval = pd_sc_vae_loss(g, m, vox, aa, NULL, 1, 2, NORMALISER, NULL);
    CHECK_MSG(loss_eval != NULL, "eval forward: %s", pd_last_error());
    if (loss_eval) compare_scalar(&ref, "loss_eval", loss_eval->data[0]);
    pd_graph_set_training(g, 1);

    /* one weight moved: the loss must change, and change as torch's did */
    pd_graph_reset(g);
    vox = bundle_tensor(g, &in, "voxels");
    eps = bundle_tensor(g, &in, "eps");
    pd_param *w = pd_params_find(P, "enc.stem.conv.weight");
    CHECK(w != NULL);
    if (w) w->t.data[0] += (pd_real)PERTURB_DELTA;
    pd_tensor *loss_p = pd_sc_vae_loss_eps(g, m, vox, aa, eps, NORMALISER, NULL);
    CHECK(loss_p != NULL);
    if (loss_p) {
        compare_scalar(&ref, "loss_perturbed", loss_p->data[0]);
        CHECK_MSG(fabs(loss_p->data[0] - loss0) > 100 * RTOL * fabs(loss0),
                  "perturbing one weight moved the loss only from %.9g to %.9g", loss0, (double)loss_p->data[0]);
    }
    pd_graph_destroy(g);
    pd_sc_vae_destroy(m);
    scb_free(&in);
    scb_free(&ref);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4 || (strcmp(argv[1], "write") != 0 && strcmp(argv[1], "check") != 0)) {
        fprintf(stderr, "usage: %s write DIR [CLASSIFIER_INPUT_WEIGHT] | check DIR\n", argv[0]);
        return 2;
    }
    if (!strcmp(argv[1], "write")) return write_inputs(argv[2], argc == 4 ? atof(argv[3]) : 0.0);
    if (check_against(argv[2]) != 0) pd_test_failures++;
    return pd_test_finish("sc_vae parity (" PD_REAL_NAME ")");
}
