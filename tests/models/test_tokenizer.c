/* test_tokenizer.c — the tokenizer's contract apart from PyTorch parity: configuration checks,
 * the parameter count against the formula of docs/models/tokenizer.md, image normalisation round
 * trip, padding really masked (garbage in the padding changes nothing), eval-mode batch
 * independence, decode(encode(x)) equal to the forward's reconstruction, loss normalisers, and
 * the codebook update (valid-only statistics, data initialisation, dead-code re-seeding). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>
#include <unistd.h>

#include "core/rng.h"
#include "models/tokenizer.h"
#include "nn/ops.h"
#include "train/tokenizer_state.h"
#include "test.h"

static void small_config(pd_tokenizer_config *c)
{
    pd_tokenizer_config_default(c);
    c->levels = 2;
    c->width = 16;
    c->mlp = 24;
    c->heads = 2;
    c->latent_dim = 8;
    c->rope_dim = 4;
    c->codebook = 16;
    c->blocks = 1;
}

/* Parameter count written out from the architecture (docs/models/tokenizer.md). */
static int64_t expected_params(const pd_tokenizer_config *c)
{
    const int64_t C = c->width, D = c->latent_dim, M = c->mlp, n = c->levels;
    const int64_t block = 2 * C + 4 * C * D + (C * M + M) + (M * C + C);
    int64_t total = 0;
    for (int64_t l = 0; l < n; l++) {
        total += (l == 0 ? 3 : C) * C * 4 + 2 * C + c->blocks * block;                        /* encoder */
        total += (l == n - 1 ? C : 2 * C) * D + D + D * (n - l) * C + C + c->blocks * block    /* quant, proj */
                 + C * C * 4 + 2 * C;                                                         /* up, bn */
    }
    return total + C * C + C + c->blocks * block + 3 * C + 3;                                /* refine */
}

static void test_config(void)
{
    pd_tokenizer_config c;
    pd_tokenizer_config_default(&c);
    CHECK(pd_tokenizer_config_check(&c) == PD_OK);
    c.latent_dim = 30;   /* not a multiple of 4 heads */
    CHECK(pd_tokenizer_config_check(&c) == PD_ERR_CONFIG);
    CHECK(strstr(pd_last_error(), "model.tokenizer.latent_dim") != NULL);
    pd_tokenizer_config_default(&c);
    c.rope_dim = 7;
    CHECK(pd_tokenizer_config_check(&c) == PD_ERR_CONFIG);
    CHECK(strstr(pd_last_error(), "model.tokenizer.rope_dim") != NULL);
    pd_tokenizer_config_default(&c);
    c.rope_dim = 18;     /* head dim is 64 / 4 = 16 */
    CHECK(pd_tokenizer_config_check(&c) == PD_ERR_CONFIG);

    /* From a run file: schema defaults, then --set overrides. */
    pd_config cfg;
    CHECK(pd_config_defaults(&cfg, 0, NULL) == PD_OK);
    CHECK(pd_tokenizer_config_from(&cfg, &c) == PD_OK);
    CHECK(c.levels == 3 && c.width == 128 && c.mlp == 256 && c.heads == 4 && c.latent_dim == 64 && c.rope_dim == 8 &&
          c.codebook == 512 && c.blocks == 1 && c.beta == 0.25 && c.ema_decay == 0.99);
    pd_config_free(&cfg);
    char *sets[] = {"model.tokenizer.levels=6", "model.tokenizer.width=1024", "model.tokenizer.heads=16",
                    "model.tokenizer.latent_dim=256", "model.tokenizer.codebook=4096", "model.tokenizer.ema_decay=0.9"};
    CHECK(pd_config_defaults(&cfg, 6, sets) == PD_OK);
    CHECK(pd_tokenizer_config_from(&cfg, &c) == PD_OK);
    CHECK(c.levels == 6 && c.width == 1024 && c.heads == 16 && c.latent_dim == 256 && c.codebook == 4096 &&
          c.ema_decay == 0.9);
    pd_config_free(&cfg);
    char *bad[] = {"model.tokenizer.rope_dim=6", "model.tokenizer.latent_dim=16"};   /* head dim 4 < 6 */
    CHECK(pd_config_defaults(&cfg, 2, bad) == PD_OK);
    CHECK(pd_tokenizer_config_from(&cfg, &c) == PD_ERR_CONFIG);
    pd_config_free(&cfg);

    /* Parameter counts: CPU defaults and a small configuration built for real; the research
     * widths (~0.8 GB of f32 values per buffer) only through the formula. */
    pd_tokenizer_config cfgs[2], research;
    pd_tokenizer_config_default(&cfgs[0]);
    small_config(&cfgs[1]);
    for (int i = 0; i < 2; i++) {
        pd_tokenizer *m;
        CHECK(pd_tokenizer_create(&m, &cfgs[i], &(pd_model_opts){.seed = 1}) == PD_OK);
        const int64_t got = pd_params_count(pd_tokenizer_params(m)), want = expected_params(&cfgs[i]);
        printf("levels %d width %d: %lld parameters (+ %d x %d x %d codebook values)\n", cfgs[i].levels, cfgs[i].width,
               (long long)got, cfgs[i].levels, cfgs[i].codebook, cfgs[i].latent_dim);
        CHECK_MSG(got == want, "parameter count %lld, formula %lld", (long long)got, (long long)want);
        CHECK(pd_tokenizer_n_batchnorms(m) == 2 * cfgs[i].levels);
        pd_tokenizer_destroy(m);
    }
    pd_tokenizer_config_default(&research);
    research.levels = 6;
    research.width = 1024;
    research.mlp = 2048;
    research.heads = 16;
    research.latent_dim = 256;
    research.codebook = 4096;
    research.blocks = 2;
    CHECK(pd_tokenizer_config_check(&research) == PD_OK);
    printf("research widths (levels 6, width 1024, blocks 2): %lld parameters by the formula\n",
           (long long)expected_params(&research));
}

