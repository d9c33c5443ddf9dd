/* tokenizer.c — the structure tokenizer of SPEC §7 as forward code on the op set: configuration,
 * parameters (one FSDP unit per encoder stage, per quantiser+decoder stage and for the
 * refinement head), the masked encoder / top-down quantisation / decoder forward, the loss, and
 * the encode and decode inference paths. Shapes and readings: docs/models/tokenizer.md. */
#include "models/tokenizer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "nn/conv.h"
#include "nn/layers.h"
#include "nn/norm.h"
#include "nn/ops.h"
#include "nn/upsample.h"
#include "nn/vq.h"

/* Pre-LN transformer block: x += Wo attn(rope(Wq LN1 x), rope(Wk LN1 x), Wv LN1 x);
 * x += W2 gelu(W1 LN2 x + b1) + b2. LayerNorms weight-only, attention bias-free. */
typedef struct block {
    pd_norm_layer ln1, ln2;
    pd_linear_layer q, k, v, o, fc1, fc2;
} block;

/* Encoder stage l: Conv2d(k2, s2, no bias) -> BatchNorm -> GELU -> blocks. */
typedef struct enc_stage {
    int unit;
    pd_conv_layer conv;
    pd_norm_layer bn_affine;
    pd_batchnorm_stats bn;
    block *blocks;
} enc_stage;

/* Quantiser + decoder stage l: 1x1 conv (condition -> latent_dim), VQ, then
 * 1x1 conv (latent_dim·(n−l) -> C) -> blocks -> ConvTranspose2d(k2, s2, no bias) -> BatchNorm -> GELU. */
typedef struct dec_stage {
    int unit;
    pd_linear_layer quant, in;
    pd_conv_layer up;
    pd_norm_layer bn_affine;
    pd_batchnorm_stats bn;
    block *blocks;
} dec_stage;

/* Refinement head: 1x1 conv C -> C -> blocks -> 1x1 conv C -> 3. */
typedef struct refine_head {
    int unit;
    pd_linear_layer in, out;
    block *blocks;
} refine_head;

struct pd_tokenizer {
    pd_tokenizer_config cfg;
    pd_params params;
    enc_stage enc[PD_TOKENIZER_MAX_LEVELS];
    dec_stage dec[PD_TOKENIZER_MAX_LEVELS];
    refine_head refine;
    pd_vq_codebook book[PD_TOKENIZER_MAX_LEVELS];
    pd_real *state;          /* one allocation for codebooks and BatchNorm statistics */
    int64_t codebook_updates;
    pd_tokenizer_batch_sum batch_sum; /* fn = NULL: BatchNorm statistics are local */
};

void pd_tokenizer_set_batch_sum(pd_tokenizer *m, const pd_tokenizer_batch_sum *sum)
{
    if (sum) m->batch_sum = *sum;
    else memset(&m->batch_sum, 0, sizeof m->batch_sum);
}

/* BatchNorm of an encoder/decoder stage: over ranks when the engine gave a summing function. */
static pd_tensor *stage_batchnorm(pd_graph *g, pd_tokenizer *m, pd_tensor *x, const pd_norm_layer *n,
                                  pd_batchnorm_stats *stats)
{
    const pd_tokenizer_config *c = &m->cfg;
    if (m->batch_sum.fn && pd_graph_training(g))
        return pd_tokenizer_sync_batchnorm(g, x, n->w, n->b, stats, c->bn_momentum, c->bn_eps, &m->batch_sum);
    return pd_batchnorm(g, x, n->w, n->b, stats, c->bn_momentum, c->bn_eps);
}

const float pd_tokenizer_mean[3] = {0.4081f, 0.5336f, 0.4414f};
const float pd_tokenizer_std[3] = {0.2538f, 0.2752f, 0.2157f};

/* ---- configuration ------------------------------------------------------------------------------- */

void pd_tokenizer_config_default(pd_tokenizer_config *c)
{
    c->levels = 3;
    c->width = 128;
    c->mlp = 256;
    c->heads = 4;
    c->latent_dim = 64;
    c->rope_dim = 8;
    c->codebook = 512;
    c->blocks = 1;
    c->beta = 0.25;
    c->ema_decay = 0.99;
    c->vq_eps = 1e-5;
    c->dead_threshold = 0.1;
    c->reseed_count = 1.0;
    c->data_init = 1;
    c->rope_base = 10000.0;
    c->ln_eps = 1e-5;
    c->bn_eps = 1e-5;
    c->bn_momentum = 0.1;
}

