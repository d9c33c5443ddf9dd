/* test_diffusion.c — the DiT as the engine and `design` use it: configuration from run files,
 * parameter layout, the loss's random draws (deterministic, keyed per entry), rank-count
 * independence of loss and gradients under a global normaliser, input checks, the sampler
 * adapter, and a 60-step AdamW overfit on latents with structure. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/rng.h"
#include "models/diffusion.h"
#include "nn/ops.h"
#include "nn/optim.h"
#include "test.h"
#include "test_diffusion_util.h"

static void check_config(void)
{
    pd_config cfg;
    pd_diffusion_config c;
    CHECK(pd_config_defaults(&cfg, 0, NULL) == PD_OK);
    CHECK(pd_diffusion_config_from(&cfg, &c) == PD_OK);
    CHECK(c.depth == 4 && c.width == 128 && c.heads == 4 && c.timesteps == 1000);
    CHECK(c.sc_latent == 16 && c.bb_latent == 32 && c.target == PD_TARGET_EPS);
    pd_config_free(&cfg);

    char *sets[] = {"model.diffusion.target=\"x0\"", "model.sc_vae.latent=8", "model.bb_vae.latent=12",
                    "model.diffusion.timesteps=200"};
    CHECK(pd_config_defaults(&cfg, 4, sets) == PD_OK);
    CHECK(pd_diffusion_config_from(&cfg, &c) == PD_OK);
    CHECK(c.target == PD_TARGET_X0 && c.sc_latent == 8 && c.bb_latent == 12 && c.timesteps == 200);
    pd_config_free(&cfg);

    char *bad[] = {"model.diffusion.heads=3"};
    CHECK(pd_config_defaults(&cfg, 1, bad) == PD_OK);
    CHECK(pd_diffusion_config_from(&cfg, &c) == PD_ERR_CONFIG);
    CHECK_MSG(strstr(pd_last_error(), "model.diffusion.heads"), "%s", pd_last_error());
    pd_config_free(&cfg);

    /* the sequence loss reads x̂0 (target x0 only); pair values need the backbone geometry */
    char *seq_eps[] = {"model.diffusion.sequence_loss=1.0"};
    CHECK(pd_config_defaults(&cfg, 1, seq_eps) == PD_OK);
    CHECK(pd_diffusion_config_from(&cfg, &c) == PD_ERR_CONFIG);
    CHECK_MSG(strstr(pd_last_error(), "model.diffusion.target"), "%s", pd_last_error());
    pd_config_free(&cfg);
    char *pv[] = {"model.diffusion.pair_values=true"};
    CHECK(pd_config_defaults(&cfg, 1, pv) == PD_OK);
    CHECK(pd_diffusion_config_from(&cfg, &c) == PD_ERR_CONFIG);
    CHECK_MSG(strstr(pd_last_error(), "model.diffusion.geometry"), "%s", pd_last_error());
    pd_config_free(&cfg);
    char *both[] = {"model.diffusion.sequence_loss=0.5", "model.diffusion.target=\"x0\"", "model.diffusion.pair_values=true",
                    "model.diffusion.geometry=\"backbone\""};
    CHECK(pd_config_defaults(&cfg, 4, both) == PD_OK);
    CHECK(pd_diffusion_config_from(&cfg, &c) == PD_OK && c.sequence_loss == 0.5 && c.pair_values && c.geometry);
    pd_config_free(&cfg);
    /* the environment needs the backbone geometry too, and at most PD_DIFFUSION_ENV_MAX_K slots */
    char *env[] = {"model.diffusion.environment=24"};
    CHECK(pd_config_defaults(&cfg, 1, env) == PD_OK);
    CHECK(pd_diffusion_config_from(&cfg, &c) == PD_ERR_CONFIG);
    CHECK_MSG(strstr(pd_last_error(), "model.diffusion.geometry"), "%s", pd_last_error());
    pd_config_free(&cfg);
    char *env_ok[] = {"model.diffusion.environment=24", "model.diffusion.geometry=\"backbone\""};
    CHECK(pd_config_defaults(&cfg, 2, env_ok) == PD_OK);
    CHECK(pd_diffusion_config_from(&cfg, &c) == PD_OK && c.environment == 24 && c.environment_width == 64 &&
          c.environment_layers == 0);
    pd_config_free(&cfg);
    /* message passing reads the environment's graph: it needs model.diffusion.environment */
    char *mp_alone[] = {"model.diffusion.environment_layers=2", "model.diffusion.geometry=\"backbone\""};
    CHECK(pd_config_defaults(&cfg, 2, mp_alone) == PD_OK);
    CHECK(pd_diffusion_config_from(&cfg, &c) == PD_ERR_CONFIG);
    CHECK_MSG(strstr(pd_last_error(), "model.diffusion.environment"), "%s", pd_last_error());
    pd_config_free(&cfg);
    char *mp_ok[] = {"model.diffusion.environment_layers=2", "model.diffusion.environment=24",
                     "model.diffusion.geometry=\"backbone\""};
    CHECK(pd_config_defaults(&cfg, 3, mp_ok) == PD_OK);
    CHECK(pd_diffusion_config_from(&cfg, &c) == PD_OK && c.environment_layers == 2);
    pd_config_free(&cfg);
    char *frac[] = {"model.diffusion.design_fraction=1.5"};
    CHECK(pd_config_defaults(&cfg, 1, frac) == PD_ERR_CONFIG || pd_diffusion_config_from(&cfg, &c) == PD_ERR_CONFIG);
    CHECK_MSG(strstr(pd_last_error(), "design_fraction"), "%s", pd_last_error());
    pd_config_free(&cfg);

    pd_sampler_config sc;
    char *ddpm[] = {"design.sampler=\"ddpm\"", "design.steps=20"};
    CHECK(pd_config_defaults(&cfg, 2, ddpm) == PD_OK);
    CHECK(pd_sampler_config_from(&cfg, &sc) == PD_OK && sc.kind == PD_SAMPLER_DDPM && sc.steps == 20 && sc.eta == 0);
    pd_config_free(&cfg);
}

