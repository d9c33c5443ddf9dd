/* test_diffusion_parity.c — the DiT against its PyTorch reference (tests/reference/diffusion_ref.py,
 * float64): loss, predictions and EVERY parameter gradient of a tiny model (depth 2, width 16,
 * 2 heads, latents 4 and 6, two entries of 5 and 3 residues, one residue invalid) with all weights
 * random, adaLN and output layers included (at the default zero init most gradients would be
 * trivially zero). Also: a perturbed weight is detected, and the default adaLN-Zero block is the
 * identity exactly. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../nn/bundle.h"
#include "core/rng.h"
#include "models/diffusion.h"
#include "nn/ops.h"
#include "test.h"
#include "test_diffusion_util.h"

/* f32 against float64: 1e-5 of each tensor's largest value. Gradients are sums over ~50 residue
 * terms through two blocks; f32 rounding of those sums (~1e-7 relative per operation, a few
 * hundred operations deep) stays near 1e-6 of the largest term, so 1e-5 leaves a margin of ~10
 * while a wrong formula is off by orders of magnitude more (see the perturbation check). The
 * absolute floor only serves tensors whose reference is exactly zero (none here, checked). */
#define RTOL 1e-5
#define ATOL 1e-30

static const int lengths[2] = {5, 3};

typedef struct parity_case {
    pd_diffusion_config cfg;
    tdu_batch tb;
    float atom14[8 * 14 * 3];   /* a made-up backbone (geometry cases) */
    uint8_t chain[8];
    int32_t t[2];
    int32_t tokens[8];
    float noise[8 * 4];
    double normaliser;
} parity_case;

/* Every parameter ~ U(-b, b): b = 1/sqrt(fan_in) for weights (adaLN and output too), 0.2 for
 * biases, 0.5 for the amino-acid table. */
static void randomise(pd_diffusion *m, uint64_t seed)
{
    pd_params *P = pd_diffusion_params(m);
    for (int i = 0; i < P->n_params; i++) {
        pd_param *p = P->params[i];
        pd_rng r;
        pd_rng_init(&r, seed, 0, pd_fnv1a64(p->name, strlen(p->name)), PD_RNG_INIT);
        double b = p->t.ndim == 2 ? 1.0 / sqrt((double)p->t.shape[1]) : 0.2;
        if (strstr(p->name, "aa_embed")) b = 0.5;
        for (int64_t k = 0; k < p->t.numel; k++) p->t.data[k] = (pd_real)(b * (2 * pd_rng_uniform(&r) - 1));
    }
}

static void make_case(parity_case *c, pd_diffusion_target target, int geometry, double sequence_loss, int pair_values,
                      int environment, int env_layers, int seq_head)
{
    memset(c, 0, sizeof *c);
    c->cfg = (pd_diffusion_config){.depth = 2, .width = 16, .heads = 2, .timesteps = 1000, .sc_latent = 4, .bb_latent = 6,
                                   .target = target, .geometry = geometry, .sequence_loss = sequence_loss,
                                   .pair_values = pair_values, .environment = environment,
                                   .environment_width = 8, .environment_layers = env_layers, .sequence_head = seq_head};
    tdu_batch_make(&c->tb, 2, lengths, 4, 6, 99);
    c->tb.valid[2] = 0;                         /* entry 0, residue 2: no key, no loss */
    c->t[0] = 17;
    c->t[1] = 803;
    const int32_t tokens[8] = {3, PD_DIFFUSION_TOKEN_MASK, 7, PD_DIFFUSION_TOKEN_UNKNOWN, 19,
                               PD_DIFFUSION_TOKEN_MASK, 0, PD_DIFFUSION_TOKEN_MASK};
    memcpy(c->tokens, tokens, sizeof tokens);
    pd_rng r;
    pd_rng_init(&r, 5, 0, 0, PD_RNG_NOISE);
    for (int i = 0; i < 8 * 4; i++) c->noise[i] = (float)pd_rng_normal(&r);
    c->normaliser = 11.0;                       /* a "global" count larger than the 7 local residues */
    /* a helix-like backbone with jitter; entry 0 holds two chains (residues 0-2 and 3-4) so the
     * dihedrals stop at the chain break and the relative position crosses chains */
    for (int i = 0; i < 8; i++) {
        const double a = 1.745 * i, ca[3] = {2.3 * cos(a), 2.3 * sin(a), 1.5 * i};
        const double dn[3] = {-1.2, 0.5, -0.3}, dc[3] = {1.1, 0.6, 0.4};
        for (int k = 0; k < 3; k++) {
            c->atom14[i * 42 + k] = (float)(ca[k] + dn[k] + 0.3 * pd_rng_normal(&r));
            c->atom14[i * 42 + 3 + k] = (float)ca[k];
            c->atom14[i * 42 + 6 + k] = (float)(ca[k] + dc[k] + 0.3 * pd_rng_normal(&r));
        }
        for (int k = 9; k < 42; k++) c->atom14[i * 42 + k] = NAN;
        const double dox[3] = {0.6, -1.1, 0.9};   /* O (read by the environment only); residue 6 has none */
        for (int k = 0; k < 3 && i != 6; k++) c->atom14[i * 42 + 9 + k] = (float)(ca[k] + dc[k] + dox[k]);
        c->chain[i] = i >= 3 && i < 5;
    }
    c->tb.b.atom14 = c->atom14;
    c->tb.b.chain = c->chain;
}