pd_status pd_tokenizer_config_check(const pd_tokenizer_config *c)
{
    if (c->levels < 1 || c->levels > PD_TOKENIZER_MAX_LEVELS)
        return pd_fail(PD_ERR_CONFIG, "tokenizer: levels %d must be 1..%d (model.tokenizer.levels)", c->levels,
                       PD_TOKENIZER_MAX_LEVELS);
    if (c->width < 1 || c->mlp < 1 || c->codebook < 2 || c->blocks < 0)
        return pd_fail(PD_ERR_CONFIG, "tokenizer: width %d, mlp %d, codebook %d, blocks %d out of range "
                       "(model.tokenizer.width/mlp/codebook/blocks)", c->width, c->mlp, c->codebook, c->blocks);
    if (c->heads < 1 || c->latent_dim < 1 || c->latent_dim % c->heads != 0)
        return pd_fail(PD_ERR_CONFIG, "tokenizer: latent_dim %d must be a positive multiple of heads %d "
                       "(model.tokenizer.latent_dim, model.tokenizer.heads)", c->latent_dim, c->heads);
    if (c->rope_dim < 0 || c->rope_dim % 2 != 0 || c->rope_dim > c->latent_dim / c->heads)
        return pd_fail(PD_ERR_CONFIG, "tokenizer: rope_dim %d must be even and <= latent_dim/heads = %d "
                       "(model.tokenizer.rope_dim)", c->rope_dim, c->latent_dim / c->heads);
    if (!(c->beta >= 0) || !(c->ema_decay >= 0 && c->ema_decay <= 1))
        return pd_fail(PD_ERR_CONFIG, "tokenizer: beta %g must be >= 0 and ema_decay %g in [0, 1] "
                       "(model.tokenizer.beta, model.tokenizer.ema_decay)", c->beta, c->ema_decay);
    if (!(c->vq_eps > 0) || !(c->dead_threshold >= 0) || !(c->reseed_count > 0))
        return pd_fail(PD_ERR_CONFIG, "tokenizer: vq_eps %g > 0, dead_threshold %g >= 0, reseed_count %g > 0 required",
                       c->vq_eps, c->dead_threshold, c->reseed_count);
    return PD_OK;
}

pd_status pd_tokenizer_config_from(const pd_config *cfg, pd_tokenizer_config *out)
{
    pd_tokenizer_config_default(out);
    out->levels = (int)pd_cfg_int(cfg, "model.tokenizer.levels");
    out->width = (int)pd_cfg_int(cfg, "model.tokenizer.width");
    out->mlp = (int)pd_cfg_int(cfg, "model.tokenizer.mlp");
    out->heads = (int)pd_cfg_int(cfg, "model.tokenizer.heads");
    out->latent_dim = (int)pd_cfg_int(cfg, "model.tokenizer.latent_dim");
    out->rope_dim = (int)pd_cfg_int(cfg, "model.tokenizer.rope_dim");
    out->codebook = (int)pd_cfg_int(cfg, "model.tokenizer.codebook");
    out->blocks = (int)pd_cfg_int(cfg, "model.tokenizer.blocks");
    out->beta = pd_cfg_float(cfg, "model.tokenizer.beta");
    out->ema_decay = pd_cfg_float(cfg, "model.tokenizer.ema_decay");
    out->dead_threshold = pd_cfg_float(cfg, "model.tokenizer.dead_threshold");
    out->data_init = pd_cfg_bool(cfg, "model.tokenizer.data_init");
    pd_status s = pd_tokenizer_config_check(out);
    if (s != PD_OK) pd_error_context("run file %s", cfg->file ? cfg->file : "<none>");
    return s;
}

/* ---- parameters ------------------------------------------------------------------------------------ */