static void test_images(void)
{
    pd_tokenizer_config c;
    small_config(&c);
    CHECK(pd_tokenizer_side(&c, 37) == 40 && pd_tokenizer_side(&c, 40) == 40 && pd_tokenizer_side(&c, 1) == 4);
    enum { L = 6, S = 8 };
    uint8_t img[L * L * 3], back[L * L * 3];
    for (int i = 0; i < L * L * 3; i++) img[i] = (uint8_t)(i * 37 % 256);
    const uint8_t *imgs[1] = {img};
    uint8_t *outs[1] = {back};
    int32_t len[1] = {L};
    float x[3 * S * S];
    pd_real xr[3 * S * S];
    CHECK(pd_tokenizer_prepare(imgs, len, 1, S, x) == PD_OK);
    CHECK(pd_tokenizer_prepare(imgs, len, 1, L - 1, x) == PD_ERR_USAGE);
    CHECK(pd_tokenizer_prepare(imgs, len, 1, S, x) == PD_OK);
    /* Channel 1 pixel (2, 3): (p/255 − 0.5336)/0.2752; padding is 0. */
    CHECK_NEAR(x[1 * S * S + 2 * S + 3], ((float)img[(2 * L + 3) * 3 + 1] / 255.0f - 0.5336f) / 0.2752f, 1e-6);
    CHECK(x[0 * S * S + 7 * S + 7] == 0 && x[2 * S * S + 0 * S + 6] == 0);
    for (int i = 0; i < 3 * S * S; i++) xr[i] = x[i];
    pd_tokenizer_to_uint8(xr, len, 1, S, outs);
    CHECK(memcmp(img, back, sizeof img) == 0);
    /* Physical errors: shift every value of one pixel by one std (Δv = std_c). */
    static pd_real rec[3 * S * S], tgt[3 * S * S];
    memset(rec, 0, sizeof rec);
    memset(tgt, 0, sizeof tgt);
    rec[0 * S * S + 3 * S + 1] = 1;   /* R below the diagonal: distance 80·0.2538 Å */
    rec[0 * S * S + 1 * S + 3] = 1;   /* R above: ω 360·0.2538 = 91.4° */
    rec[1 * S * S + 1 * S + 3] = 2;   /* G: θ 360·0.5504 = 198.1° wraps to 161.9° */
    rec[2 * S * S + 0] = -1;          /* B: φ 180·0.2157 */
    rec[0 * S * S + 7 * S + 7] = 5;   /* padding: not counted */
    double sum[4] = {0}, cnt[4] = {0};
    pd_tokenizer_channel_errors(rec, tgt, 0, len, 1, S, sum, cnt);
    CHECK(cnt[0] == L * (L + 1) / 2 && cnt[1] == L * (L - 1) / 2 && cnt[2] == L * L && cnt[3] == L * L);
    CHECK_NEAR(sum[0], 80 * 0.2538, 1e-4);
    CHECK_NEAR(sum[1], 360 * 0.2538, 1e-4);
    CHECK_NEAR(sum[2], 360 - 360 * 2 * 0.2752, 1e-4);
    CHECK_NEAR(sum[3], 180 * 0.2157, 1e-4);

    pd_tokenizer_norm nm;
    int32_t lens2[2] = {8, 5};
    pd_tokenizer_count(&c, lens2, 2, 8, &nm);
    CHECK(nm.pixels == 64 + 25 && nm.tokens[0] == 16 + 9 && nm.tokens[1] == 4 + 4);
}