/* Parameter count of the architecture in docs/models/diffusion.md, per part. */
static int64_t expected_params(const pd_diffusion_config *c)
{
    int64_t W = c->width, sc = c->sc_latent, bb = c->bb_latent;
    int64_t embed = (sc + bb) * W + W + W * W + W + 22 * W + (256 + W) * W + W + W * W + W;
    int64_t block = 6 * W * W + 6 * W + 3 * W * W + 3 * W + W * W + W + 4 * W * W + 4 * W + 4 * W * W + W;
    int64_t final = 2 * W * W + 2 * W + sc * W + sc;
    return embed + c->depth * block + final;
}

static void check_layout(void)
{
    pd_diffusion_config c;
    pd_diffusion_config_default(&c);
    pd_diffusion *m;
    CHECK(pd_diffusion_create(&m, &c, &(pd_model_opts){.seed = 1, .pad_multiple = 4}) == PD_OK);
    if (!m) return;
    pd_params *P = pd_diffusion_params(m);
    CHECK_MSG(pd_params_count(P) == expected_params(&c), "%lld parameters, expected %lld",
              (long long)pd_params_count(P), (long long)expected_params(&c));
    printf("CPU default (depth 4, width 128): %lld parameters\n", (long long)pd_params_count(P));
    CHECK(P->n_units == c.depth + 2);
    CHECK(strcmp(P->units[0].name, "embed") == 0 && strcmp(P->units[1].name, "blocks.0") == 0 &&
          strcmp(P->units[P->n_units - 1].name, "final") == 0);
    for (int u = 0; u < P->n_units; u++) CHECK(P->units[u].size % (PD_PARAM_ALIGN * 4) == 0);
    pd_param *ada = pd_params_find(P, "blocks.3.adaLN.weight"), *qkv = pd_params_find(P, "blocks.3.attn.qkv.weight");
    CHECK(ada && ada->t.shape[0] == 6 * 128 && ada->t.shape[1] == 128);
    double sum_ada = 0, sum_qkv = 0;
    for (int64_t i = 0; ada && i < ada->t.numel; i++) sum_ada += fabs(ada->t.data[i]);
    for (int64_t i = 0; qkv && i < qkv->t.numel; i++) sum_qkv += fabs(qkv->t.data[i]);
    CHECK(sum_ada == 0 && sum_qkv > 0);
    pd_diffusion_destroy(m);
    c.width = 512;
    c.depth = 12;
    c.heads = 8;
    printf("research size (depth 12, width 512): %lld parameters\n", (long long)expected_params(&c));
}