static block *declare_blocks(pd_params *P, const char *prefix, const pd_tokenizer_config *c)
{
    if (c->blocks == 0) return NULL;
    block *bl = calloc((size_t)c->blocks, sizeof *bl);
    if (!bl) return NULL;
    const int C = c->width, D = c->latent_dim;
    for (int i = 0; i < c->blocks; i++) {
        char p[96];
        snprintf(p, sizeof p, "%s.blocks.%d", prefix, i);
        bl[i].ln1 = pd_declare_norm(P, p, "ln1", C, PD_NO_BIAS);
        bl[i].q = pd_declare_linear(P, p, "attn.q", D, C, PD_NO_BIAS);
        bl[i].k = pd_declare_linear(P, p, "attn.k", D, C, PD_NO_BIAS);
        bl[i].v = pd_declare_linear(P, p, "attn.v", D, C, PD_NO_BIAS);
        bl[i].o = pd_declare_linear(P, p, "attn.o", C, D, PD_NO_BIAS);
        bl[i].ln2 = pd_declare_norm(P, p, "ln2", C, PD_NO_BIAS);
        bl[i].fc1 = pd_declare_linear(P, p, "mlp.fc1", c->mlp, C, PD_BIAS);
        bl[i].fc2 = pd_declare_linear(P, p, "mlp.fc2", C, c->mlp, PD_BIAS);
    }
    return bl;
}

static void bn_bind(pd_batchnorm_stats *s, int64_t channels, pd_real **cursor)
{
    s->channels = channels;
    s->running_mean = *cursor;
    s->running_var = *cursor + channels;
    *cursor += 2 * channels;
    pd_batchnorm_stats_reset(s);
}

pd_status pd_tokenizer_create(pd_tokenizer **out, const pd_tokenizer_config *c, const pd_model_opts *opts)
{
    const uint64_t seed = pd_model_seed(opts);
    *out = NULL;
    PD_TRY(pd_tokenizer_config_check(c));
    pd_tokenizer *m = calloc(1, sizeof *m);
    if (!m) return pd_fail(PD_ERR_NOMEM, "tokenizer: out of memory creating the model");
    m->cfg = *c;
    pd_params *P = &m->params;
    pd_params_init(P);
    const int n = c->levels, C = c->width, D = c->latent_dim;
    int ok = 1;
    for (int l = 0; l < n; l++) {
        char p[32];
        snprintf(p, sizeof p, "enc.%d", l);
        enc_stage *e = &m->enc[l];
        e->unit = pd_params_unit_begin(P, p);
        const int cin = l == 0 ? 3 : C;
        e->conv = pd_declare_conv(P, p, "conv", 2, PD_CONV_K2, 2, cin, C, PD_NO_BIAS);
        e->bn_affine = pd_declare_norm(P, p, "bn", C, PD_BIAS);
        e->blocks = declare_blocks(P, p, c);
        ok &= c->blocks == 0 || e->blocks != NULL;
        pd_params_unit_end(P);
    }
    for (int l = n - 1; l >= 0; l--) {
        char p[32];
        snprintf(p, sizeof p, "dec.%d", l);
        dec_stage *d = &m->dec[l];
        d->unit = pd_params_unit_begin(P, p);
        d->quant = pd_declare_linear(P, p, "quant", D, l == n - 1 ? C : 2 * C, PD_BIAS);
        d->in = pd_declare_linear(P, p, "proj", C, D * (n - l), PD_BIAS);
        d->blocks = declare_blocks(P, p, c);
        ok &= c->blocks == 0 || d->blocks != NULL;
        /* ConvTranspose2d weight [Cin, Cout, 2, 2]; PyTorch's fan-in is dim 1 times the kernel. */
        d->up = pd_declare_conv(P, p, "up", 2, PD_CONV_TRANSPOSE_K2, 2, C, C, PD_NO_BIAS);
        d->bn_affine = pd_declare_norm(P, p, "bn", C, PD_BIAS);
        pd_params_unit_end(P);
    }
    m->refine.unit = pd_params_unit_begin(P, "refine");
    m->refine.in = pd_declare_linear(P, "refine", "proj", C, C, PD_BIAS);
    m->refine.blocks = declare_blocks(P, "refine", c);
    ok &= c->blocks == 0 || m->refine.blocks != NULL;
    m->refine.out = pd_declare_linear(P, "refine", "out", 3, C, PD_BIAS);
    pd_params_unit_end(P);
    if (!ok) {
        pd_tokenizer_destroy(m);
        return pd_fail(PD_ERR_NOMEM, "tokenizer: out of memory declaring blocks");
    }
    pd_status s = pd_params_finalize(P, pd_model_pad(opts));
    if (s != PD_OK) {
        pd_tokenizer_destroy(m);
        return s;
    }
    pd_params_init_values(P, seed);

    /* Non-trainable state: per level embed [K, D], ema_count [K], ema_sum [K, D]; 2·n BatchNorms. */
    const int64_t K = c->codebook;
    const int64_t state = n * (K * D * 2 + K) + 2 * n * 2 * C;
    m->state = malloc((size_t)state * sizeof(pd_real));
    if (!m->state) {
        pd_tokenizer_destroy(m);
        return pd_fail(PD_ERR_NOMEM, "tokenizer: out of memory for %lld codebook values", (long long)state);
    }
    pd_real *cur = m->state;
    for (int l = 0; l < n; l++) {
        pd_vq_codebook *b = &m->book[l];
        b->codes = K;
        b->dim = D;
        b->embed = cur;
        b->ema_count = cur + K * D;
        b->ema_sum = cur + K * D + K;
        cur += K * D * 2 + K;
        pd_rng r;
        pd_rng_init(&r, seed, UINT64_MAX, (uint64_t)l, PD_RNG_VQ);
        for (int64_t i = 0; i < K * D; i++) b->embed[i] = (pd_real)pd_rng_normal(&r);
        pd_vq_codebook_reset_ema(b);
    }
    for (int l = 0; l < n; l++) {
        bn_bind(&m->enc[l].bn, C, &cur);
        bn_bind(&m->dec[l].bn, C, &cur);
    }
    *out = m;
    return PD_OK;
}