enum { B = 2, S = 8 };
static const int32_t LENS[B] = {8, 5};

static void random_images(float *x, uint64_t seed)
{
    pd_rng r;
    pd_rng_init(&r, seed, 0, 0, PD_RNG_NOISE);
    for (int i = 0; i < B * 3 * S * S; i++) x[i] = (float)pd_rng_normal(&r);
}

/* Loss terms, recon and codes of one call (training flag as given). */
typedef struct result {
    pd_tokenizer_terms terms;
    pd_real recon[B * S * S * 3];
    int32_t codes0[B * 16], codes1[B * 4];
} result;

static void run(pd_graph *g, pd_tokenizer *m, const float *x, int nb, const int32_t *lens, int training, result *r)
{
    pd_graph_reset(g);
    pd_graph_set_training(g, training);
    pd_tensor *t = pd_tensor_from_floats(g, 4, (int64_t[]){nb, 3, S, S}, x);
    pd_tensor *recon;
    CHECK_MSG(pd_tokenizer_loss(g, m, t, lens, NULL, &r->terms, NULL, &recon) != NULL, "%s", pd_last_error());
    if (recon) memcpy(r->recon, recon->data, (size_t)recon->numel * sizeof(pd_real));
    int32_t *codes[2] = {r->codes0, r->codes1};
    CHECK(pd_tokenizer_encode(g, m, t, lens, codes, NULL) == PD_OK);
}

static double max_diff(const pd_real *a, const pd_real *b, int64_t n)
{
    double d = 0;
    for (int64_t i = 0; i < n; i++) d = fmax(d, fabs((double)a[i] - (double)b[i]));
    return d;
}