static int write_inputs(const char *path, const parity_case *c, pd_diffusion *m)
{
    FILE *f = tdu_bundle_open(path);
    if (!f) return -1;
    const pd_diffusion_config *k = &c->cfg;
    int32_t config[13] = {k->depth, k->width, k->heads, k->timesteps, k->sc_latent, k->bb_latent, (int32_t)k->target,
                          k->geometry, k->pair_values, k->environment, k->environment_width, k->environment_layers,
                          k->sequence_head};
    int32_t offset[3], valid[8];
    for (int i = 0; i < 3; i++) offset[i] = (int32_t)c->tb.offset[i];
    for (int i = 0; i < 8; i++) valid[i] = c->tb.valid[i];
    float normaliser = (float)c->normaliser;
    tdu_bundle_i32(f, "config", 1, (int64_t[]){13}, config);
    if (k->geometry) {
        int32_t chain[8];
        for (int i = 0; i < 8; i++) chain[i] = c->chain[i];
        tdu_bundle_f32(f, "atom14", 2, (int64_t[]){8, 42}, c->atom14);
        tdu_bundle_i32(f, "chain", 1, (int64_t[]){8}, chain);
    }
    tdu_bundle_i32(f, "offset", 1, (int64_t[]){3}, offset);
    tdu_bundle_f32(f, "sc_mu", 2, (int64_t[]){8, 4}, c->tb.sc_mu);
    tdu_bundle_f32(f, "bb_mu", 2, (int64_t[]){8, 6}, c->tb.bb_mu);
    tdu_bundle_f32(f, "noise", 2, (int64_t[]){8, 4}, c->noise);
    tdu_bundle_i32(f, "t", 1, (int64_t[]){2}, c->t);
    tdu_bundle_i32(f, "tokens", 1, (int64_t[]){8}, c->tokens);
    tdu_bundle_i32(f, "valid", 1, (int64_t[]){8}, valid);
    tdu_bundle_f32(f, "normaliser", 1, (int64_t[]){1}, &normaliser);
    if (k->sequence_loss > 0) {   /* model.diffusion.sequence_loss: the weight and the labels */
        float w = (float)k->sequence_loss;
        int32_t aa[8];
        for (int i = 0; i < 8; i++) aa[i] = c->tb.aa[i];
        tdu_bundle_f32(f, "sequence_loss", 1, (int64_t[]){1}, &w);
        tdu_bundle_i32(f, "aa", 1, (int64_t[]){8}, aa);
    }
    pd_params *P = pd_diffusion_params(m);
    for (int i = 0; i < P->n_params; i++) {
        char name[160];
        snprintf(name, sizeof name, "param.%s", P->params[i]->name);
        tdu_bundle_real(f, name, P->params[i]->t.ndim, P->params[i]->t.shape, P->params[i]->t.data);
    }
    return tdu_bundle_close(f);
}