void pd_tokenizer_destroy(pd_tokenizer *m)
{
    if (!m) return;
    for (int l = 0; l < PD_TOKENIZER_MAX_LEVELS; l++) {
        free(m->enc[l].blocks);
        free(m->dec[l].blocks);
    }
    free(m->refine.blocks);
    free(m->state);
    pd_params_free(&m->params);
    free(m);
}

pd_params *pd_tokenizer_params(pd_tokenizer *m) { return &m->params; }
const pd_tokenizer_config *pd_tokenizer_get_config(const pd_tokenizer *m) { return &m->cfg; }
pd_vq_codebook *pd_tokenizer_codebook(pd_tokenizer *m, int level)
{
    return level >= 0 && level < m->cfg.levels ? &m->book[level] : NULL;
}
int pd_tokenizer_n_batchnorms(const pd_tokenizer *m) { return 2 * m->cfg.levels; }
pd_batchnorm_stats *pd_tokenizer_batchnorm(pd_tokenizer *m, int i, const char **name)
{
    static const char *const enc_names[] = {"enc.0.bn", "enc.1.bn", "enc.2.bn", "enc.3.bn", "enc.4.bn", "enc.5.bn",
                                            "enc.6.bn", "enc.7.bn", "enc.8.bn", "enc.9.bn", "enc.10.bn", "enc.11.bn"};
    static const char *const dec_names[] = {"dec.0.bn", "dec.1.bn", "dec.2.bn", "dec.3.bn", "dec.4.bn", "dec.5.bn",
                                            "dec.6.bn", "dec.7.bn", "dec.8.bn", "dec.9.bn", "dec.10.bn", "dec.11.bn"};
    if (i < 0 || i >= 2 * m->cfg.levels) return NULL;
    const int l = i / 2;
    if (name) *name = i % 2 == 0 ? enc_names[l] : dec_names[l];
    return i % 2 == 0 ? &m->enc[l].bn : &m->dec[l].bn;
}
int64_t pd_tokenizer_codebook_updates(const pd_tokenizer *m) { return m->codebook_updates; }
void pd_tokenizer_set_codebook_updates(pd_tokenizer *m, int64_t updates) { m->codebook_updates = updates; }

/* ---- masks ---------------------------------------------------------------------------------------- */

/* Validity of the grid at resolution r (side S >> r; r = 0 is the pixel grid, encoder level l is
 * r = l + 1): cell (i, j) of image b is valid iff i, j < ceil(L_b / 2^r), i.e. its 2^r × 2^r pixel
 * block holds at least one valid pixel. */
typedef struct grid_mask {
    int64_t side, cells;      /* side, B · side² */
    uint8_t *valid;           /* [B · side²] */
    pd_tensor *t;             /* [B, side², 1] 0/1 values for pd_mul */
    int64_t count;
} grid_mask;