static const int three[3] = {6, 9, 4};

static void check_draws(void)
{
    pd_diffusion_config c = {.depth = 1, .width = 8, .heads = 2, .timesteps = 1000, .sc_latent = 3, .bb_latent = 2};
    pd_diffusion *m;
    CHECK(pd_diffusion_create(&m, &c, &(pd_model_opts){.seed = 1}) == PD_OK);
    if (!m) return;
    tdu_batch tb;
    tdu_batch_make(&tb, 3, three, 3, 2, 4);
    int32_t t1[3], t2[3], k1[19], k2[19];
    float n1[57], n2[57];
    CHECK(pd_diffusion_draw(m, &tb.b, 9, 5, t1, k1, n1) == PD_OK);
    CHECK(pd_diffusion_draw(m, &tb.b, 9, 5, t2, k2, n2) == PD_OK);
    CHECK(memcmp(t1, t2, sizeof t1) == 0 && memcmp(k1, k2, sizeof k1) == 0 && memcmp(n1, n2, sizeof n1) == 0);
    CHECK(pd_diffusion_draw(m, &tb.b, 9, 6, t2, k2, n2) == PD_OK);
    CHECK(memcmp(n1, n2, sizeof n1) != 0);
    /* entry 2 alone (same key) draws what it drew inside the batch */
    pd_diffusion_batch one = tb.b;
    one.n_entries = 1;
    one.offset = tb.offset + 2;
    one.sc_mu = tb.sc_mu + 15 * 3;
    one.bb_mu = tb.bb_mu + 15 * 2;
    one.aa = tb.aa + 15;
    one.valid = tb.valid + 15;
    one.entry_keys = tb.keys + 2;
    CHECK(pd_diffusion_draw(m, &one, 9, 5, t2, k2, n2) == PD_OK);
    CHECK(t2[0] == t1[2] && memcmp(k2, k1 + 15, 4 * sizeof *k2) == 0 && memcmp(n2, n1 + 45, 12 * sizeof *n2) == 0);
    for (int i = 0; i < 19; i++)
        CHECK(k1[i] == PD_DIFFUSION_TOKEN_MASK || k1[i] == tb.aa[i]);
    tdu_batch_free(&tb);

    /* statistics over many entries: t ~ U{0..T-1}, reveal rate E[p] = 1/2, ε ~ N(0, 1) */
    enum { E = 2000, LEN = 10 };
    int lens[E];
    for (int e = 0; e < E; e++) lens[e] = LEN;
    tdu_batch_make(&tb, E, lens, 3, 2, 6);
    int32_t *t = malloc(E * sizeof *t), *tok = malloc(E * LEN * sizeof *tok);
    float *noise = malloc(E * LEN * 3 * sizeof *noise);
    CHECK(pd_diffusion_draw(m, &tb.b, 1, 0, t, tok, noise) == PD_OK);
    double tmean = 0, revealed = 0, nm = 0, nv = 0, all_or_none = 0;
    int tmin = 1000, tmax = -1;
    for (int e = 0; e < E; e++) {
        tmean += t[e];
        tmin = t[e] < tmin ? t[e] : tmin;
        tmax = t[e] > tmax ? t[e] : tmax;
        int shown = 0;
        for (int i = 0; i < LEN; i++) shown += tok[e * LEN + i] != PD_DIFFUSION_TOKEN_MASK;
        revealed += shown;
        all_or_none += shown == 0 || shown == LEN;
    }
    for (int i = 0; i < E * LEN * 3; i++) {
        nm += noise[i];
        nv += (double)noise[i] * noise[i];
    }
    tmean /= E;
    nm /= E * LEN * 3;
    nv = nv / (E * LEN * 3) - nm * nm;
    CHECK_MSG(fabs(tmean - 499.5) < 5 * 288.7 / sqrt(E) && tmin >= 0 && tmax <= 999 && tmax > 990 && tmin < 10,
              "t mean %g range %d..%d", tmean, tmin, tmax);
    CHECK_MSG(fabs(revealed / (E * LEN) - 0.5) < 0.03, "reveal rate %g", revealed / (E * LEN));
    /* p ~ U(0,1) per entry (not a fixed 1/2 per residue): all-or-none entries are common, P = 2/11 */
    CHECK_MSG(fabs(all_or_none / E - 2.0 / 11) < 0.03, "entries with all or no residue shown: %g", all_or_none / E);
    CHECK_MSG(fabs(nm) < 0.01 && fabs(nv - 1) < 0.02, "noise mean %g variance %g", nm, nv);

    /* model.diffusion.design_fraction = 0.3: about 30 % of the entries are drawn as design asks
     * (t = T - 1, nothing shown); the rest as before */
    pd_diffusion *d;
    c.design_fraction = 0.3;
    CHECK(pd_diffusion_create(&d, &c, &(pd_model_opts){.seed = 1}) == PD_OK);
    if (d) {
        CHECK(pd_diffusion_draw(d, &tb.b, 1, 0, t, tok, noise) == PD_OK);
        int design_like = 0, last = 0;
        for (int e = 0; e < E; e++) {
            int shown = 0;
            for (int i = 0; i < LEN; i++) shown += tok[e * LEN + i] != PD_DIFFUSION_TOKEN_MASK;
            design_like += t[e] == 999 && shown == 0;
            last += t[e] == 999;
        }
        CHECK_MSG(fabs((double)design_like / E - 0.3) < 0.04 && last - design_like < 10,
                  "design-like draws %d of %d (t = T-1: %d)", design_like, E, last);
        pd_diffusion_destroy(d);
    }
    free(t);
    free(tok);
    free(noise);
    tdu_batch_free(&tb);
    pd_diffusion_destroy(m);
}