/* max|a - b| / max|b| of n values against a float item; INFINITY if missing. */
static double rel_error(const pd_bundle *b, const char *name, const pd_real *a, int64_t n, double *scale_out)
{
    for (int i = 0; i < b->n; i++) {
        const pd_bundle_item *it = &b->items[i];
        if (strcmp(it->name, name) != 0) continue;
        if (it->numel != n || it->dtype != PD_BUNDLE_F32) return INFINITY;
        const float *ref = it->data;
        double err = 0, scale = 0;
        for (int64_t k = 0; k < n; k++) {
            err = fmax(err, fabs((double)a[k] - ref[k]));
            scale = fmax(scale, fabs((double)ref[k]));
        }
        if (scale_out) *scale_out = scale;
        return err / (scale + ATOL);
    }
    return INFINITY;
}

/* C loss, gradients and predictions of the case; compares everything against the reference.
 * Returns the number of quantities beyond tolerance; report = 1 makes each a test failure. */
static int compare(pd_diffusion *m, const parity_case *c, const pd_bundle *ref, int report, double *worst_out)
{
    pd_graph *g;
    if (pd_graph_create(&g, 0) != PD_OK) return 1000;
    pd_params *P = pd_diffusion_params(m);
    pd_params_zero_grad(P);
    pd_diffusion_terms terms;
    pd_tensor *loss = pd_diffusion_loss_given(g, m, &c->tb.b, c->t, c->tokens, c->noise, c->normaliser, &terms);
    int bad = 0;
    double worst = 0;
    if (!loss || pd_backward(g, loss) != PD_OK) {
        fprintf(stderr, "C loss failed: %s\n", pd_last_error());
        pd_graph_destroy(g);
        return 1000;
    }
    double e = rel_error(ref, "loss", loss->data, 1, NULL);
    worst = fmax(worst, e);
    if (e > RTOL) {
        bad++;
        if (report) CHECK_MSG(0, "loss %.9g: relative error %.3g", (double)loss->data[0], e);
    }
    if (report) CHECK(terms.n_residues == 7 && terms.n_revealed == 4);
    for (int i = 0; i < P->n_params; i++) {
        char name[160];
        snprintf(name, sizeof name, "grad.%s", P->params[i]->name);
        double scale = 0;
        e = rel_error(ref, name, P->params[i]->t.grad, P->params[i]->t.numel, &scale);
        worst = fmax(worst, e);
        if (report && !(scale > 0)) CHECK_MSG(0, "%s: the reference gradient is zero: the test shows nothing", name);
        if (e > RTOL) {
            bad++;
            if (report) CHECK_MSG(0, "%s: relative error %.3g (scale %.3g)", name, e, scale);
        }
    }
    /* predictions through the inference path */
    pd_graph_reset(g);
    float pred_f[8 * 4], x_t[8 * 4];
    const pd_schedule *s = pd_diffusion_get_schedule(m);
    for (int e2 = 0; e2 < 2; e2++) {
        double ab = pd_schedule_alpha_bar(s, c->t[e2]);
        for (int64_t r = c->tb.offset[e2]; r < c->tb.offset[e2 + 1]; r++)
            for (int j = 0; j < 4; j++)
                x_t[r * 4 + j] = (float)(sqrt(ab) * c->tb.sc_mu[r * 4 + j] + sqrt(1 - ab) * c->noise[r * 4 + j]);
    }
    pd_diffusion_cond cond = {.n_entries = 2, .offset = c->tb.offset, .bb_mu = c->tb.bb_mu, .tokens = c->tokens,
                              .valid = c->tb.valid, .atom14 = c->atom14, .chain = c->chain};
    const int hidden = c->cfg.sequence_head == PD_SEQ_HEAD_HIDDEN;
    float logits_f[8 * 20];
    if (pd_diffusion_predict_seq(g, m, &cond, x_t, c->t, pred_f, hidden ? logits_f : NULL) != PD_OK) {
        bad++;
        if (report) CHECK_MSG(0, "predict: %s", pd_last_error());
    } else {
        pd_real pred[8 * 4];
        for (int i = 0; i < 32; i++) pred[i] = pred_f[i];
        e = rel_error(ref, "pred", pred, 32, NULL);
        worst = fmax(worst, e);
        if (e > RTOL) {
            bad++;
            if (report) CHECK_MSG(0, "predictions: relative error %.3g", e);
        }
        if (hidden) {   /* the hidden head's logits through the inference path (what design reads) */
            pd_real logits[8 * 20];
            for (int i = 0; i < 160; i++) logits[i] = logits_f[i];
            e = rel_error(ref, "seq_logits", logits, 160, NULL);
            worst = fmax(worst, e);
            if (e > RTOL) {
                bad++;
                if (report) CHECK_MSG(0, "hidden-head logits: relative error %.3g", e);
            }
        }
    }
    pd_graph_destroy(g);
    if (worst_out) *worst_out = worst;
    return bad;
}

