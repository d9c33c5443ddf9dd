/* test_sc_vae.c — the side-chain VAE as the training engine will drive it (float build):
 * configuration from run files, parameter layout and units, inference shapes, deterministic
 * noise, splitting a batch over "ranks" by global counts, FSDP-style unit gathering, and a
 * 30-step AdamW overfit on structured voxels. PyTorch parity and finite differences are in
 * test_sc_vae_parity.c and test_sc_vae_grad64.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/rng.h"
#include "core/timer.h"
#include "models/sc_vae.h"
#include "nn/ops.h"
#include "nn/optim.h"
#include "test.h"

/* ---- configuration ---------------------------------------------------------------------------- */

static void test_config(void)
{
    pd_config cfg;
    pd_sc_vae_config c;
    CHECK(pd_config_defaults(&cfg, 0, NULL) == PD_OK);
    CHECK(pd_sc_vae_config_from(&cfg, &c) == PD_OK);
    CHECK(c.voxel == 16 && c.width == 8 && c.latent == 16 && fabs(c.beta_kl - 1e-3) < 1e-15);
    pd_config_free(&cfg);

    char *sets[] = {"model.sc_vae.width=4", "featurize.voxel_size=8", "model.sc_vae.latent=6",
                    "model.sc_vae.beta_kl=0.5"};
    CHECK(pd_config_defaults(&cfg, 4, sets) == PD_OK);
    CHECK(pd_sc_vae_config_from(&cfg, &c) == PD_OK);
    CHECK(c.voxel == 8 && c.width == 4 && c.latent == 6 && c.beta_kl == 0.5);
    pd_config_free(&cfg);

    /* the model's own check (the run-file loader may reject such values first) */
    pd_sc_vae_config_default(&c);
    c.voxel = 12;
    CHECK(pd_sc_vae_config_check(&c) == PD_ERR_CONFIG);
    CHECK_MSG(strstr(pd_last_error(), "featurize.voxel_size") != NULL, "message: %s", pd_last_error());
    pd_sc_vae_config_default(&c);
    c.latent = 0;
    CHECK(pd_sc_vae_create(&(pd_sc_vae *){NULL}, &c, &(pd_model_opts){.seed = 1}) == PD_ERR_CONFIG);

    /* groups: largest divisor of C that is <= min(8, C/4), else 1 */
    pd_sc_vae_config_default(&c);
    int channels[] = {1, 2, 4, 6, 8, 12, 16, 24, 128};
    int expect[] = {1, 1, 1, 1, 2, 3, 4, 6, 8};
    for (int i = 0; i < 9; i++)
        CHECK_MSG(pd_sc_vae_groups(&c, channels[i]) == expect[i], "groups(%d) = %d, expected %d", channels[i],
                  pd_sc_vae_groups(&c, channels[i]), expect[i]);
}

/* Parameters of one stage (first layer k³ taps, GroupNorm, residual block of two k=2 convs and
 * two GroupNorms), counted from the architecture description, independently of the model code. */
static int64_t stage_count(int64_t cin, int64_t cout, int64_t taps)
{
    return cin * cout * taps + cout + 2 * cout + 2 * (cout * cout * 8 + cout) + 2 * 2 * cout;
}

/* Stem and down stages: the encoder's trunk (and the classifier's own copy). */
static int64_t trunk_count(int levels, int w)
{
    int64_t n = stage_count(1, w, 8);
    for (int k = 0; k < levels; k++) n += stage_count((int64_t)w << k, (int64_t)w << (k + 1), 8);
    return n;
}

static int64_t expected_count(int V, int w, int L, int own_trunk)
{
    int levels = 0;
    while ((1 << levels) < V) levels++;
    int64_t top = (int64_t)w * V, n = trunk_count(levels, w);
    if (own_trunk) n += trunk_count(levels, w);     /* the classifier's trunk */
    n += top * 2 * L + 2 * L;                        /* latent head */
    n += stage_count(L, top, 1);                     /* decoder projection */
    for (int k = levels; k > 0; k--) n += stage_count((int64_t)w << k, (int64_t)w << (k - 1), 8);
    n += w + 1;                                      /* output 1×1 conv */
    n += top * 20 + 20;                              /* classifier */
    return n;
}