/* Random non-zero weights (as the parity test) so that every parameter gets gradient. */
static void randomise(pd_diffusion *m, uint64_t seed)
{
    pd_params *P = pd_diffusion_params(m);
    for (int i = 0; i < P->n_params; i++) {
        pd_param *p = P->params[i];
        pd_rng r;
        pd_rng_init(&r, seed, 0, (uint64_t)i, PD_RNG_INIT);
        double b = p->t.ndim == 2 ? 1.0 / sqrt((double)p->t.shape[1]) : 0.2;
        for (int64_t k = 0; k < p->t.numel; k++) p->t.data[k] = (pd_real)(b * (2 * pd_rng_uniform(&r) - 1));
    }
}

/* One batch of three entries == entries {0, 1} on "rank 0" + entry {2} on "rank 1" with the
 * global residue count as normaliser: losses add up, gradients add up. */
static void check_rank_split(void)
{
    pd_diffusion_config c = {.depth = 2, .width = 16, .heads = 4, .timesteps = 1000, .sc_latent = 4, .bb_latent = 5};
    pd_diffusion *m;
    CHECK(pd_diffusion_create(&m, &c, &(pd_model_opts){.seed = 2}) == PD_OK);
    if (!m) return;
    randomise(m, 3);
    tdu_batch tb;
    tdu_batch_make(&tb, 3, three, 4, 5, 8);
    tb.valid[7] = 0;
    pd_params *P = pd_diffusion_params(m);
    pd_graph *g;
    CHECK(pd_graph_create(&g, 0) == PD_OK);
    double global = 18;
    pd_diffusion_terms whole, a, b;
    pd_params_zero_grad(P);
    pd_tensor *loss = pd_diffusion_loss(g, m, &tb.b, 4, 11, global, &whole);
    CHECK(loss && pd_backward(g, loss) == PD_OK);
    pd_real *grad_whole = malloc((size_t)P->total * sizeof *grad_whole);
    memcpy(grad_whole, P->grad, (size_t)P->total * sizeof *grad_whole);

    pd_params_zero_grad(P);
    pd_diffusion_batch part0 = tb.b, part1 = tb.b;
    part0.n_entries = 2;
    part1.n_entries = 1;
    part1.offset = tb.offset + 2;
    part1.sc_mu = tb.sc_mu + 15 * 4;
    part1.bb_mu = tb.bb_mu + 15 * 5;
    part1.aa = tb.aa + 15;
    part1.valid = tb.valid + 15;
    part1.entry_keys = tb.keys + 2;
    pd_graph_reset(g);
    loss = pd_diffusion_loss(g, m, &part0, 4, 11, global, &a);
    CHECK(loss && pd_backward(g, loss) == PD_OK);
    pd_graph_reset(g);
    loss = pd_diffusion_loss(g, m, &part1, 4, 11, global, &b);
    CHECK(loss && pd_backward(g, loss) == PD_OK);
    CHECK(whole.n_residues == 18 && a.n_residues + b.n_residues == 18);
    CHECK_MSG(pd_close(a.loss + b.loss, whole.loss, 1e-5, 0), "split loss %g + %g vs %g", a.loss, b.loss, whole.loss);
    double err = 0, scale = 0;
    for (int64_t i = 0; i < P->total; i++) {
        err = fmax(err, fabs(P->grad[i] - grad_whole[i]));
        scale = fmax(scale, fabs(grad_whole[i]));
    }
    CHECK_MSG(scale > 0 && err <= 1e-5 * scale, "split gradients differ: %g of %g", err, scale);
    free(grad_whole);

    /* at the default init the prediction is zero: the eps loss is the mean square of the draws */
    pd_diffusion *z;
    CHECK(pd_diffusion_create(&z, &c, &(pd_model_opts){.seed = 2}) == PD_OK);
    int32_t t[3], tok[19];
    float noise[19 * 4];
    CHECK(pd_diffusion_draw(z, &tb.b, 4, 11, t, tok, noise) == PD_OK);
    double sq = 0;
    for (int r = 0; r < 19; r++)
        for (int j = 0; j < 4; j++) sq += tb.valid[r] ? (double)noise[r * 4 + j] * noise[r * 4 + j] : 0;
    pd_graph_reset(g);
    loss = pd_diffusion_loss(g, z, &tb.b, 4, 11, 0, &whole);
    CHECK(loss && pd_close(loss->data[0], sq / (18 * 4), 1e-6, 0));

    /* input errors are sticky graph failures with a message */
    pd_graph_reset(g);
    tb.aa[3] = 23;
    CHECK(pd_diffusion_loss(g, z, &tb.b, 4, 11, 0, NULL) == NULL && pd_graph_status(g) != PD_OK);
    CHECK_MSG(strstr(pd_last_error(), "amino acid 23"), "%s", pd_last_error());
    tb.aa[3] = 1;
    pd_graph_reset(g);
    tok[4] = 22;
    CHECK(pd_diffusion_loss_given(g, z, &tb.b, t, tok, noise, 0, NULL) == NULL);
    CHECK_MSG(strstr(pd_last_error(), "token 22"), "%s", pd_last_error());
    pd_graph_reset(g);
    int64_t empty[3] = {0, 0, 5};
    pd_diffusion_batch e = tb.b;
    e.n_entries = 2;
    e.offset = empty;
    CHECK(pd_diffusion_loss(g, z, &e, 4, 11, 0, NULL) == NULL);
    CHECK_MSG(strstr(pd_last_error(), "entry 0"), "%s", pd_last_error());
    pd_diffusion_destroy(z);
    pd_graph_destroy(g);
    tdu_batch_free(&tb);
    pd_diffusion_destroy(m);
}