static void run_parity(const char *dir, pd_diffusion_target target, int geometry, double sequence_loss, int pair_values,
                       int environment, int env_layers, int seq_head)
{
    parity_case c;
    make_case(&c, target, geometry, sequence_loss, pair_values, environment, env_layers, seq_head);
    pd_diffusion *m;
    CHECK(pd_diffusion_create(&m, &c.cfg, &(pd_model_opts){.seed = 3}) == PD_OK);
    if (!m) return;
    randomise(m, 77);
    char in[4200], out[4200], args[8600];
    snprintf(in, sizeof in, "%s/in_%s_%d_%d_%d_%d_%d_%d.bin", dir, pd_diffusion_target_name(target), geometry,
             sequence_loss > 0, pair_values, environment, env_layers, seq_head);
    snprintf(out, sizeof out, "%s/out_%s_%d_%d_%d_%d_%d_%d.bin", dir, pd_diffusion_target_name(target), geometry,
             sequence_loss > 0, pair_values, environment, env_layers, seq_head);
    snprintf(args, sizeof args, "loss '%s' '%s'", in, out);
    CHECK(write_inputs(in, &c, m) == 0);
    CHECK(tdu_run_reference(args) == 0);
    pd_bundle ref;
    if (pd_bundle_read(&ref, out) != PD_OK) {
        CHECK_MSG(0, "%s", pd_last_error());
    } else {
        double worst = 0;
        int bad = compare(m, &c, &ref, 1, &worst);
        printf("%s target%s%s%s%s%s%s: %d parameter tensors, loss, predictions: worst relative error %.3g (tolerance %g)\n",
               pd_diffusion_target_name(target), geometry ? ", backbone geometry" : "",
               sequence_loss > 0 ? ", sequence loss" : "", seq_head ? " on the hidden state" : "",
               pair_values ? ", pair values" : "", environment ? ", environment" : "", env_layers ? " + message passing" : "",
               pd_diffusion_params(m)->n_params, worst, RTOL);
        CHECK(bad == 0);
        /* the test can fail: one weight of the second block's attention (with the environment:
         * of the environment's neighbour MLP or its last message-passing layer, which the case
         * is about) moved by 1e-3 */
        pd_param *p = pd_params_find(pd_diffusion_params(m), seq_head      ? "seq_head.hidden.fc1.weight"
                                                             : env_layers  ? "env_embed.layers.1.msg.fc1.weight"
                                                             : environment ? "env_embed.fc1.weight"
                                                                           : "blocks.1.attn.qkv.weight");
        CHECK(p != NULL);
        if (p) {
            p->t.data[5] += 1e-3f;
            int detected = compare(m, &c, &ref, 0, &worst);
            CHECK_MSG(detected > 0, "a perturbed weight went unnoticed (worst relative error %.3g)", worst);
            printf("perturbed weight: %d quantities beyond tolerance (worst relative error %.3g)\n", detected, worst);
            p->t.data[5] -= 1e-3f;
        }
        pd_bundle_free(&ref);
    }
    pd_diffusion_destroy(m);
    tdu_batch_free(&c.tb);
}

/* adaLN-Zero: with the default init every block returns its input bit for bit and the
 * prediction is exactly zero; with non-zero gates it does not. */