static void test_layout(void)
{
    struct { int V, w, L, own; } sizes[] = {{16, 8, 16, 1}, {16, 16, 16, 1}, {4, 2, 4, 1}, {16, 8, 16, 0}};
    for (int s = 0; s < 4; s++) {
        pd_sc_vae_config c;
        pd_sc_vae_config_default(&c);
        c.voxel = sizes[s].V;
        c.width = sizes[s].w;
        c.latent = sizes[s].L;
        c.classifier_own_trunk = sizes[s].own;
        pd_sc_vae *m;
        CHECK(pd_sc_vae_create(&m, &c, &(pd_model_opts){.seed = 1, .pad_multiple = 4}) == PD_OK);
        if (!m) continue;
        pd_params *P = pd_sc_vae_params(m);
        int levels = 0;
        while ((1 << levels) < c.voxel) levels++;
        const int64_t want = expected_count(c.voxel, c.width, c.latent, c.classifier_own_trunk);
        CHECK_MSG(pd_params_count(P) == want, "V %d width %d own trunk %d: %lld parameters, expected %lld", c.voxel,
                  c.width, c.classifier_own_trunk, (long long)pd_params_count(P), (long long)want);
        /* stem, downs, head, projection, ups, output, [classifier stem, downs,] classifier; nothing in "rest" */
        CHECK_MSG(P->n_units == 2 * levels + 5 + (c.classifier_own_trunk ? levels + 1 : 0), "%d units", P->n_units);
        for (int u = 0; u < P->n_units; u++) CHECK(strcmp(P->units[u].name, "rest") != 0);
        printf("V %d width %d latent %d own trunk %d: %lld parameters in %d units\n", c.voxel, c.width, c.latent,
               c.classifier_own_trunk,
               (long long)pd_params_count(P), P->n_units);
        /* PyTorch default init: GroupNorm γ = 1, conv weights within ±1/sqrt(fan_in) */
        pd_param *gn = pd_params_find(P, "enc.stem.gn.weight"), *w = pd_params_find(P, "enc.down.0.conv.weight");
        CHECK(gn && gn->t.data[0] == 1);
        if (w) {
            double bound = 1 / sqrt((double)c.width * 8), mx = 0;
            for (int64_t i = 0; i < w->t.numel; i++) mx = fmax(mx, fabs(w->t.data[i]));
            CHECK(mx <= bound && mx > 0.5 * bound);
        }
        pd_sc_vae_destroy(m);
    }
}

/* ---- a small model and structured voxels --------------------------------------------------------- */

enum { V = 8, WIDTH = 4, LATENT = 8, N_RES = 16, CELLS = V * V * V };

/* Residue r: class k = r % 4 puts a Gaussian blob (σ 1.2 cells) at one of four corners of the
 * grid, with amplitude varying per residue and a little noise; its amino acid is 5k. */
static void structured_voxels(float *vox, int32_t *aa, int n, uint64_t seed)
{
    pd_rng rng;
    pd_rng_init(&rng, seed, 0, 0, PD_RNG_NOISE);
    const double centres[4][3] = {{2, 2, 2}, {5, 5, 2}, {2, 5, 5}, {5, 2, 5}};
    for (int r = 0; r < n; r++) {
        int k = r % 4;
        double amp = 0.8 + 0.4 * pd_rng_uniform(&rng);
        aa[r] = 5 * k;
        for (int i = 0; i < V; i++)
            for (int j = 0; j < V; j++)
                for (int l = 0; l < V; l++) {
                    double d2 = (i - centres[k][0]) * (i - centres[k][0]) + (j - centres[k][1]) * (j - centres[k][1]) +
                                (l - centres[k][2]) * (l - centres[k][2]);
                    vox[(size_t)r * CELLS + (i * V + j) * V + l] =
                        (float)(amp * exp(-d2 / (2 * 1.44)) + 0.02 * pd_rng_normal(&rng));
                }
    }
}

static pd_sc_vae *small_model(uint64_t seed)
{
    pd_sc_vae_config c;
    pd_sc_vae_config_default(&c);
    c.voxel = V;
    c.width = WIDTH;
    c.latent = LATENT;
    pd_sc_vae *m = NULL;
    CHECK_MSG(pd_sc_vae_create(&m, &c, &(pd_model_opts){.seed = seed}) == PD_OK, "%s", pd_last_error());
    return m;
}

static pd_tensor *voxel_tensor(pd_graph *g, const float *vox, int n)
{
    return pd_tensor_from_floats(g, 5, (int64_t[]){n, 1, V, V, V}, vox);
}