static void test_masking_and_paths(void)
{
    pd_tokenizer_config c;
    small_config(&c);
    pd_tokenizer *m;
    pd_graph *g;
    CHECK(pd_tokenizer_create(&m, &c, &(pd_model_opts){.seed = 5}) == PD_OK);
    CHECK(pd_graph_create(&g, 0) == PD_OK);
    static float x[B * 3 * S * S], junk[B * 3 * S * S];
    random_images(x, 1);
    memcpy(junk, x, sizeof x);
    pd_rng r;
    pd_rng_init(&r, 99, 0, 0, PD_RNG_NOISE);
    for (int ch = 0; ch < 3; ch++)   /* image 1 is 5×5 valid: fill its padding with garbage */
        for (int i = 0; i < S; i++)
            for (int j = 0; j < S; j++)
                if (i >= 5 || j >= 5) junk[((1 * 3 + ch) * S + i) * S + j] = (float)(10 * pd_rng_normal(&r));
    static result a, b;
    for (int training = 1; training >= 0; training--) {
        run(g, m, x, B, LENS, training, &a);
        run(g, m, junk, B, LENS, training, &b);
        CHECK_MSG(a.terms.loss == b.terms.loss, "training %d: padding content changed the loss %.9g -> %.9g", training,
                  a.terms.loss, b.terms.loss);
        CHECK(max_diff(a.recon, b.recon, B * S * S * 3) == 0);
        CHECK(memcmp(a.codes0, b.codes0, sizeof a.codes0) == 0 && memcmp(a.codes1, b.codes1, sizeof a.codes1) == 0);
    }
    CHECK(a.terms.pixels == 64 + 25 && a.terms.tokens[0] == 16 + 9 && a.terms.tokens[1] == 4 + 4);
    /* Codes of tokens that cover no valid pixel are −1, all others in range. */
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            const int32_t k = a.codes0[16 + i * 4 + j];
            CHECK(i < 3 && j < 3 ? k >= 0 && k < c.codebook : k == -1);
        }

    /* Eval mode: image 0 alone gives what it gives inside the batch. */
    static result alone;
    run(g, m, x, 1, LENS, 0, &alone);
    CHECK(memcmp(alone.codes0, a.codes0, 16 * sizeof(int32_t)) == 0 && memcmp(alone.codes1, a.codes1, 4 * sizeof(int32_t)) == 0);
    const double d = max_diff(alone.recon, a.recon, S * S * 3);
    CHECK_MSG(d < 1e-5, "eval mode: batch neighbours change image 0's reconstruction by %.3g", d);

    /* decode(encode(x)) is the forward's reconstruction (eval mode, same codes). */
    pd_graph_reset(g);
    pd_graph_set_training(g, 0);
    int32_t *codes[2] = {a.codes0, a.codes1};
    pd_tensor *dec;
    CHECK_MSG(pd_tokenizer_decode(g, m, (const int32_t *const *)codes, LENS, B, S, &dec) == PD_OK, "%s", pd_last_error());
    double worst = 0;
    for (int bb = 0; bb < B; bb++)
        for (int ch = 0; ch < 3; ch++)
            for (int p = 0; p < S * S; p++)
                if (p / S < LENS[bb] && p % S < LENS[bb])
                    worst = fmax(worst, fabs(dec->data[(bb * 3 + ch) * S * S + p] - a.recon[(bb * S * S + p) * 3 + ch]));
    CHECK_MSG(worst < 1e-5, "decode(encode(x)) differs from the forward's reconstruction by %.3g", worst);
    codes[0][0] = c.codebook;   /* out of range */
    CHECK(pd_tokenizer_decode(g, m, (const int32_t *const *)codes, LENS, B, S, &dec) == PD_ERR_USAGE);

    /* Normalisers: the local counts reproduce the default; doubled counts halve every term. */
    pd_graph_set_training(g, 0);
    pd_tokenizer_norm nm;
    pd_tokenizer_count(&c, LENS, B, S, &nm);
    pd_tokenizer_terms t1, t2;
    pd_graph_reset(g);
    CHECK(pd_tokenizer_loss(g, m, pd_tensor_from_floats(g, 4, (int64_t[]){B, 3, S, S}, x), LENS, &nm, &t1, NULL, NULL));
    nm.pixels *= 2;
    for (int l = 0; l < c.levels; l++) nm.tokens[l] *= 2;
    pd_graph_reset(g);
    CHECK(pd_tokenizer_loss(g, m, pd_tensor_from_floats(g, 4, (int64_t[]){B, 3, S, S}, x), LENS, &nm, &t2, NULL, NULL));
    CHECK(pd_close(t1.loss, a.terms.loss, 1e-6, 0));
    CHECK(pd_close(t2.loss, t1.loss / 2, 1e-6, 0) && pd_close(t2.commit[1], t1.commit[1] / 2, 1e-6, 0));

    /* Bad input shapes fail with a message. */
    pd_graph_reset(g);
    pd_tensor *bad = pd_tensor_zeros(g, 4, (int64_t[]){1, 3, 6, 6});
    CHECK(pd_tokenizer_loss(g, m, bad, LENS, NULL, NULL, NULL, NULL) == NULL);
    CHECK(strstr(pd_last_error(), "multiple of 2^levels") != NULL);
    pd_graph_destroy(g);
    pd_tokenizer_destroy(m);
}

/* Is vector v one of the valid rows of level l? */
static int is_valid_row(const pd_tokenizer_vq_batch *vq, int l, const pd_real *v, int64_t D)
{
    for (int64_t r = 0; r < vq->rows[l]; r++)
        if (vq->valid[l][r] && memcmp(vq->x[l] + r * D, v, (size_t)D * sizeof *v) == 0) return 1;
    return 0;
}