static int build_mask(pd_graph *g, grid_mask *gm, const int32_t *lengths, int B, int64_t S, int r)
{
    gm->side = S >> r;
    const int64_t h = gm->side, T = h * h;
    gm->cells = B * T;
    gm->valid = pd_graph_alloc(g, (size_t)gm->cells);
    gm->t = pd_tensor_new3(g, B, T, 1);
    if (!gm->valid || !gm->t) return 0;
    gm->count = 0;
    for (int b = 0; b < B; b++) {
        const int64_t ext = (lengths[b] + ((int64_t)1 << r) - 1) >> r;
        for (int64_t i = 0; i < h; i++)
            for (int64_t j = 0; j < h; j++) {
                const int v = i < ext && j < ext;
                gm->valid[b * T + i * h + j] = (uint8_t)v;
                gm->t->data[b * T + i * h + j] = (pd_real)v;
                gm->count += v;
            }
    }
    return 1;
}

/* ---- building blocks ------------------------------------------------------------------------------ */

/* [B, C, h, w] -> [B, h·w, C] */
static pd_tensor *to_tokens(pd_graph *g, pd_tensor *x)
{
    if (!pd_graph_ok(g, x)) return NULL;
    const int64_t B = x->shape[0], C = x->shape[1], T = x->shape[2] * x->shape[3];
    pd_tensor *y = pd_permute(g, x, (int[]){0, 2, 3, 1});
    return pd_reshape(g, y, 3, (int64_t[]){B, T, C});
}

/* [B, h·h, C] -> [B, C, h, h] */
static pd_tensor *to_grid(pd_graph *g, pd_tensor *x, int64_t h)
{
    if (!pd_graph_ok(g, x)) return NULL;
    const int64_t B = x->shape[0], C = x->shape[2];
    pd_tensor *y = pd_reshape(g, x, 4, (int64_t[]){B, h, h, C});
    return pd_permute(g, y, (int[]){0, 3, 1, 2});
}

static pd_tensor *block_forward(pd_graph *g, const pd_tokenizer_config *c, const block *bl, pd_tensor *x,
                                const uint8_t *key_valid)
{
    pd_tensor *h = pd_apply_layernorm(g, x, &bl->ln1, c->ln_eps);
    pd_tensor *q = pd_apply_linear(g, h, &bl->q), *k = pd_apply_linear(g, h, &bl->k), *v = pd_apply_linear(g, h, &bl->v);
    if (c->rope_dim > 0) {
        q = pd_rope(g, q, NULL, c->heads, c->rope_dim, c->rope_base);
        k = pd_rope(g, k, NULL, c->heads, c->rope_dim, c->rope_base);
    }
    pd_tensor *a = pd_attention(g, q, k, v, c->heads, key_valid, 0);
    x = pd_add(g, x, pd_apply_linear(g, a, &bl->o));
    h = pd_apply_layernorm(g, x, &bl->ln2, c->ln_eps);
    h = pd_gelu(g, pd_apply_linear(g, h, &bl->fc1));
    return pd_add(g, x, pd_apply_linear(g, h, &bl->fc2));
}

static pd_tensor *blocks_forward(pd_graph *g, const pd_tokenizer_config *c, const block *bl, pd_tensor *x,
                                 const uint8_t *key_valid)
{
    for (int i = 0; i < c->blocks; i++) x = block_forward(g, c, &bl[i], x, key_valid);
    return x;
}

/* Decoder stage l from the quantised tokens q[l..n-1] (each [B, h_m², D], zero at padding):
 * concat(q_l, upsample(q_m) for m > l) -> 1x1 -> blocks -> ConvT -> BN -> GELU, masked at the
 * doubled grid. Returns tokens [B, (2 h_l)², C]. */