static double loss_value(pd_graph *g, pd_sc_vae *m, const float *vox, const int32_t *aa, int n, const uint64_t *ids,
                         uint64_t seed, uint64_t step)
{
    pd_graph_reset(g);
    pd_tensor *l = pd_sc_vae_loss(g, m, voxel_tensor(g, vox, n), aa, ids, seed, step, 0, NULL);
    CHECK_MSG(l != NULL, "%s", pd_last_error());
    return l ? l->data[0] : NAN;
}

static void test_inference_and_noise(void)
{
    pd_sc_vae *m = small_model(3);
    pd_graph *g;
    CHECK(pd_graph_create(&g, 0) == PD_OK);
    if (!m || !g) return;
    float vox[4 * CELLS];
    int32_t aa[4];
    structured_voxels(vox, aa, 4, 11);

    pd_tensor *mu, *logvar, *recon, *logits;
    pd_tensor *x = voxel_tensor(g, vox, 4);
    CHECK(pd_sc_vae_encode(g, m, x, &mu, &logvar) == PD_OK);
    CHECK(mu->ndim == 2 && mu->shape[0] == 4 && mu->shape[1] == LATENT && logvar->shape[1] == LATENT);
    CHECK(!mu->requires_grad && pd_tape_length(g) == 0);   /* inference records nothing */
    CHECK(pd_sc_vae_decode_classify(g, m, mu, &recon, &logits) == PD_OK);
    CHECK(recon->ndim == 5 && recon->shape[0] == 4 && recon->shape[1] == 1 && recon->shape[4] == V);
    CHECK(logits->ndim == 2 && logits->shape[0] == 4 && logits->shape[1] == 20);
    CHECK(pd_tape_length(g) == 0);

    /* wrong shapes fail with a message, not a crash */
    pd_graph_reset(g);
    pd_tensor *bad = pd_tensor_zeros(g, 5, (int64_t[]){2, 1, V, V, V / 2});
    CHECK(pd_sc_vae_encode(g, m, bad, &mu, &logvar) != PD_OK);
    CHECK_MSG(strstr(pd_last_error(), "voxel") != NULL, "%s", pd_last_error());
    pd_graph_reset(g);
    int32_t bad_aa[4] = {0, 1, 20, 3};
    CHECK(pd_sc_vae_loss(g, m, voxel_tensor(g, vox, 4), bad_aa, NULL, 1, 1, 0, NULL) == NULL);
    pd_graph_reset(g);

    /* noise: a function of (seed, step, residue id) only */
    double a = loss_value(g, m, vox, aa, 4, NULL, 5, 1), b = loss_value(g, m, vox, aa, 4, NULL, 5, 1);
    double other_step = loss_value(g, m, vox, aa, 4, NULL, 5, 2);
    CHECK(a == b);
    CHECK(a != other_step);
    pd_graph_set_training(g, 0);   /* evaluation: z = μ, no noise */
    double e1 = loss_value(g, m, vox, aa, 4, NULL, 5, 1), e2 = loss_value(g, m, vox, aa, 4, NULL, 9, 7);
    CHECK(e1 == e2);
    pd_graph_set_training(g, 1);
    pd_graph_destroy(g);
    pd_sc_vae_destroy(m);
}

/* Two "ranks" holding halves of a batch, normalising by the global count and keying the noise by
 * global residue ids, must add up to the whole batch on one rank: loss and every gradient. */