static void test_codebook_update(void)
{
    pd_tokenizer_config c;
    small_config(&c);
    pd_tokenizer *m;
    pd_graph *g;
    CHECK(pd_tokenizer_create(&m, &c, &(pd_model_opts){.seed = 5}) == PD_OK);
    CHECK(pd_graph_create(&g, 0) == PD_OK);
    static float x[B * 3 * S * S];
    random_images(x, 2);
    pd_tokenizer_vq_batch vq;
    pd_tokenizer_terms terms;
    CHECK(pd_tokenizer_loss(g, m, pd_tensor_from_floats(g, 4, (int64_t[]){B, 3, S, S}, x), LENS, NULL, &terms, &vq, NULL));
    const int64_t K = c.codebook, D = c.latent_dim;
    double *stats = malloc((size_t)pd_tokenizer_vq_stats_numel(m) * sizeof *stats);
    pd_tokenizer_vq_stats(m, &vq, stats);
    for (int l = 0; l < c.levels; l++) {
        double n = 0;
        for (int64_t k = 0; k < K; k++) n += stats[l * K * (1 + D) + k];
        CHECK_MSG(n == (double)terms.tokens[l], "level %d: statistics count %.0f tokens, %lld are valid", l, n,
                  (long long)terms.tokens[l]);
    }
    int64_t used[2];
    double ppl[2];
    pd_tokenizer_usage(m, stats, used, ppl);
    CHECK(used[0] == terms.used[0] && pd_close(ppl[1], terms.perplexity[1], 1e-12, 0));

    /* First update with data_init: every code becomes a valid encoder output. */
    int64_t reseeded[2];
    CHECK(pd_tokenizer_codebook_update(m, stats, &vq, 3, 0, reseeded) == PD_OK);
    CHECK(reseeded[0] == K && reseeded[1] == K && pd_tokenizer_codebook_updates(m) == 1);
    for (int l = 0; l < c.levels; l++) {
        const pd_vq_codebook *book = pd_tokenizer_codebook(m, l);
        int all = 1;
        for (int64_t k = 0; k < K; k++) all &= is_valid_row(&vq, l, book->embed + k * D, D);
        CHECK_MSG(all, "level %d: data initialisation must copy valid encoder outputs", l);
    }
    /* Later updates: only codes whose EMA count falls below the threshold are re-seeded. */
    pd_vq_codebook *book = pd_tokenizer_codebook(m, 0);
    for (int64_t k = 0; k < K; k++) book->ema_count[k] = 1000;
    book->ema_count[5] = 1e-3f;
    pd_real before[16 * 8];
    memcpy(before, book->embed, sizeof before);
    CHECK(pd_tokenizer_codebook_update(m, stats, &vq, 3, 1, reseeded) == PD_OK);
    CHECK_MSG(reseeded[0] == 1, "level 0: %lld codes re-seeded, expected exactly the dead one", (long long)reseeded[0]);
    CHECK(book->ema_count[5] == (pd_real)c.reseed_count && is_valid_row(&vq, 0, book->embed + 5 * D, D));
    CHECK(memcmp(before + 5 * D, book->embed + 5 * D, (size_t)D * sizeof(pd_real)) != 0);
    free(stats);
    pd_graph_destroy(g);
    pd_tokenizer_destroy(m);
}

/* Codebooks and BatchNorm statistics survive an HDF5 round trip; a model of another shape is refused. */
static void test_state_h5(void)
{
    pd_tokenizer_config c;
    small_config(&c);
    pd_tokenizer *a, *b, *other;
    CHECK(pd_tokenizer_create(&a, &c, &(pd_model_opts){.seed = 5}) == PD_OK && pd_tokenizer_create(&b, &c, &(pd_model_opts){.seed = 6}) == PD_OK);
    pd_batchnorm_stats *bn = pd_tokenizer_batchnorm(a, 3, NULL);
    bn->running_mean[2] = 0.75f;
    bn->batches_tracked = 9;
    pd_tokenizer_set_codebook_updates(a, 4);
    char path[] = "/tmp/pd_tokenizer_stateXXXXXX";
    const int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    close(fd);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CHECK_MSG(pd_tokenizer_state_write_h5(a, f, "tokenizer_state") == PD_OK, "%s", pd_last_error());
    H5Fclose(f);
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK_MSG(pd_tokenizer_state_read_h5(b, f, "tokenizer_state") == PD_OK, "%s", pd_last_error());
    for (int l = 0; l < c.levels; l++) {
        const pd_vq_codebook *x = pd_tokenizer_codebook(a, l), *y = pd_tokenizer_codebook(b, l);
        CHECK(memcmp(x->embed, y->embed, (size_t)(x->codes * x->dim) * sizeof(pd_real)) == 0);
        CHECK(memcmp(x->ema_sum, y->ema_sum, (size_t)(x->codes * x->dim) * sizeof(pd_real)) == 0);
    }
    const pd_batchnorm_stats *bb = pd_tokenizer_batchnorm(b, 3, NULL);
    CHECK(bb->running_mean[2] == 0.75f && bb->batches_tracked == 9 && pd_tokenizer_codebook_updates(b) == 4);
    c.codebook = 32;
    CHECK(pd_tokenizer_create(&other, &c, &(pd_model_opts){.seed = 5}) == PD_OK);
    CHECK(pd_tokenizer_state_read_h5(other, f, "tokenizer_state") == PD_ERR_FORMAT);
    CHECK(strstr(pd_last_error(), "vq.0.embed") != NULL);
    H5Fclose(f);
    unlink(path);
    pd_tokenizer_destroy(a);
    pd_tokenizer_destroy(b);
    pd_tokenizer_destroy(other);
}

int main(void)
{
    test_state_h5();
    test_config();
    test_images();
    test_masking_and_paths();
    test_codebook_update();
    return pd_test_finish("test_tokenizer");
}