/* The sampler adapter: deterministic, and an entry's latents do not depend on the entries
 * sampled with it (attention stays inside an entry; noise is keyed by row id). */
static void check_sample(void)
{
    pd_diffusion_config c = {.depth = 2, .width = 16, .heads = 2, .timesteps = 100, .sc_latent = 4, .bb_latent = 5};
    pd_diffusion *m;
    CHECK(pd_diffusion_create(&m, &c, &(pd_model_opts){.seed = 2}) == PD_OK);
    if (!m) return;
    randomise(m, 5);
    tdu_batch tb;
    tdu_batch_make(&tb, 3, three, 4, 5, 8);
    int32_t tokens[19];
    uint64_t ids[19];
    for (int i = 0; i < 19; i++) {
        tokens[i] = i % 3 ? PD_DIFFUSION_TOKEN_MASK : tb.aa[i];
        ids[i] = 500 + (uint64_t)i;
    }
    pd_diffusion_cond cond = {.n_entries = 3, .offset = tb.offset, .bb_mu = tb.bb_mu, .tokens = tokens};
    pd_sampler_config sc;
    pd_sampler_config_default(&sc);
    sc.steps = 10;
    pd_graph *g;
    CHECK(pd_graph_create(&g, 0) == PD_OK);
    float x[19 * 4], y[19 * 4], one[4 * 4];
    CHECK(pd_diffusion_sample(g, m, &cond, &sc, 42, ids, x) == PD_OK);
    CHECK(pd_diffusion_sample(g, m, &cond, &sc, 42, ids, y) == PD_OK);
    CHECK(memcmp(x, y, sizeof x) == 0);
    int finite = 1;
    for (int i = 0; i < 19 * 4; i++) finite &= isfinite(x[i]);
    CHECK(finite);
    pd_diffusion_cond alone = {.n_entries = 1, .offset = tb.offset + 2, .bb_mu = tb.bb_mu + 15 * 5, .tokens = tokens + 15};
    CHECK(pd_diffusion_sample(g, m, &alone, &sc, 42, ids + 15, one) == PD_OK);
    /* equal up to f32 rounding: the padded length changes (9 -> 4) and with it GEMM shapes;
     * DDIM's first x0 estimate divides by sqrt(ᾱ) = 0.003, so allow 1e-4 of the latents' scale */
    double err = 0, scale = 0;
    for (int i = 0; i < 16; i++) {
        err = fmax(err, fabs(one[i] - x[15 * 4 + i]));
        scale = fmax(scale, fabs(x[15 * 4 + i]));
    }
    CHECK_MSG(err <= 1e-4 * scale, "entry 2 sampled alone differs by %g (scale %g)", err, scale);
    sc.kind = PD_SAMPLER_DDPM;
    CHECK(pd_diffusion_sample(g, m, &cond, &sc, 42, ids, y) == PD_OK);
    CHECK(memcmp(x, y, sizeof x) != 0);
    pd_graph_destroy(g);
    tdu_batch_free(&tb);
    pd_diffusion_destroy(m);
}