static pd_tensor *decoder_forward(pd_graph *g, pd_tokenizer *m, int l, pd_tensor *const *q, const grid_mask *masks,
                                  int64_t S)
{
    const pd_tokenizer_config *c = &m->cfg;
    dec_stage *d = &m->dec[l];
    const int n = c->levels;
    const int64_t h = S >> (l + 1);
    pd_tensor *parts[PD_TOKENIZER_MAX_LEVELS];
    parts[0] = q[l];
    for (int mm = l + 1; mm < n; mm++) {
        pd_tensor *grid = to_grid(g, q[mm], S >> (mm + 1));
        parts[mm - l] = to_tokens(g, pd_upsample_bilinear_size(g, grid, h, h));
    }
    pd_tensor *x = pd_concat(g, n - l, parts, 2);
    x = pd_apply_linear(g, x, &d->in);
    x = blocks_forward(g, c, d->blocks, x, masks[l + 1].valid);
    x = pd_apply_conv(g, to_grid(g, x, h), &d->up);
    x = stage_batchnorm(g, m, x, &d->bn_affine, &d->bn);
    x = to_tokens(g, pd_gelu(g, x));
    return pd_mul(g, x, masks[l].t);
}

/* Refinement head on decoder 0's output tokens [B, S², C] -> [B, S², 3]. */
static pd_tensor *refine_forward(pd_graph *g, pd_tokenizer *m, pd_tensor *x, const grid_mask *pixels)
{
    const refine_head *r = &m->refine;
    pd_unit_begin(g, r->unit);
    x = pd_apply_linear(g, x, &r->in);
    x = blocks_forward(g, &m->cfg, r->blocks, x, pixels->valid);
    x = pd_apply_linear(g, x, &r->out);
    pd_unit_end(g, r->unit);
    return x;
}

/* Everything one forward produces. */
typedef struct forward_out {
    grid_mask masks[PD_TOKENIZER_MAX_LEVELS + 1];   /* resolution r = 0..n */
    pd_tensor *pre[PD_TOKENIZER_MAX_LEVELS];        /* [B·h², D] quantiser inputs */
    pd_tensor *qrows[PD_TOKENIZER_MAX_LEVELS];      /* [B·h², D] straight-through codes */
    int32_t *index[PD_TOKENIZER_MAX_LEVELS];
    pd_tensor *recon;                               /* [B, S², 3] or NULL (encode only) */
} forward_out;

static int check_input(pd_graph *g, const pd_tokenizer *m, const pd_tensor *images, const int32_t *lengths)
{
    if (!pd_graph_ok(g, images)) return 0;
    const int64_t unit = (int64_t)1 << m->cfg.levels;
    if (images->ndim != 4 || images->shape[1] != 3 || images->shape[2] != images->shape[3] ||
        images->shape[2] % unit != 0) {
        char buf[64];
        pd_graph_fail(g, "tokenizer: images must be [B, 3, S, S] with S a multiple of 2^levels = %lld, got %s",
                      (long long)unit, pd_shape_str(images, buf, sizeof buf));
        return 0;
    }
    for (int64_t b = 0; b < images->shape[0]; b++)
        if (lengths[b] < 1 || lengths[b] > images->shape[2]) {
            pd_graph_fail(g, "tokenizer: image %lld has length %d outside 1..%lld (the padded side)", (long long)b,
                          lengths[b], (long long)images->shape[2]);
            return 0;
        }
    return 1;
}

/* The shared forward: encoder, top-down quantisation, decoders (decoder 0 and the refinement
 * head only when want_recon). */