static void test_split_batch(void)
{
    pd_sc_vae *m = small_model(4);
    pd_graph *g;
    CHECK(pd_graph_create(&g, 0) == PD_OK);
    if (!m || !g) return;
    pd_params *P = pd_sc_vae_params(m);
    float vox[6 * CELLS];
    int32_t aa[6];
    structured_voxels(vox, aa, 6, 12);
    aa[4] = -1;
    uint64_t ids[6] = {100, 101, 102, 103, 104, 105};

    pd_params_zero_grad(P);
    pd_sc_vae_terms whole;
    pd_tensor *l = pd_sc_vae_loss(g, m, voxel_tensor(g, vox, 6), aa, ids, 8, 3, 0, &whole);
    CHECK(l && pd_backward(g, l) == PD_OK);
    pd_real *grad_whole = malloc((size_t)P->total * sizeof *grad_whole);
    memcpy(grad_whole, P->grad, (size_t)P->total * sizeof *grad_whole);

    pd_params_zero_grad(P);
    double sum = 0;
    int64_t correct = 0, labelled = 0;
    for (int half = 0; half < 2; half++) {
        pd_graph_reset(g);
        pd_sc_vae_terms t;
        l = pd_sc_vae_loss(g, m, voxel_tensor(g, vox + half * 3 * CELLS, 3), aa + half * 3, ids + half * 3, 8, 3, 6, &t);
        CHECK(l && pd_backward(g, l) == PD_OK);
        sum += l ? l->data[0] : NAN;
        correct += t.n_correct;
        labelled += t.n_labelled;
    }
    CHECK_NEAR(sum, whole.loss, 1e-5 * fabs(whole.loss));
    CHECK(labelled == whole.n_labelled && labelled == 5 && correct == whole.n_correct);
    double scale = 0, err = 0;
    int64_t worst = 0;
    for (int64_t i = 0; i < P->total; i++) {
        scale = fmax(scale, fabs(grad_whole[i]));
        if (fabs(grad_whole[i] - P->grad[i]) > err) err = fabs(grad_whole[i] - P->grad[i]), worst = i;
    }
    const char *where = "?";
    for (int i = 0; i < P->n_params; i++)
        if (worst >= P->params[i]->offset && worst < P->params[i]->offset + P->params[i]->t.numel) where = P->params[i]->name;
    /* f32: a conv bias gradient is a sum over N·V³·C terms that cancel, and the two halves add
     * them in another order (1e-4 relative seen); a broken contract (normaliser, noise ids) is
     * off by >= 1/6 of a residue's share */
    CHECK_MSG(err <= 1e-3 * scale, "gradients of the split batch differ by %g (scale %g) at %s: %g vs %g", err, scale,
              where, grad_whole[worst], P->grad[worst]);
    free(grad_whole);
    pd_graph_destroy(g);
    pd_sc_vae_destroy(m);
}

/* ---- FSDP-style units ---------------------------------------------------------------------------------- */

/* Hooks that behave like a sharded engine: a unit's parameters are valid only between its
 * before/after hooks (a fresh copy each time; NaN otherwise). Any use of a parameter outside
 * its unit, or of a view kept past the unit's end, turns the loss or the gradients into NaN. */
typedef struct unit_sim {
    pd_params *P;
    pd_real *master, *gathered, *poison;
    int forwards, backwards_begin, backwards_end, open;
} unit_sim;

static pd_status sim_gather(unit_sim *s, int unit)
{
    const pd_param_unit *u = &s->P->units[unit];
    memcpy(s->gathered + u->begin, s->master + u->begin, (size_t)u->size * sizeof(pd_real));
    pd_params_bind_unit(s->P, unit, s->gathered + u->begin, NULL);
    return PD_OK;
}

static pd_status sim_release(unit_sim *s, int unit)
{
    const pd_param_unit *u = &s->P->units[unit];
    for (int64_t i = 0; i < u->size; i++) s->gathered[u->begin + i] = NAN;
    pd_params_bind_unit(s->P, unit, s->poison + u->begin, NULL);
    return PD_OK;
}

static pd_status hook_before_forward(void *user, int unit) { ((unit_sim *)user)->forwards++; return sim_gather(user, unit); }
static pd_status hook_after_forward(void *user, int unit) { return sim_release(user, unit); }
static pd_status hook_before_backward(void *user, int unit) { ((unit_sim *)user)->backwards_begin++; return sim_gather(user, unit); }
static pd_status hook_after_backward(void *user, int unit) { ((unit_sim *)user)->backwards_end++; return sim_release(user, unit); }