/* Latents with structure: sc = A bb + E[aa] (fixed A, E). 60 AdamW steps must clearly lower the
 * loss measured on fixed evaluation draws. */
static void check_overfit(void)
{
    pd_diffusion_config c = {.depth = 2, .width = 32, .heads = 2, .timesteps = 1000, .sc_latent = 4, .bb_latent = 6};
    pd_diffusion *m;
    CHECK(pd_diffusion_create(&m, &c, &(pd_model_opts){.seed = 7}) == PD_OK);
    if (!m) return;
    const int lens[4] = {24, 18, 30, 20};
    tdu_batch tb;
    tdu_batch_make(&tb, 4, lens, 4, 6, 12);
    pd_rng r;
    pd_rng_init(&r, 13, 0, 0, PD_RNG_INIT);
    float A[4 * 6], Etab[21 * 4];
    for (int i = 0; i < 24; i++) A[i] = (float)(pd_rng_normal(&r) / sqrt(6.0));
    for (int i = 0; i < 84; i++) Etab[i] = (float)pd_rng_normal(&r);
    for (int64_t n = 0; n < tb.offset[4]; n++)
        for (int j = 0; j < 4; j++) {
            double v = Etab[tb.aa[n] * 4 + j];
            for (int k = 0; k < 6; k++) v += A[j * 6 + k] * tb.bb_mu[n * 6 + k];
            tb.sc_mu[n * 4 + j] = (float)v;
        }
    pd_params *P = pd_diffusion_params(m);
    pd_adamw opt;
    pd_adamw_config ac;
    pd_adamw_config_default(&ac);
    CHECK(pd_adamw_init(&opt, P, &ac, 0, P->total) == PD_OK);
    pd_graph *g;
    CHECK(pd_graph_create(&g, 0) == PD_OK);
    double before = 0, after = 0;
    clock_t start = clock();
    for (int pass = 0; pass < 2; pass++) {
        double *acc = pass ? &after : &before;
        for (int s = 0; s < 16; s++) {
            pd_graph_reset(g);
            pd_diffusion_terms terms;
            int grad = pd_graph_set_grad(g, 0);
            CHECK(pd_diffusion_loss(g, m, &tb.b, 1000, (uint64_t)s, 0, &terms) != NULL);
            pd_graph_set_grad(g, grad);
            *acc += terms.loss / 16;
        }
        for (int step = 0; pass == 0 && step < 60; step++) {
            pd_graph_reset(g);
            pd_params_zero_grad(P);
            pd_tensor *loss = pd_diffusion_loss(g, m, &tb.b, 1, (uint64_t)step, 0, NULL);
            CHECK(loss && pd_backward(g, loss) == PD_OK);
            pd_adamw_step(&opt, P->data, P->grad, 3e-3, 1.0);
        }
    }
    double seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
    printf("overfit: evaluation loss %.4f -> %.4f after 60 AdamW steps (%.2f s CPU)\n", before, after, seconds);
    CHECK_MSG(after < 0.6 * before, "loss %g -> %g", before, after);
    CHECK(seconds < 15);
    pd_adamw_free(&opt);
    pd_graph_destroy(g);
    tdu_batch_free(&tb);
    pd_diffusion_destroy(m);
}