static int forward(pd_graph *g, pd_tokenizer *m, pd_tensor *images, const int32_t *lengths, int want_recon,
                   forward_out *o)
{
    memset(o, 0, sizeof *o);
    if (!check_input(g, m, images, lengths)) return 0;
    const pd_tokenizer_config *c = &m->cfg;
    const int n = c->levels, B = (int)images->shape[0];
    const int64_t S = images->shape[2];
    for (int r = 0; r <= n; r++)
        if (!build_mask(g, &o->masks[r], lengths, B, S, r)) {
            pd_graph_fail(g, "tokenizer: out of arena memory for the masks");
            return 0;
        }
    /* The pixel mask as [B, 1, S, S] so the input is exactly zero at padding. */
    pd_tensor *pixel_mask = pd_tensor_wrap(g, 4, (int64_t[]){B, 1, S, S}, o->masks[0].t->data);
    pd_tensor *x = pd_mul(g, images, pixel_mask);

    pd_tensor *enc[PD_TOKENIZER_MAX_LEVELS];
    for (int l = 0; l < n; l++) {
        enc_stage *e = &m->enc[l];
        pd_unit_begin(g, e->unit);
        pd_tensor *h = pd_apply_conv(g, x, &e->conv);
        h = stage_batchnorm(g, m, h, &e->bn_affine, &e->bn);
        h = to_tokens(g, pd_gelu(g, h));
        h = blocks_forward(g, c, e->blocks, h, o->masks[l + 1].valid);
        enc[l] = pd_mul(g, h, o->masks[l + 1].t);
        pd_unit_end(g, e->unit);
        if (l + 1 < n) x = to_grid(g, enc[l], S >> (l + 1));
    }

    pd_tensor *q[PD_TOKENIZER_MAX_LEVELS];
    pd_tensor *prev = NULL;   /* decoder l+1's output, already on level l's grid */
    for (int l = n - 1; l >= 0; l--) {
        dec_stage *d = &m->dec[l];
        const int64_t T = (S >> (l + 1)) * (S >> (l + 1));
        pd_unit_begin(g, d->unit);
        pd_tensor *cond = l == n - 1 ? enc[l] : pd_concat(g, 2, (pd_tensor *[]){enc[l], prev}, 2);
        pd_tensor *pre = pd_apply_linear(g, cond, &d->quant);
        o->pre[l] = pd_reshape(g, pre, 2, (int64_t[]){B * T, c->latent_dim});
        if (!pd_graph_ok(g, o->pre[l])) return 0;
        o->qrows[l] = pd_vq_quantize(g, o->pre[l], &m->book[l], c->beta, 0, NULL, &o->index[l]);
        q[l] = pd_mul(g, pd_reshape(g, o->qrows[l], 3, (int64_t[]){B, T, c->latent_dim}), o->masks[l + 1].t);
        if (l > 0 || want_recon) prev = decoder_forward(g, m, l, q, o->masks, S);
        pd_unit_end(g, d->unit);
    }
    if (want_recon) o->recon = refine_forward(g, m, prev, &o->masks[0]);
    return pd_graph_status(g) == PD_OK;
}

static void fill_vq_batch(const pd_tokenizer *m, const forward_out *o, pd_tokenizer_vq_batch *vq)
{
    memset(vq, 0, sizeof *vq);
    vq->levels = m->cfg.levels;
    for (int l = 0; l < m->cfg.levels; l++) {
        vq->rows[l] = o->pre[l]->shape[0];
        vq->x[l] = o->pre[l]->data;
        vq->index[l] = o->index[l];
        vq->valid[l] = o->masks[l + 1].valid;
    }
}

/* Histogram of the valid tokens' codes of one level -> used, perplexity. */
static void batch_usage(const pd_tokenizer *m, const forward_out *o, int l, int64_t *used, double *perplexity)
{
    const int64_t K = m->cfg.codebook, rows = o->pre[l]->shape[0];
    double *counts = calloc((size_t)K, sizeof *counts);
    if (!counts) {
        *used = -1;
        *perplexity = NAN;
        return;
    }
    for (int64_t r = 0; r < rows; r++)
        if (o->masks[l + 1].valid[r]) counts[o->index[l][r]] += 1;
    pd_vq_usage(counts, K, perplexity, used);
    free(counts);
}

pd_tensor *pd_tokenizer_loss(pd_graph *g, pd_tokenizer *m, pd_tensor *images, const int32_t *lengths,
                             const pd_tokenizer_norm *norm, pd_tokenizer_terms *terms, pd_tokenizer_vq_batch *vq,
                             pd_tensor **recon)
{
    if (recon) *recon = NULL;
    forward_out o;
    if (!forward(g, m, images, lengths, 1, &o)) return NULL;
    const pd_tokenizer_config *c = &m->cfg;
    const int n = c->levels;

    /* Target in the token layout of the output: [B, S², 3]; padding rows masked out. */
    pd_tensor *target = to_tokens(g, pd_detach(g, images));
    const double pix_norm = norm && norm->pixels > 0 ? 3.0 * norm->pixels : 0;
    pd_tensor *mse = pd_mse(g, o.recon, target, o.masks[0].valid, pix_norm);
    pd_tensor *loss = mse;
    pd_tensor *commit[PD_TOKENIZER_MAX_LEVELS];
    for (int l = 0; l < n; l++) {
        const double tok_norm = norm && norm->tokens[l] > 0 ? (double)c->latent_dim * norm->tokens[l] : 0;
        commit[l] = pd_mse(g, o.pre[l], pd_detach(g, o.qrows[l]), o.masks[l + 1].valid, tok_norm);
        loss = pd_add(g, loss, pd_scale(g, commit[l], c->beta));
    }
    if (pd_graph_status(g) != PD_OK) return NULL;
    if (terms) {
        memset(terms, 0, sizeof *terms);
        terms->levels = n;
        terms->loss = loss->data[0];
        terms->mse = mse->data[0];
        terms->pixels = o.masks[0].count;
        for (int l = 0; l < n; l++) {
            terms->commit[l] = commit[l]->data[0];
            terms->tokens[l] = o.masks[l + 1].count;
            batch_usage(m, &o, l, &terms->used[l], &terms->perplexity[l]);
        }
    }
    if (vq) fill_vq_batch(m, &o, vq);
    if (recon) *recon = o.recon;
    return loss;
}