static void test_units(void)
{
    pd_sc_vae *m = small_model(5);
    pd_graph *g;
    CHECK(pd_graph_create(&g, 0) == PD_OK);
    if (!m || !g) return;
    pd_params *P = pd_sc_vae_params(m);
    float vox[3 * CELLS];
    int32_t aa[3];
    structured_voxels(vox, aa, 3, 13);

    pd_params_zero_grad(P);
    pd_tensor *l = pd_sc_vae_loss(g, m, voxel_tensor(g, vox, 3), aa, NULL, 8, 3, 0, NULL);
    CHECK(l && pd_backward(g, l) == PD_OK);
    double plain = l ? l->data[0] : NAN;
    pd_real *grad_plain = malloc((size_t)P->total * sizeof(pd_real));
    memcpy(grad_plain, P->grad, (size_t)P->total * sizeof(pd_real));

    unit_sim s = {.P = P};
    s.master = malloc((size_t)P->total * sizeof(pd_real));
    s.gathered = malloc((size_t)P->total * sizeof(pd_real));
    s.poison = malloc((size_t)P->total * sizeof(pd_real));
    memcpy(s.master, P->data, (size_t)P->total * sizeof(pd_real));
    for (int64_t i = 0; i < P->total; i++) s.poison[i] = s.gathered[i] = NAN;
    for (int u = 0; u < P->n_units; u++) pd_params_bind_unit(P, u, s.poison + P->units[u].begin, NULL);
    pd_unit_hooks hooks = {hook_before_forward, hook_after_forward, hook_before_backward, hook_after_backward, &s};
    pd_graph_reset(g);
    pd_graph_set_unit_hooks(g, &hooks);
    pd_params_zero_grad(P);
    l = pd_sc_vae_loss(g, m, voxel_tensor(g, vox, 3), aa, NULL, 8, 3, 0, NULL);
    CHECK(l && pd_backward(g, l) == PD_OK);
    CHECK_MSG(l && l->data[0] == plain, "loss with unit gathering %.9g, plain %.9g", l ? l->data[0] : NAN, plain);
    double err = 0;
    for (int64_t i = 0; i < P->total; i++) err = fmax(err, isnan(P->grad[i]) ? INFINITY : fabs(P->grad[i] - grad_plain[i]));
    CHECK_MSG(err == 0, "gradients with unit gathering differ by %g", err);
    /* the trunk runs twice (encoder, classifier): its units are entered twice */
    int levels = 3, trunk = 1 + levels, decoder = 1 + levels;
    CHECK_MSG(s.forwards == 2 * trunk + 1 + decoder + 1 + 1, "%d unit forwards", s.forwards);
    CHECK(s.backwards_begin == s.forwards && s.backwards_end == s.forwards);
    pd_graph_set_unit_hooks(g, &(pd_unit_hooks){0});
    pd_params_bind_flat(P);
    memcpy(P->data, s.master, (size_t)P->total * sizeof(pd_real));
    free(s.master);
    free(s.gathered);
    free(s.poison);
    free(grad_plain);
    pd_graph_destroy(g);
    pd_sc_vae_destroy(m);
}

/* ---- overfit -------------------------------------------------------------------------------------------- */

static void test_overfit(void)
{
    pd_sc_vae *m = small_model(6);
    pd_graph *g;
    CHECK(pd_graph_create(&g, 0) == PD_OK);
    if (!m || !g) return;
    pd_params *P = pd_sc_vae_params(m);
    float vox[N_RES * CELLS];
    int32_t aa[N_RES];
    structured_voxels(vox, aa, N_RES, 14);
    pd_adamw opt;
    pd_adamw_config ac;
    pd_adamw_config_default(&ac);
    CHECK(pd_adamw_init(&opt, P, &ac, 0, P->total) == PD_OK);
    double t0 = pd_now(), first = 0, last = 0;
    pd_sc_vae_terms t = {0}, first_terms = {0};
    for (int step = 0; step < 30; step++) {
        pd_graph_reset(g);
        pd_params_zero_grad(P);
        pd_tensor *l = pd_sc_vae_loss(g, m, voxel_tensor(g, vox, N_RES), aa, NULL, 1, (uint64_t)step, 0, &t);
        CHECK_MSG(l && pd_backward(g, l) == PD_OK, "step %d: %s", step, pd_last_error());
        if (!l) break;
        pd_adamw_step(&opt, P->data, P->grad, 1e-2, 1);
        if (step == 0) first = t.loss, first_terms = t;
        last = t.loss;
        if (step % 10 == 0 || step == 29)
            printf("step %2d loss %.5f (mse %.5f kl %.3f ce %.4f acc %.2f)\n", step, t.loss, t.mse, t.kl, t.ce, t.acc);
    }
    printf("overfit: loss %.5f -> %.5f (x%.1f lower) in %.2f s\n", first, last, first / last, pd_now() - t0);
    /* 30 steps learn the output level and the class prior (CE -> ln 4), not yet the classes:
     * that takes ~100+ steps (docs/models/sc_vae.md) */
    CHECK_MSG(last < first / 2.5, "30 AdamW steps only took the loss from %.5f to %.5f", first, last);
    CHECK_MSG(t.mse < first_terms.mse / 10 && t.ce < first_terms.ce / 2, "mse %.5f -> %.5f, ce %.4f -> %.4f",
              first_terms.mse, t.mse, first_terms.ce, t.ce);
    pd_adamw_free(&opt);
    pd_graph_destroy(g);
    pd_sc_vae_destroy(m);
}

int main(void)
{
    test_config();
    test_layout();
    test_inference_and_noise();
    test_split_batch();
    test_units();
    test_overfit();
    return pd_test_finish("sc_vae");
}