/* pd_diffusion_classify (design.classifier = "latent") is fc2(SiLU(fc1 z)) of the seq_head unit,
 * computed here in double from the stored weights; a model without the head is a config error. */
static void check_classify(void)
{
    pd_diffusion_config c;
    pd_diffusion_config_default(&c);
    c.depth = 1, c.width = 16, c.heads = 2, c.sc_latent = 4, c.bb_latent = 6;
    c.target = PD_TARGET_X0;
    pd_diffusion *plain = NULL, *m = NULL;
    CHECK(pd_diffusion_create(&plain, &c, &(pd_model_opts){.seed = 3}) == PD_OK);
    c.sequence_loss = 1.0;
    CHECK(pd_diffusion_create(&m, &c, &(pd_model_opts){.seed = 3}) == PD_OK);
    if (!m || !plain) return;
    randomise(m, 11);
    pd_graph *g = NULL;
    CHECK(pd_graph_create(&g, 0) == PD_OK);
    enum { N = 5 };
    float z[N * 4], logits[N * 20];
    for (int i = 0; i < N * 4; i++) z[i] = (float)sin(1.7 * i + 0.3);
    CHECK(pd_diffusion_classify(g, plain, z, N, logits) == PD_ERR_CONFIG);
    CHECK_MSG(strstr(pd_last_error(), "sequence_loss"), "%s", pd_last_error());
    CHECK(pd_diffusion_classify(g, m, z, N, logits) == PD_OK);
    pd_params *P = pd_diffusion_params(m);
    const pd_param *w1 = pd_params_find(P, "seq_head.fc1.weight"), *b1 = pd_params_find(P, "seq_head.fc1.bias");
    const pd_param *w2 = pd_params_find(P, "seq_head.fc2.weight"), *b2 = pd_params_find(P, "seq_head.fc2.bias");
    CHECK(w1 && b1 && w2 && b2);
    double worst = 0, scale = 0;
    for (int r = 0; w1 && b1 && w2 && b2 && r < N; r++) {
        double h[16];
        for (int k = 0; k < 16; k++) {
            double a = b1->t.data[k];
            for (int j = 0; j < 4; j++) a += w1->t.data[k * 4 + j] * z[r * 4 + j];
            h[k] = a / (1 + exp(-a));
        }
        for (int o = 0; o < 20; o++) {
            double a = b2->t.data[o];
            for (int k = 0; k < 16; k++) a += w2->t.data[o * 16 + k] * h[k];
            worst = fmax(worst, fabs(a - logits[r * 20 + o]));
            scale = fmax(scale, fabs(a));
        }
    }
    CHECK_MSG(scale > 0.1 && worst <= 1e-5 * scale, "classify: worst |C - reference| %.3g of %.3g", worst, scale);
    pd_graph_destroy(g);
    pd_diffusion_destroy(plain);
    pd_diffusion_destroy(m);
}

/* model.diffusion.sequence_head = "hidden": a config error without the sequence loss; the head's
 * logits come with every prediction and with the sampler's last call (what design.classifier =
 * "hidden" reads), the samples themselves are those of pd_diffusion_sample, and a model without
 * the head refuses to give them. (The head's values against PyTorch: test_diffusion_parity.) */