pd_status pd_tokenizer_encode(pd_graph *g, pd_tokenizer *m, pd_tensor *images, const int32_t *lengths,
                              int32_t *const *codes, pd_tokenizer_vq_batch *vq)
{
    const int was = pd_graph_set_grad(g, 0);
    forward_out o;
    const int ok = forward(g, m, images, lengths, 0, &o);
    pd_graph_set_grad(g, was);
    if (!ok) return pd_graph_status(g);
    for (int l = 0; l < m->cfg.levels; l++)
        for (int64_t r = 0; r < o.masks[l + 1].cells; r++) codes[l][r] = o.masks[l + 1].valid[r] ? o.index[l][r] : -1;
    if (vq) fill_vq_batch(m, &o, vq);
    return PD_OK;
}

pd_status pd_tokenizer_decode(pd_graph *g, pd_tokenizer *m, const int32_t *const *codes, const int32_t *lengths,
                              int n_images, int side, pd_tensor **recon)
{
    *recon = NULL;
    const pd_tokenizer_config *c = &m->cfg;
    const int n = c->levels;
    const int64_t S = side, B = n_images;
    if (side < 1 || side % (1 << n) != 0)
        return pd_fail(PD_ERR_USAGE, "tokenizer decode: side %d is not a multiple of 2^levels = %d", side, 1 << n);
    for (int64_t b = 0; b < B; b++)
        if (lengths[b] < 1 || lengths[b] > side)
            return pd_fail(PD_ERR_USAGE, "tokenizer decode: image %lld has length %d outside 1..%d", (long long)b,
                           lengths[b], side);
    const int was = pd_graph_set_grad(g, 0);
    grid_mask masks[PD_TOKENIZER_MAX_LEVELS + 1];
    pd_tensor *q[PD_TOKENIZER_MAX_LEVELS];
    for (int r = 0; r <= n; r++)
        if (!build_mask(g, &masks[r], lengths, (int)B, S, r)) pd_graph_fail(g, "tokenizer decode: out of arena memory");
    for (int l = 0; l < n && pd_graph_status(g) == PD_OK; l++) {
        const int64_t T = (S >> (l + 1)) * (S >> (l + 1));
        for (int64_t r = 0; r < B * T; r++)
            if (codes[l][r] >= c->codebook) {
                pd_graph_set_grad(g, was);
                return pd_fail(PD_ERR_USAGE, "tokenizer decode: level %d token %lld has code %d >= codebook %d", l,
                               (long long)r, codes[l][r], c->codebook);
            }
        pd_tensor *table = pd_tensor_wrap(g, 2, (int64_t[]){c->codebook, c->latent_dim}, m->book[l].embed);
        pd_tensor *rows = pd_embedding(g, table, codes[l], B * T);
        q[l] = pd_mul(g, pd_reshape(g, rows, 3, (int64_t[]){B, T, c->latent_dim}), masks[l + 1].t);
    }
    pd_unit_begin(g, m->dec[0].unit);
    pd_tensor *d0 = decoder_forward(g, m, 0, q, masks, S);
    pd_unit_end(g, m->dec[0].unit);
    pd_tensor *out = refine_forward(g, m, d0, &masks[0]);
    out = pd_permute(g, pd_reshape(g, out, 4, (int64_t[]){B, S, S, 3}), (int[]){0, 3, 1, 2});
    pd_graph_set_grad(g, was);
    if (pd_graph_status(g) != PD_OK) return pd_graph_status(g);
    *recon = out;
    return PD_OK;
}