static void check_adaln_zero(void)
{
    pd_diffusion_config cfg = {.depth = 2, .width = 16, .heads = 2, .timesteps = 1000, .sc_latent = 4, .bb_latent = 6,
                               .target = PD_TARGET_EPS};
    pd_diffusion *m;
    CHECK(pd_diffusion_create(&m, &cfg, &(pd_model_opts){.seed = 3}) == PD_OK);
    if (!m) return;
    pd_graph *g;
    CHECK(pd_graph_create(&g, 0) == PD_OK);
    pd_tensor *x = pd_tensor_new3(g, 2, 5, 16), *c = pd_tensor_new3(g, 2, 5, 16);
    pd_rng r;
    pd_rng_init(&r, 1, 0, 0, PD_RNG_NOISE);
    for (int i = 0; i < 160; i++) {
        x->data[i] = (pd_real)pd_rng_normal(&r);
        c->data[i] = (pd_real)pd_rng_normal(&r);
    }
    uint8_t key_valid[10] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
    for (int l = 0; l < 2; l++) {
        pd_tensor *y = pd_diffusion_block(g, m, l, x, c, key_valid, NULL, NULL);
        CHECK(y && memcmp(y->data, x->data, 160 * sizeof(pd_real)) == 0);
    }
    tdu_batch tb;
    tdu_batch_make(&tb, 2, lengths, 4, 6, 5);
    int32_t tokens[8], t[2] = {0, 999};
    for (int i = 0; i < 8; i++) tokens[i] = i % 2 ? PD_DIFFUSION_TOKEN_MASK : tb.aa[i];
    pd_diffusion_cond cond = {.n_entries = 2, .offset = tb.offset, .bb_mu = tb.bb_mu, .tokens = tokens};
    float pred[32];
    CHECK(pd_diffusion_predict(g, m, &cond, tb.sc_mu, t, pred) == PD_OK);
    int zero = 1;
    for (int i = 0; i < 32; i++) zero &= pred[i] == 0.0f;
    CHECK_MSG(zero, "default-initialised prediction is not exactly zero");
    randomise(m, 8);
    pd_tensor *y = pd_diffusion_block(g, m, 0, x, c, key_valid, NULL, NULL);
    CHECK_MSG(y && memcmp(y->data, x->data, 160 * sizeof(pd_real)) != 0, "a block with non-zero gates is the identity");
    tdu_batch_free(&tb);
    pd_graph_destroy(g);
    pd_diffusion_destroy(m);
}

int main(void)
{
    check_adaln_zero();
    if (tdu_have_torch()) {
        printf("SKIP PyTorch parity: $PYTHON_REF cannot import torch (Debian: python3-torch)\n");
        return pd_test_failures ? pd_test_finish("test_diffusion_parity") : 77;
    }
    char *dir = tdu_tmpdir();
    CHECK(dir != NULL);
    if (dir) {
        run_parity(dir, PD_TARGET_EPS, 0, 0, 0, 0, 0, 0);
        run_parity(dir, PD_TARGET_X0, 0, 0, 0, 0, 0, 0);
        run_parity(dir, PD_TARGET_X0, 1, 0, 0, 0, 0, 0);      /* model.diffusion.geometry = "backbone" */
        run_parity(dir, PD_TARGET_X0, 1, 0.75, 0, 0, 0, 0);   /* model.diffusion.sequence_loss = 0.75 */
        run_parity(dir, PD_TARGET_X0, 1, 0.75, 1, 0, 0, 0);   /* model.diffusion.pair_values = true */
        /* model.diffusion.environment = 4: entry 0 has 3 other valid residues (one empty slot),
         * entry 1 two (two empty slots); residue 6 has no O */
        run_parity(dir, PD_TARGET_X0, 1, 0.75, 0, 4, 0, 0);
        /* model.diffusion.sequence_head = "hidden" on the same case */
        run_parity(dir, PD_TARGET_X0, 1, 0.75, 0, 4, 0, PD_SEQ_HEAD_HIDDEN);
        /* model.diffusion.environment_layers = 2 on the same case: empty slots read the residue
         * itself with weight 0; residue 2 (no backbone) has no neighbours */
        run_parity(dir, PD_TARGET_X0, 1, 0.75, 0, 4, 2, 0);
    }
    tdu_rmdir(dir);
    return pd_test_finish("test_diffusion_parity");
}