static void check_hidden_head(void)
{
    pd_diffusion_config c = {.depth = 2, .width = 16, .heads = 2, .timesteps = 100, .sc_latent = 4, .bb_latent = 5,
                             .target = PD_TARGET_X0, .sequence_head = PD_SEQ_HEAD_HIDDEN};
    CHECK(pd_diffusion_config_check(&c) == PD_ERR_CONFIG);
    CHECK_MSG(strstr(pd_last_error(), "sequence_loss"), "%s", pd_last_error());
    c.sequence_loss = 1.0;
    pd_diffusion *m = NULL, *plain = NULL;
    CHECK(pd_diffusion_create(&m, &c, &(pd_model_opts){.seed = 2}) == PD_OK);
    c.sequence_head = PD_SEQ_HEAD_LATENT;
    CHECK(pd_diffusion_create(&plain, &c, &(pd_model_opts){.seed = 2}) == PD_OK);
    if (!m || !plain) return;
    randomise(m, 6);
    CHECK(pd_params_find(pd_diffusion_params(m), "seq_head.hidden.fc2.weight") != NULL);
    CHECK(pd_params_find(pd_diffusion_params(plain), "seq_head.hidden.fc2.weight") == NULL);
    tdu_batch tb;
    tdu_batch_make(&tb, 3, three, 4, 5, 8);
    int32_t tokens[19], t[3] = {99, 99, 99};
    uint64_t ids[19];
    for (int i = 0; i < 19; i++) {
        tokens[i] = PD_DIFFUSION_TOKEN_MASK;
        ids[i] = 700 + (uint64_t)i;
    }
    pd_diffusion_cond cond = {.n_entries = 3, .offset = tb.offset, .bb_mu = tb.bb_mu, .tokens = tokens};
    pd_sampler_config sc;
    pd_sampler_config_default(&sc);
    sc.steps = 1;
    pd_graph *g;
    CHECK(pd_graph_create(&g, 0) == PD_OK);
    float x[19 * 4], y[19 * 4], pred[19 * 4], logits[19 * 20], again[19 * 20];
    CHECK(pd_diffusion_predict_seq(g, plain, &cond, tb.sc_mu, t, pred, logits) == PD_ERR_CONFIG);
    CHECK_MSG(strstr(pd_last_error(), "sequence_head"), "%s", pd_last_error());
    pd_graph_reset(g);
    CHECK(pd_diffusion_sample(g, m, &cond, &sc, 42, ids, x) == PD_OK);
    CHECK(pd_diffusion_sample_seq(g, m, &cond, &sc, 42, ids, y, logits) == PD_OK);
    CHECK_MSG(memcmp(x, y, sizeof x) == 0, "asking for the head's logits changed the sample");
    /* one DDIM step: the logits of its one call, at t = T - 1 on the start noise */
    double lo = 1e30, hi = -1e30;
    int finite = 1;
    for (int i = 0; i < 19 * 20; i++) {
        finite &= isfinite(logits[i]);
        lo = fmin(lo, logits[i]);
        hi = fmax(hi, logits[i]);
    }
    CHECK_MSG(finite && hi - lo > 1e-3, "hidden-head logits: finite %d, range %g", finite, hi - lo);
    CHECK(pd_diffusion_sample_seq(g, m, &cond, &sc, 42, ids, y, again) == PD_OK);
    CHECK(memcmp(logits, again, sizeof logits) == 0);
    /* the logits depend on the input: another seed, other start noise, other logits */
    CHECK(pd_diffusion_sample_seq(g, m, &cond, &sc, 43, ids, y, again) == PD_OK);
    CHECK(memcmp(logits, again, sizeof logits) != 0);
    pd_graph_destroy(g);
    tdu_batch_free(&tb);
    pd_diffusion_destroy(m);
    pd_diffusion_destroy(plain);
}

int main(void)
{
    check_config();
    check_layout();
    check_draws();
    check_rank_split();
    check_sample();
    check_overfit();
    check_classify();
    check_hidden_head();
    return pd_test_finish("test_diffusion");
}
