/* diffusion.c — the latent DiT of SPEC §7 as forward code on the op set: parameters (one FSDP
 * unit per block), the padded per-entry layout, input/condition MLPs, adaLN-Zero blocks, the
 * final adaLN layer, the noised training loss, inference prediction and the sampler adapter. */
#include "models/diffusion.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "features/graph.h"
#include "models/diffusion_environment.h"
#include "models/diffusion_geometry.h"
#include "nn/layers.h"
#include "nn/ops.h"

typedef struct dit_block {
    int unit;
    pd_linear_layer ada;            /* W -> 6W: shift/scale/gate of attention, then of the MLP */
    pd_linear_layer qkv, proj;      /* W -> 3W (q | k | v, heads packed), W -> W */
    pd_linear_layer fc1, fc2;       /* W -> 4W -> W */
    pd_tensor *pair_v;           /* pair_values: [W, heads * GEO_PAIR], no bias, zero init */
} dit_block;

/* One message-passing layer of the environment (ProteinMPNN's encoder layer without its edge
 * update): m_i = mean over real neighbours j of msg([h_i, h_j, e_ij]); h = LN(h + m);
 * h = LN(h + ffn(h)); e_ij the neighbour's vector from the shared MLP. */
typedef struct env_layer {
    pd_linear_layer msg1, msg2;     /* 3E -> E -> E */
    pd_norm_layer norm1, norm2;     /* E */
    pd_linear_layer ffn1, ffn2;     /* E -> 2E -> E */
} env_layer;

struct pd_diffusion {
    pd_diffusion_config cfg;
    pd_schedule schedule;
    pd_params params;
    int unit_embed, unit_final;
    pd_linear_layer x_fc1, x_fc2;   /* [sc + bb + geometry node + environment] -> W -> W */
    pd_tensor *aa_table;         /* [22, W] */
    pd_linear_layer c_fc1, c_fc2;   /* [256 + W] -> W -> W */
    pd_tensor *geo_pair;         /* geometry: [depth*heads, GEO_PAIR] pair features -> biases */
    pd_tensor *geo_relpos;       /* geometry: [66, depth*heads] relative-position class -> biases */
    pd_linear_layer env_fc1, env_fc2; /* environment: neighbour features ENV_EDGE -> E -> E (shared MLP) */
    pd_tensor *env_att;          /* environment: [1, E], the attention-pooling score of a neighbour (no
                                  * bias: the softmax over the slots does not see a shift) */
    pd_linear_layer env_node_fc1, env_node_fc2; /* environment_layers: [2E + ENV_NODE] -> E -> E */
    env_layer *env_layers;       /* [environment_layers] */
    dit_block *blocks;           /* [depth] */
    pd_linear_layer final_ada;      /* W -> 2W: shift, scale */
    pd_linear_layer final_out;      /* W -> sc_latent */
    int unit_seq;                /* sequence_loss > 0: the latent classifier, sc_latent -> W -> 20 */
    pd_linear_layer seq_fc1, seq_fc2;
    pd_linear_layer hid_fc1, hid_fc2; /* sequence_head "hidden": the last hidden state, W -> W -> 20 */
};

/* ---- configuration ----------------------------------------------------------------------------- */

void pd_diffusion_config_default(pd_diffusion_config *c)
{
    c->depth = 4;
    c->width = 128;
    c->heads = 4;
    c->timesteps = 1000;
    c->sc_latent = 16;
    c->bb_latent = 32;
    c->target = PD_TARGET_EPS;
    c->geometry = 0;
    c->pair_values = 0;
    c->sequence_loss = 0;
    c->environment = 0;
    c->environment_width = 64;
    c->environment_layers = 0;
    c->design_fraction = 0;
    c->sequence_head = PD_SEQ_HEAD_LATENT;
}

pd_status pd_diffusion_config_check(const pd_diffusion_config *c)
{
    if (c->depth < 1) return pd_fail(PD_ERR_CONFIG, "diffusion: depth %d must be >= 1 (model.diffusion.depth)", c->depth);
    if (c->width < 1) return pd_fail(PD_ERR_CONFIG, "diffusion: width %d must be >= 1 (model.diffusion.width)", c->width);
    if (c->heads < 1 || c->width % c->heads != 0)
        return pd_fail(PD_ERR_CONFIG, "diffusion: %d heads do not divide width %d (model.diffusion.heads, model.diffusion.width)",
                       c->heads, c->width);
    if (c->timesteps < 2)
        return pd_fail(PD_ERR_CONFIG, "diffusion: %d timesteps, need >= 2 (model.diffusion.timesteps)", c->timesteps);
    if (c->sc_latent < 1) return pd_fail(PD_ERR_CONFIG, "diffusion: sc latent %d must be >= 1 (model.sc_vae.latent)", c->sc_latent);
    if (c->bb_latent < 1) return pd_fail(PD_ERR_CONFIG, "diffusion: bb latent %d must be >= 1 (model.bb_vae.latent)", c->bb_latent);
    if (c->target != PD_TARGET_EPS && c->target != PD_TARGET_X0)
        return pd_fail(PD_ERR_CONFIG, "diffusion: unknown target %d (model.diffusion.target)", (int)c->target);
    if (c->pair_values && !c->geometry)
        return pd_fail(PD_ERR_CONFIG, "diffusion: model.diffusion.pair_values needs model.diffusion.geometry = \"backbone\"");
    if (c->environment < 0 || c->environment > PD_DIFFUSION_ENV_MAX_K)
        return pd_fail(PD_ERR_CONFIG, "diffusion: environment %d must be 0..%d neighbours (model.diffusion.environment)",
                       c->environment, PD_DIFFUSION_ENV_MAX_K);
    if (c->environment > 0 && c->environment_width < 1)
        return pd_fail(PD_ERR_CONFIG, "diffusion: environment_width %d must be >= 1 (model.diffusion.environment_width)",
                       c->environment_width);
    if (c->environment_layers < 0 || c->environment_layers > PD_DIFFUSION_ENV_MAX_LAYERS)
        return pd_fail(PD_ERR_CONFIG, "diffusion: environment_layers %d must be 0..%d (model.diffusion.environment_layers)",
                       c->environment_layers, PD_DIFFUSION_ENV_MAX_LAYERS);
    if (c->environment_layers > 0 && c->environment == 0)
        return pd_fail(PD_ERR_CONFIG, "diffusion: model.diffusion.environment_layers needs model.diffusion.environment > 0");
    if (!(c->design_fraction >= 0 && c->design_fraction <= 1))
        return pd_fail(PD_ERR_CONFIG, "diffusion: design_fraction %g must be in [0, 1] (model.diffusion.design_fraction)",
                       c->design_fraction);
    if (c->environment > 0 && !c->geometry)
        return pd_fail(PD_ERR_CONFIG, "diffusion: model.diffusion.environment needs model.diffusion.geometry = \"backbone\"");
    if (!(c->sequence_loss >= 0))
        return pd_fail(PD_ERR_CONFIG, "diffusion: sequence_loss %g must be >= 0 (model.diffusion.sequence_loss)",
                       c->sequence_loss);
    if (c->sequence_head != PD_SEQ_HEAD_LATENT && c->sequence_head != PD_SEQ_HEAD_HIDDEN)
        return pd_fail(PD_ERR_CONFIG, "diffusion: unknown sequence head %d (model.diffusion.sequence_head)", c->sequence_head);
    if (c->sequence_head == PD_SEQ_HEAD_HIDDEN && !(c->sequence_loss > 0))
        return pd_fail(PD_ERR_CONFIG, "diffusion: model.diffusion.sequence_head = \"hidden\" is trained by the sequence loss: "
                                      "set model.diffusion.sequence_loss > 0");
    if (c->sequence_loss > 0 && c->target != PD_TARGET_X0)
        return pd_fail(PD_ERR_CONFIG,
                       "diffusion: model.diffusion.sequence_loss = %g reads x̂0, which needs model.diffusion.target = \"x0\"",
                       c->sequence_loss);
    return PD_OK;
}

pd_status pd_diffusion_config_from(const pd_config *cfg, pd_diffusion_config *c)
{
    pd_diffusion_config_default(c);
    c->depth = (int)pd_cfg_int(cfg, "model.diffusion.depth");
    c->width = (int)pd_cfg_int(cfg, "model.diffusion.width");
    c->heads = (int)pd_cfg_int(cfg, "model.diffusion.heads");
    c->timesteps = (int)pd_cfg_int(cfg, "model.diffusion.timesteps");
    c->sc_latent = (int)pd_cfg_int(cfg, "model.sc_vae.latent");
    c->bb_latent = (int)pd_cfg_int(cfg, "model.bb_vae.latent");
    const char *geometry = pd_cfg_str(cfg, "model.diffusion.geometry");
    c->geometry = geometry && strcmp(geometry, "backbone") == 0;
    c->pair_values = pd_cfg_bool(cfg, "model.diffusion.pair_values");
    c->sequence_loss = pd_cfg_float(cfg, "model.diffusion.sequence_loss");
    c->environment = (int)pd_cfg_int(cfg, "model.diffusion.environment");
    c->environment_width = (int)pd_cfg_int(cfg, "model.diffusion.environment_width");
    c->environment_layers = (int)pd_cfg_int(cfg, "model.diffusion.environment_layers");
    c->design_fraction = pd_cfg_float(cfg, "model.diffusion.design_fraction");
    const char *head = pd_cfg_str(cfg, "model.diffusion.sequence_head");
    c->sequence_head = head && strcmp(head, "hidden") == 0 ? PD_SEQ_HEAD_HIDDEN : PD_SEQ_HEAD_LATENT;
    pd_status s = pd_diffusion_target_parse(pd_cfg_str(cfg, "model.diffusion.target"), &c->target);
    if (s == PD_OK) s = pd_diffusion_config_check(c);
    if (s != PD_OK) pd_error_context("run file %s", cfg->file ? cfg->file : "<none>");
    return s;
}

/* ---- parameters ---------------------------------------------------------------------------------- */

/* What the environment's reader pools per residue: attention-pooled and mean neighbour vectors
 * (E = environment_width each) and the residue's own atoms (ENV_NODE). */
static int environment_pooled_width(const pd_diffusion_config *c)
{
    return 2 * c->environment_width + PD_DIFFUSION_ENV_NODE;
}

/* What the environment adds to the input MLP per residue: the pooled reader's output, or with
 * message passing the last layer's hidden state (E); 0 without model.diffusion.environment. */
static int environment_width(const pd_diffusion_config *c)
{
    if (c->environment == 0) return 0;
    return c->environment_layers > 0 ? c->environment_width : environment_pooled_width(c);
}

/* The environment's message-passing layers (model.diffusion.environment_layers), in unit "embed". */
static pd_status declare_env_layers(pd_diffusion *m, pd_params *P)
{
    const pd_diffusion_config *c = &m->cfg;
    const int E = c->environment_width;
    m->env_layers = pd_calloc((size_t)c->environment_layers, sizeof *m->env_layers);
    if (!m->env_layers) return PD_ERR_NOMEM;
    m->env_node_fc1 = pd_declare_linear_init(P, NULL, "env_embed.node.fc1", E, environment_pooled_width(c),
                                             PD_INIT_XAVIER_UNIFORM, 1.0);
    m->env_node_fc2 = pd_declare_linear_init(P, NULL, "env_embed.node.fc2", E, E, PD_INIT_XAVIER_UNIFORM, 1.0);
    for (int l = 0; l < c->environment_layers; l++) {
        env_layer *L = &m->env_layers[l];
        char prefix[48];
        snprintf(prefix, sizeof prefix, "env_embed.layers.%d", l);
        L->msg1 = pd_declare_linear_init(P, prefix, "msg.fc1", E, 3 * E, PD_INIT_XAVIER_UNIFORM, 1.0);
        L->msg2 = pd_declare_linear_init(P, prefix, "msg.fc2", E, E, PD_INIT_XAVIER_UNIFORM, 1.0);
        L->norm1 = pd_declare_norm(P, prefix, "norm1", E, PD_BIAS);
        L->ffn1 = pd_declare_linear_init(P, prefix, "ffn.fc1", 2 * E, E, PD_INIT_XAVIER_UNIFORM, 1.0);
        L->ffn2 = pd_declare_linear_init(P, prefix, "ffn.fc2", E, 2 * E, PD_INIT_XAVIER_UNIFORM, 1.0);
        L->norm2 = pd_declare_norm(P, prefix, "norm2", E, PD_BIAS);
    }
    return PD_OK;
}

pd_status pd_diffusion_create(pd_diffusion **out, const pd_diffusion_config *c, const pd_model_opts *opts)
{
    *out = NULL;
    PD_TRY(pd_diffusion_config_check(c));
    pd_diffusion *m = pd_calloc(1, sizeof *m);
    if (!m) return PD_ERR_NOMEM;
    m->cfg = *c;
    pd_params_init(&m->params);
    m->blocks = pd_calloc((size_t)c->depth, sizeof *m->blocks);
    pd_status s = m->blocks ? pd_schedule_cosine(&m->schedule, c->timesteps) : PD_ERR_NOMEM;
    if (s != PD_OK) {
        pd_diffusion_destroy(m);
        return s;
    }
    pd_params *P = &m->params;
    int W = c->width;
    m->unit_embed = pd_params_unit_begin(P, "embed");
    const int extra_inputs = (c->geometry ? PD_DIFFUSION_GEO_NODE : 0) + environment_width(c);
    m->x_fc1 = pd_declare_linear_init(P, NULL, "x_embed.fc1", W, c->sc_latent + c->bb_latent + extra_inputs,
                                      PD_INIT_XAVIER_UNIFORM, 1.0);
    m->x_fc2 = pd_declare_linear_init(P, NULL, "x_embed.fc2", W, W, PD_INIT_XAVIER_UNIFORM, 1.0);
    m->aa_table = pd_param_new(P, "aa_embed.weight", 2, (int64_t[]){PD_DIFFUSION_TOKENS, W}, PD_INIT_NORMAL, 0.02);
    m->c_fc1 = pd_declare_linear_init(P, NULL, "c_embed.fc1", W, PD_DIFFUSION_FREQ_DIM + W, PD_INIT_NORMAL, 0.02);
    m->c_fc2 = pd_declare_linear_init(P, NULL, "c_embed.fc2", W, W, PD_INIT_NORMAL, 0.02);
    if (c->geometry) {
        /* zero: every block starts with the spec's attention; the gradient is not zero */
        const int64_t nb = (int64_t)c->depth * c->heads;
        m->geo_pair = pd_param_new(P, "geo_embed.pair.weight", 2, (int64_t[]){nb, PD_DIFFUSION_GEO_PAIR}, PD_INIT_ZEROS, 0);
        m->geo_relpos = pd_param_new(P, "geo_embed.relpos.weight", 2, (int64_t[]){PD_BB_RELPOS_CLASSES, nb},
                                     PD_INIT_ZEROS, 0);
    }
    if (c->environment > 0) {
        const int E = c->environment_width;
        m->env_fc1 = pd_declare_linear_init(P, NULL, "env_embed.fc1", E, PD_DIFFUSION_ENV_EDGE, PD_INIT_XAVIER_UNIFORM, 1.0);
        m->env_fc2 = pd_declare_linear_init(P, NULL, "env_embed.fc2", E, E, PD_INIT_XAVIER_UNIFORM, 1.0);
        m->env_att = pd_param_new(P, "env_embed.att.weight", 2, (int64_t[]){1, E}, PD_INIT_XAVIER_UNIFORM, 1.0);
        if (c->environment_layers > 0 && declare_env_layers(m, P) != PD_OK) {
            pd_diffusion_destroy(m);
            return PD_ERR_NOMEM;
        }
    }
    pd_params_unit_end(P);
    for (int l = 0; l < c->depth; l++) {
        dit_block *B = &m->blocks[l];
        char unit[32], name[64];
        snprintf(unit, sizeof unit, "blocks.%d", l);
        B->unit = pd_params_unit_begin(P, unit);
        snprintf(name, sizeof name, "%s.adaLN", unit);
        B->ada = pd_declare_linear_init(P, NULL, name, 6 * W, W, PD_INIT_ZEROS, 0);
        snprintf(name, sizeof name, "%s.attn.qkv", unit);
        B->qkv = pd_declare_linear_init(P, NULL, name, 3 * W, W, PD_INIT_XAVIER_UNIFORM, 1.0);
        snprintf(name, sizeof name, "%s.attn.proj", unit);
        B->proj = pd_declare_linear_init(P, NULL, name, W, W, PD_INIT_XAVIER_UNIFORM, 1.0);
        snprintf(name, sizeof name, "%s.mlp.fc1", unit);
        B->fc1 = pd_declare_linear_init(P, NULL, name, PD_DIFFUSION_MLP_RATIO * W, W, PD_INIT_XAVIER_UNIFORM, 1.0);
        snprintf(name, sizeof name, "%s.mlp.fc2", unit);
        B->fc2 = pd_declare_linear_init(P, NULL, name, W, PD_DIFFUSION_MLP_RATIO * W, PD_INIT_XAVIER_UNIFORM, 1.0);
        if (c->pair_values) {   /* zero: the block starts as without it; the gradient is not zero */
            snprintf(name, sizeof name, "%s.attn.pair_values.weight", unit);
            B->pair_v = pd_param_new(P, name, 2, (int64_t[]){W, (int64_t)c->heads * PD_DIFFUSION_GEO_PAIR},
                                     PD_INIT_ZEROS, 0);
        }
        pd_params_unit_end(P);
    }
    m->unit_final = pd_params_unit_begin(P, "final");
    m->final_ada = pd_declare_linear_init(P, NULL, "final.adaLN", 2 * W, W, PD_INIT_ZEROS, 0);
    m->final_out = pd_declare_linear_init(P, NULL, "final.linear", c->sc_latent, W, PD_INIT_ZEROS, 0);
    pd_params_unit_end(P);
    if (c->sequence_loss > 0) {
        m->unit_seq = pd_params_unit_begin(P, "seq_head");
        m->seq_fc1 = pd_declare_linear_init(P, NULL, "seq_head.fc1", W, c->sc_latent, PD_INIT_XAVIER_UNIFORM, 1.0);
        m->seq_fc2 = pd_declare_linear_init(P, NULL, "seq_head.fc2", PD_DIFFUSION_SEQ_CLASSES, W, PD_INIT_XAVIER_UNIFORM, 1.0);
        if (c->sequence_head == PD_SEQ_HEAD_HIDDEN) {
            m->hid_fc1 = pd_declare_linear_init(P, NULL, "seq_head.hidden.fc1", W, W, PD_INIT_XAVIER_UNIFORM, 1.0);
            m->hid_fc2 = pd_declare_linear_init(P, NULL, "seq_head.hidden.fc2", PD_DIFFUSION_SEQ_CLASSES, W,
                                                PD_INIT_XAVIER_UNIFORM, 1.0);
        }
        pd_params_unit_end(P);
    }
    s = pd_params_finalize(P, pd_model_pad(opts));
    if (s != PD_OK) {
        pd_error_context("diffusion parameters");
        pd_diffusion_destroy(m);
        return s;
    }
    pd_params_init_values(P, pd_model_seed(opts));
    *out = m;
    return PD_OK;
}

void pd_diffusion_destroy(pd_diffusion *m)
{
    if (!m) return;
    pd_params_free(&m->params);
    pd_schedule_free(&m->schedule);
    free(m->blocks);
    free(m->env_layers);
    free(m);
}

pd_params *pd_diffusion_params(pd_diffusion *m) { return &m->params; }
const pd_diffusion_config *pd_diffusion_get_config(const pd_diffusion *m) { return &m->cfg; }
const pd_schedule *pd_diffusion_get_schedule(const pd_diffusion *m) { return &m->schedule; }

/* ---- layout: packed residues <-> padded [B, L] ------------------------------------------------ */

typedef struct layout {
    int64_t B, L, N;
    int64_t *slot;          /* [N] padded row of each packed residue */
    uint8_t *key_valid;     /* [B*L] real and valid residues */
    int32_t *entry_of;      /* [B*L] entry of each padded row */
} layout;

static int make_layout(pd_graph *g, int n_entries, const int64_t *offset, const uint8_t *valid, layout *lay)
{
    if (n_entries < 1 || !offset) {
        pd_graph_fail(g, "diffusion: a batch needs >= 1 entry and its residue offsets (got %d entries)", n_entries);
        return 0;
    }
    int64_t L = 1;
    for (int b = 0; b < n_entries; b++) {
        int64_t len = offset[b + 1] - offset[b];
        if (len < 1 || offset[b] < 0) {
            pd_graph_fail(g, "diffusion: entry %d has residue rows [%lld, %lld): every entry needs >= 1 residue", b,
                          (long long)offset[b], (long long)offset[b + 1]);
            return 0;
        }
        if (len > L) L = len;
    }
    lay->B = n_entries;
    lay->L = L;
    lay->N = offset[n_entries] - offset[0];
    lay->slot = pd_graph_alloc(g, (size_t)lay->N * sizeof *lay->slot);
    lay->key_valid = pd_graph_alloc(g, (size_t)(lay->B * L));
    lay->entry_of = pd_graph_alloc(g, (size_t)(lay->B * L) * sizeof *lay->entry_of);
    if (!lay->slot || !lay->key_valid || !lay->entry_of) {
        pd_graph_fail(g, "diffusion: out of memory for the layout of %lld residues", (long long)lay->N);
        return 0;
    }
    memset(lay->key_valid, 0, (size_t)(lay->B * L));
    for (int b = 0; b < n_entries; b++) {
        for (int64_t i = 0; i < L; i++) lay->entry_of[b * L + i] = b;
        for (int64_t r = offset[b]; r < offset[b + 1]; r++) {
            int64_t row = r - offset[0], p = b * L + (r - offset[b]);
            lay->slot[row] = p;
            lay->key_valid[p] = valid ? valid[row] != 0 : 1;
        }
    }
    return 1;
}

/* Packed rows [N, D] (float) -> a padded [B, L, D] tensor, zeros in the padding. */
static pd_tensor *pad_rows(pd_graph *g, const layout *lay, const float *src, int D)
{
    pd_tensor *t = pd_tensor_zeros(g, 3, (int64_t[]){lay->B, lay->L, D});
    if (!t) return NULL;
    for (int64_t r = 0; r < lay->N; r++)
        for (int j = 0; j < D; j++) t->data[lay->slot[r] * D + j] = (pd_real)src[r * D + j];
    return t;
}

/* ---- forward ------------------------------------------------------------------------------------ */

void pd_diffusion_timestep_features(double t, float out[PD_DIFFUSION_FREQ_DIM])
{
    int half = PD_DIFFUSION_FREQ_DIM / 2;
    for (int j = 0; j < half; j++) {
        double f = exp(-log(PD_DIFFUSION_MAX_PERIOD) * j / half);
        out[j] = (float)cos(t * f);
        out[half + j] = (float)sin(t * f);
    }
}

/* Attention written out (pair_values): P = softmax(q kᵀ/√dh + bias + mask) per head; returns
 * P v [B, L, W] and, into *pv, Σ_j P_ij e_ij per head [B, L, heads · F] for pair [B, L, L, F]. */
static pd_tensor *attention_pair_values(pd_graph *g, pd_tensor *q, pd_tensor *k, pd_tensor *v, int H,
                                        const uint8_t *key_valid, pd_tensor *bias, pd_tensor *pair, pd_tensor **pv)
{
    *pv = NULL;
    if (!pd_graph_ok(g, q) || !pd_graph_ok(g, pair)) return NULL;
    const int64_t B = q->shape[0], L = q->shape[1], W = q->shape[2], dh = W / H, F = pair->shape[3];
    const int heads_first[4] = {0, 2, 1, 3};
    pd_tensor *q4 = pd_permute(g, pd_reshape(g, q, 4, (int64_t[]){B, L, H, dh}), heads_first);
    pd_tensor *k4 = pd_permute(g, pd_reshape(g, k, 4, (int64_t[]){B, L, H, dh}), heads_first);
    pd_tensor *v4 = pd_permute(g, pd_reshape(g, v, 4, (int64_t[]){B, L, H, dh}), heads_first);
    pd_tensor *scores = pd_scale(g, pd_matmul(g, q4, k4, 0, 1), 1.0 / sqrt((double)dh));   /* [B, H, L, L] */
    if (bias) scores = pd_add(g, scores, pd_permute(g, bias, (const int[]){0, 3, 1, 2}));
    pd_tensor *mask = pd_tensor_zeros(g, 4, (int64_t[]){B, 1, 1, L});
    if (!mask) return NULL;
    for (int64_t i = 0; key_valid && i < B * L; i++) mask->data[i] = key_valid[i] ? 0 : (pd_real)-1e30;
    pd_tensor *P = pd_softmax(g, pd_add(g, scores, mask));
    pd_tensor *out = pd_reshape(g, pd_permute(g, pd_matmul(g, P, v4, 0, 0), heads_first), 3, (int64_t[]){B, L, W});
    /* per query row (b, i): P[b, :, i, :] [H, L] times pair[b, i] [L, F] */
    pd_tensor *P_rows = pd_reshape(g, pd_permute(g, P, heads_first), 3, (int64_t[]){B * L, H, L});
    pd_tensor *sums = pd_matmul(g, P_rows, pd_reshape(g, pair, 3, (int64_t[]){B * L, L, F}), 0, 0);
    *pv = pd_reshape(g, sums, 3, (int64_t[]){B, L, H * F});
    return out;
}

pd_tensor *pd_diffusion_block(pd_graph *g, pd_diffusion *m, int block, pd_tensor *x, pd_tensor *silu_c,
                              const uint8_t *key_valid, pd_tensor *bias, pd_tensor *pair)
{
    if (!pd_graph_ok(g, x) || !pd_graph_ok(g, silu_c)) return NULL;
    if (block < 0 || block >= m->cfg.depth) return pd_graph_fail(g, "diffusion: block %d of %d", block, m->cfg.depth);
    const dit_block *B = &m->blocks[block];
    int64_t W = m->cfg.width;
    pd_unit_begin(g, B->unit);
    pd_tensor *mod[6];
    pd_tensor *ada = pd_apply_linear(g, silu_c, &B->ada);
    if (!ada || pd_split(g, ada, -1, 6, (int64_t[]){W, W, W, W, W, W}, mod) != PD_OK) {
        pd_unit_end(g, B->unit);
        return NULL;
    }
    pd_tensor *h = pd_modulate(g, pd_layernorm(g, x, NULL, NULL, PD_DIFFUSION_LN_EPS), mod[0], mod[1]);
    pd_tensor *qkv = pd_apply_linear(g, h, &B->qkv), *q[3] = {NULL, NULL, NULL};
    if (!qkv || pd_split(g, qkv, -1, 3, (int64_t[]){W, W, W}, q) != PD_OK) {
        pd_unit_end(g, B->unit);
        return NULL;
    }
    pd_tensor *att;
    if (m->cfg.pair_values) {
        if (!pair) {
            pd_unit_end(g, B->unit);
            return pd_graph_fail(g, "diffusion: model.diffusion.pair_values needs the pair features of the batch");
        }
        pd_tensor *pv = NULL, *o = attention_pair_values(g, q[0], q[1], q[2], m->cfg.heads, key_valid, bias, pair, &pv);
        att = pd_add(g, pd_apply_linear(g, o, &B->proj), pd_linear(g, pv, B->pair_v, NULL));
    } else {
        att = pd_apply_linear(g, pd_attention_biased(g, q[0], q[1], q[2], m->cfg.heads, key_valid, 0, bias), &B->proj);
    }
    x = pd_add(g, x, pd_mul(g, mod[2], att));
    h = pd_modulate(g, pd_layernorm(g, x, NULL, NULL, PD_DIFFUSION_LN_EPS), mod[3], mod[4]);
    h = pd_apply_linear(g, pd_silu(g, pd_apply_linear(g, h, &B->fc1)), &B->fc2);
    x = pd_add(g, x, pd_mul(g, mod[5], h));
    pd_unit_end(g, B->unit);
    return x;
}

/* Geometry inputs of a padded batch (model.diffusion.geometry): node features [B, L, GEO_NODE]
 * into *node, and the per-block attention biases [B, L, L, heads] into bias[0..depth-1]
 * (pair features through geo_pair plus the relative-position table; unit "embed"). */
static int geometry_inputs(pd_graph *g, pd_diffusion *m, const layout *lay, const pd_diffusion_geo_input *in,
                           pd_tensor **node, pd_tensor **bias, pd_tensor **pair_out)
{
    const pd_diffusion_config *c = &m->cfg;
    if (!in->atom14) {
        pd_graph_fail(g, "diffusion: model.diffusion.geometry = \"backbone\" needs the backbone coordinates of the batch");
        return 0;
    }
    const int64_t B = lay->B, L = lay->L, nb = (int64_t)c->depth * c->heads;
    float *nodes = pd_graph_alloc(g, (size_t)(lay->N * PD_DIFFUSION_GEO_NODE) * sizeof *nodes);
    pd_tensor *pair = pd_tensor_new(g, 4, (int64_t[]){B, L, L, PD_DIFFUSION_GEO_PAIR});
    float *pairf = pd_graph_alloc(g, (size_t)(B * L * L * PD_DIFFUSION_GEO_PAIR) * sizeof *pairf);
    int32_t *relpos = pd_graph_alloc(g, (size_t)(B * L * L) * sizeof *relpos);
    if (!nodes || !pair || !pairf || !relpos) {
        pd_graph_fail(g, "diffusion: out of memory for the pair geometry of %lld x %lld x %lld", (long long)B,
                      (long long)L, (long long)L);
        return 0;
    }
    pd_diffusion_geo_nodes(in, nodes);
    pd_diffusion_geo_pairs(in, L, pairf, relpos);
    for (int64_t i = 0; i < B * L * L * PD_DIFFUSION_GEO_PAIR; i++) pair->data[i] = (pd_real)pairf[i];
    *node = pad_rows(g, lay, nodes, PD_DIFFUSION_GEO_NODE);
    *pair_out = pair;
    pd_tensor *all = pd_add(g, pd_linear(g, pair, m->geo_pair, NULL),
                            pd_reshape(g, pd_embedding(g, m->geo_relpos, relpos, B * L * L), 4, (int64_t[]){B, L, L, nb}));
    if (!*node || !all) return 0;
    if (c->depth == 1) {
        bias[0] = all;
        return 1;
    }
    int64_t *sizes = pd_graph_alloc(g, (size_t)c->depth * sizeof *sizes);
    if (!sizes) return 0;
    for (int l = 0; l < c->depth; l++) sizes[l] = c->heads;
    return pd_split(g, all, -1, c->depth, sizes, bias) == PD_OK;
}

/* model.diffusion.environment_layers: message passing over the environment's k-nearest graph.
 * x [N, E] the residues' states, h [N·k, E] the neighbour vectors of the shared MLP, nb [N·k] the
 * neighbour's packed row per slot (the residue itself in an empty slot), mean_w [N, k, 1] the
 * real neighbours' mean weights (0 in an empty slot). */
static pd_tensor *environment_message_passing(pd_graph *g, pd_diffusion *m, pd_tensor *x, pd_tensor *h,
                                              const int32_t *nb, pd_tensor *mean_w, int64_t N, int64_t k)
{
    const int64_t E = m->cfg.environment_width;
    int32_t *self = pd_graph_alloc(g, (size_t)(N * k) * sizeof *self);
    if (!self) return pd_graph_fail(g, "diffusion: out of memory for the environment's %lld slots", (long long)(N * k));
    for (int64_t s = 0; s < N * k; s++) self[s] = (int32_t)(s / k);
    for (int l = 0; l < m->cfg.environment_layers; l++) {
        const env_layer *L = &m->env_layers[l];
        pd_tensor *xi = pd_gather_rows(g, x, self, N * k), *xj = pd_gather_rows(g, x, nb, N * k);
        pd_tensor *msg = pd_concat(g, 3, (pd_tensor *[]){xi, xj, h}, -1);
        msg = pd_apply_linear(g, pd_silu(g, pd_apply_linear(g, msg, &L->msg1)), &L->msg2);
        msg = pd_sum_axis(g, pd_mul(g, pd_reshape(g, msg, 3, (int64_t[]){N, k, E}), mean_w), 1);
        x = pd_apply_layernorm(g, pd_add(g, x, msg), &L->norm1, PD_DIFFUSION_ENV_LN_EPS);
        pd_tensor *ffn = pd_apply_linear(g, pd_silu(g, pd_apply_linear(g, x, &L->ffn1)), &L->ffn2);
        x = pd_apply_layernorm(g, pd_add(g, x, ffn), &L->norm2, PD_DIFFUSION_ENV_LN_EPS);
    }
    return x;
}

/* The float features of the environment into a new tensor of the graph of that shape. */
static pd_tensor *tensor_from_floats(pd_graph *g, int ndim, const int64_t *shape, const float *src)
{
    pd_tensor *t = pd_tensor_new(g, ndim, shape);
    if (!t) return NULL;
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= shape[d];
    for (int64_t i = 0; i < n; i++) t->data[i] = (pd_real)src[i];
    return t;
}

/* The local environment (model.diffusion.environment = k), computed on the packed residues (not
 * the padding): each neighbour's features through the shared MLP, pooled by a softmax over the
 * residue's k slots and by the mean over its real neighbours, beside the residue's own atoms
 * (then, with environment_layers, message passing from there), placed in the padded layout ->
 * [B, L, environment_width(c)] (unit "embed"). */
static pd_tensor *environment_inputs(pd_graph *g, pd_diffusion *m, const layout *lay, const pd_diffusion_geo_input *in)
{
    const int64_t N = lay->N, k = m->cfg.environment, W = m->cfg.environment_width;
    float *ef = pd_graph_alloc(g, (size_t)(N * k) * PD_DIFFUSION_ENV_EDGE * sizeof *ef);
    float *nf = pd_graph_alloc(g, (size_t)N * PD_DIFFUSION_ENV_NODE * sizeof *nf);
    float *mf = pd_graph_alloc(g, (size_t)(N * k) * sizeof *mf);
    float *wf = pd_graph_alloc(g, (size_t)(N * k) * sizeof *wf);
    const int passing = m->cfg.environment_layers > 0;   /* only message passing reads the neighbours' rows */
    int32_t *nb = passing ? pd_graph_alloc(g, (size_t)(N * k) * sizeof *nb) : NULL;
    int32_t *slot = pd_graph_alloc(g, (size_t)N * sizeof *slot);
    if (!ef || !nf || !mf || !wf || (passing && !nb) || !slot || !pd_diffusion_environment(in, (int)k, ef, nf, mf, wf, nb))
        return pd_graph_fail(g, "diffusion: out of memory for the environment of %lld residues x %lld neighbours",
                             (long long)N, (long long)k);
    pd_tensor *edge = tensor_from_floats(g, 2, (int64_t[]){N * k, PD_DIFFUSION_ENV_EDGE}, ef);
    pd_tensor *own = tensor_from_floats(g, 2, (int64_t[]){N, PD_DIFFUSION_ENV_NODE}, nf);
    pd_tensor *mask = tensor_from_floats(g, 2, (int64_t[]){N, k}, mf);
    pd_tensor *mean_w = tensor_from_floats(g, 3, (int64_t[]){N, k, 1}, wf);
    if (!edge || !own || !mask || !mean_w) return NULL;
    for (int64_t r = 0; r < N; r++) slot[r] = (int32_t)lay->slot[r];
    pd_tensor *h = pd_silu(g, pd_apply_linear(g, pd_silu(g, pd_apply_linear(g, edge, &m->env_fc1)), &m->env_fc2));
    pd_tensor *score = pd_add(g, pd_reshape(g, pd_linear(g, h, m->env_att, NULL), 2, (int64_t[]){N, k}), mask);
    pd_tensor *att = pd_reshape(g, pd_softmax(g, score), 3, (int64_t[]){N, k, 1});
    pd_tensor *h3 = pd_reshape(g, h, 3, (int64_t[]){N, k, W});
    pd_tensor *pooled = pd_sum_axis(g, pd_mul(g, h3, att), 1);
    pd_tensor *mean = pd_sum_axis(g, pd_mul(g, h3, mean_w), 1);
    pd_tensor *all = pd_concat(g, 3, (pd_tensor *[]){pooled, mean, own}, -1);
    if (passing) {
        pd_tensor *x = pd_apply_linear(g, pd_silu(g, pd_apply_linear(g, all, &m->env_node_fc1)), &m->env_node_fc2);
        all = environment_message_passing(g, m, x, h, nb, mean_w, N, k);
    }
    const int64_t D = environment_width(&m->cfg);
    return pd_reshape(g, pd_scatter_add_rows(g, all, slot, lay->B * lay->L), 3, (int64_t[]){lay->B, lay->L, D});
}

/* The whole network on a padded batch: x_t [B, L, sc], bb [B, L, bb], t per entry, tokens per
 * padded row (-1 in padding), the backbone when the model reads geometry. Returns pred [B, L, sc];
 * *hidden (may be NULL) the last hidden state [B, L, W] that final.linear reads. */
static pd_tensor *dit_forward(pd_graph *g, pd_diffusion *m, const layout *lay, pd_tensor *x_t, pd_tensor *bb,
                              const int32_t *t, const int32_t *tokens_padded, const pd_diffusion_geo_input *geo,
                              pd_tensor **hidden)
{
    if (hidden) *hidden = NULL;
    const pd_diffusion_config *c = &m->cfg;
    int64_t BL = lay->B * lay->L;
    pd_tensor *freq = pd_tensor_new2(g, BL, PD_DIFFUSION_FREQ_DIM);
    float *feat = pd_graph_alloc(g, PD_DIFFUSION_FREQ_DIM * sizeof *feat);
    if (!freq || !feat) return NULL;
    for (int64_t b = 0; b < lay->B; b++) {
        pd_diffusion_timestep_features(t[b], feat);
        for (int64_t i = 0; i < lay->L; i++)
            for (int j = 0; j < PD_DIFFUSION_FREQ_DIM; j++)
                freq->data[(b * lay->L + i) * PD_DIFFUSION_FREQ_DIM + j] = (pd_real)feat[j];
    }

    pd_unit_begin(g, m->unit_embed);
    pd_tensor *node = NULL, *pair = NULL, **bias = pd_graph_alloc(g, (size_t)c->depth * sizeof *bias);
    if (!bias) {
        pd_unit_end(g, m->unit_embed);
        return pd_graph_fail(g, "diffusion: out of memory");
    }
    memset(bias, 0, (size_t)c->depth * sizeof *bias);
    if (c->geometry && !geometry_inputs(g, m, lay, geo, &node, bias, &pair)) {
        pd_unit_end(g, m->unit_embed);
        return NULL;
    }
    pd_tensor *env = NULL;
    if (c->environment > 0 && !(env = environment_inputs(g, m, lay, geo))) {
        pd_unit_end(g, m->unit_embed);
        return NULL;
    }
    pd_tensor *parts[4] = {x_t, bb, node, env};
    pd_tensor *x = pd_concat(g, node ? (env ? 4 : 3) : 2, parts, -1);
    x = pd_apply_linear(g, pd_silu(g, pd_apply_linear(g, x, &m->x_fc1)), &m->x_fc2);
    pd_tensor *aa = pd_embedding(g, m->aa_table, tokens_padded, BL);
    pd_tensor *cond = pd_concat(g, 2, (pd_tensor *[]){freq, aa}, -1);
    cond = pd_apply_linear(g, pd_silu(g, pd_apply_linear(g, cond, &m->c_fc1)), &m->c_fc2);
    pd_unit_end(g, m->unit_embed);
    /* every adaLN linear reads SiLU(c) (DiT: Sequential(SiLU, Linear)); computed once */
    pd_tensor *silu_c = pd_reshape(g, pd_silu(g, cond), 3, (int64_t[]){lay->B, lay->L, c->width});

    for (int l = 0; l < c->depth; l++) x = pd_diffusion_block(g, m, l, x, silu_c, lay->key_valid, bias[l], pair);

    pd_unit_begin(g, m->unit_final);
    pd_tensor *mod[2] = {NULL, NULL};
    pd_tensor *ada = pd_apply_linear(g, silu_c, &m->final_ada);
    pd_tensor *pred = NULL;
    if (ada && pd_split(g, ada, -1, 2, (int64_t[]){c->width, c->width}, mod) == PD_OK) {
        pd_tensor *h = pd_modulate(g, pd_layernorm(g, x, NULL, NULL, PD_DIFFUSION_LN_EPS), mod[0], mod[1]);
        pred = pd_apply_linear(g, h, &m->final_out);
        if (hidden) *hidden = h;
    }
    pd_unit_end(g, m->unit_final);
    return pred;
}

/* ---- loss ----------------------------------------------------------------------------------------- */

static int check_tokens(pd_graph *g, int64_t N, const int32_t *tokens)
{
    for (int64_t r = 0; r < N; r++)
        if (tokens[r] < 0 || tokens[r] >= PD_DIFFUSION_TOKENS) {
            pd_graph_fail(g, "diffusion: residue %lld has token %d, expected 0..%d (20 unknown, 21 <mask>)", (long long)r,
                          (int)tokens[r], PD_DIFFUSION_TOKENS - 1);
            return 0;
        }
    return 1;
}

static int32_t *pad_tokens(pd_graph *g, const layout *lay, const int32_t *tokens)
{
    int32_t *p = pd_graph_alloc(g, (size_t)(lay->B * lay->L) * sizeof *p);
    if (!p) return NULL;
    for (int64_t i = 0; i < lay->B * lay->L; i++) p[i] = -1;
    for (int64_t r = 0; r < lay->N; r++) p[lay->slot[r]] = tokens[r];
    return p;
}

pd_status pd_diffusion_draw(const pd_diffusion *m, const pd_diffusion_batch *b, uint64_t seed, uint64_t step, int32_t *t,
                            int32_t *tokens, float *noise)
{
    int D = m->cfg.sc_latent;
    int64_t base = b->offset[0];
    for (int e = 0; e < b->n_entries; e++) {
        pd_rng rng;
        pd_rng_init(&rng, seed, step, b->entry_keys ? b->entry_keys[e] : (uint64_t)e, PD_RNG_NOISE);
        t[e] = (int32_t)pd_rng_below(&rng, (uint64_t)m->cfg.timesteps);
        double p = pd_rng_uniform(&rng);
        if (m->cfg.design_fraction > 0 && pd_rng_uniform(&rng) < m->cfg.design_fraction) {
            t[e] = m->cfg.timesteps - 1;   /* drawn as design asks: pure noise, every amino acid masked */
            p = 0;
        }
        for (int64_t r = b->offset[e]; r < b->offset[e + 1]; r++) {
            int aa = b->aa[r - base];
            if (aa < 0 || aa > PD_DIFFUSION_TOKEN_UNKNOWN)
                return pd_fail(PD_ERR, "diffusion: entry %d residue %lld has amino acid %d, expected 0..20", e,
                               (long long)(r - b->offset[e]), aa);
            tokens[r - base] = pd_rng_uniform(&rng) < p ? aa : PD_DIFFUSION_TOKEN_MASK;
        }
        for (int64_t r = b->offset[e]; r < b->offset[e + 1]; r++)
            for (int j = 0; j < D; j++) noise[(r - base) * D + j] = (float)pd_rng_normal(&rng);
    }
    return PD_OK;
}

/* The latent classifier: sc_latent -> W -> 20 logits (weights detached when `frozen`). */
static pd_tensor *seq_head(pd_graph *g, pd_diffusion *m, pd_tensor *z, int frozen)
{
    const pd_linear_layer *l1 = &m->seq_fc1, *l2 = &m->seq_fc2;
    if (!frozen) return pd_apply_linear(g, pd_silu(g, pd_apply_linear(g, z, l1)), l2);
    pd_tensor *h = pd_linear(g, z, pd_detach(g, l1->w), pd_detach(g, l1->b));
    return pd_linear(g, pd_silu(g, h), pd_detach(g, l2->w), pd_detach(g, l2->b));
}

/* sequence_head "hidden": the last hidden state [.., W] -> W -> 20 logits. */
static pd_tensor *hidden_head(pd_graph *g, pd_diffusion *m, pd_tensor *h)
{
    return pd_apply_linear(g, pd_silu(g, pd_apply_linear(g, h, &m->hid_fc1)), &m->hid_fc2);
}

/* Arg-max of row r of logits [.., C]. */
static int argmax_row(const pd_tensor *logits, int64_t r, int C)
{
    int best = 0;
    for (int k = 1; k < C; k++)
        if (logits->data[r * C + k] > logits->data[r * C + best]) best = k;
    return best;
}

/* mse + CE(head(x0)) + w · CE(frozen head(x̂0)) over valid residues with a standard amino acid
 * (model.diffusion.sequence_loss; the target tensor is x0 = sc_mu, it carries no gradient). With
 * sequence_head "hidden" the last term is w · CE(hidden head(last hidden state)) instead. */
static pd_tensor *sequence_loss(pd_graph *g, pd_diffusion *m, const layout *lay, const uint8_t *aa,
                                const int32_t *tokens, pd_tensor *x0, pd_tensor *x0_hat, pd_tensor *hidden,
                                pd_tensor *mse, double normaliser, pd_diffusion_terms *terms)
{
    const int64_t BL = lay->B * lay->L;
    const int C = PD_DIFFUSION_SEQ_CLASSES;
    int32_t *label = pd_graph_alloc(g, (size_t)BL * sizeof *label);
    if (!label) return pd_graph_fail(g, "diffusion: out of memory for %lld labels", (long long)BL);
    for (int64_t i = 0; i < BL; i++) label[i] = -1;
    for (int64_t r = 0; r < lay->N; r++)
        if (lay->key_valid[lay->slot[r]] && aa[r] < C) label[lay->slot[r]] = aa[r];
    pd_unit_begin(g, m->unit_seq);
    pd_tensor *head_logits = seq_head(g, m, x0, 0);
    pd_tensor *hat_logits = m->cfg.sequence_head == PD_SEQ_HEAD_HIDDEN ? hidden_head(g, m, hidden) : seq_head(g, m, x0_hat, 1);
    pd_unit_end(g, m->unit_seq);
    pd_tensor *ce_head = pd_cross_entropy(g, head_logits, label, -1, normaliser);
    pd_tensor *ce_hat = pd_cross_entropy(g, hat_logits, label, -1, normaliser);
    pd_tensor *loss = pd_add(g, pd_add(g, mse, ce_head), pd_scale(g, ce_hat, m->cfg.sequence_loss));
    if (!loss) return NULL;
    if (terms) {
        terms->seq_ce = ce_hat->data[0];
        terms->seq_head_ce = ce_head->data[0];
        for (int64_t r = 0; r < lay->N; r++) {
            int64_t p = lay->slot[r];
            if (label[p] < 0) continue;
            int ok = argmax_row(hat_logits, p, C) == label[p], masked = tokens[r] == PD_DIFFUSION_TOKEN_MASK;
            terms->n_labelled++;
            terms->n_seq_correct += ok;
            terms->n_labelled_masked += masked;
            terms->n_seq_correct_masked += ok && masked;
        }
    }
    return loss;
}

pd_tensor *pd_diffusion_loss_given(pd_graph *g, pd_diffusion *m, const pd_diffusion_batch *b, const int32_t *t,
                                   const int32_t *tokens, const float *noise, double normaliser,
                                   pd_diffusion_terms *terms)
{
    if (terms) memset(terms, 0, sizeof *terms);
    if (pd_graph_status(g) != PD_OK) return NULL;
    if (!b || !b->sc_mu || !b->bb_mu || !t || !tokens || !noise)
        return pd_graph_fail(g, "diffusion: loss needs sc_mu, bb_mu, t, tokens and noise");
    layout lay;
    if (!make_layout(g, b->n_entries, b->offset, b->valid, &lay)) return NULL;
    if (!check_tokens(g, lay.N, tokens)) return NULL;
    const pd_diffusion_config *c = &m->cfg;
    int D = c->sc_latent;
    for (int e = 0; e < b->n_entries; e++)
        if (t[e] < 0 || t[e] >= c->timesteps)
            return pd_graph_fail(g, "diffusion: entry %d has timestep %d, expected 0..%d", e, (int)t[e], c->timesteps - 1);

    /* x_t = sqrt(ᾱ_t) x0 + sqrt(1 - ᾱ_t) ε on the SC-VAE encoder means (never the clean latent) */
    float *x_t = pd_graph_alloc(g, (size_t)(lay.N * D) * sizeof *x_t);
    if (!x_t) return pd_graph_fail(g, "diffusion: out of memory for %lld noisy latents", (long long)lay.N);
    for (int e = 0; e < b->n_entries; e++) {
        double ab = pd_schedule_alpha_bar(&m->schedule, t[e]), sa = sqrt(ab), sb = sqrt(1 - ab);
        for (int64_t r = b->offset[e] - b->offset[0]; r < b->offset[e + 1] - b->offset[0]; r++)
            for (int j = 0; j < D; j++) x_t[r * D + j] = (float)(sa * b->sc_mu[r * D + j] + sb * noise[r * D + j]);
    }
    pd_tensor *xt_pad = pad_rows(g, &lay, x_t, D);
    pd_tensor *bb_pad = pad_rows(g, &lay, b->bb_mu, c->bb_latent);
    pd_tensor *target = pad_rows(g, &lay, c->target == PD_TARGET_EPS ? noise : b->sc_mu, D);
    int32_t *tok = pad_tokens(g, &lay, tokens);
    if (!xt_pad || !bb_pad || !target || !tok) return NULL;

    const pd_diffusion_geo_input geo = {b->n_entries, b->offset, b->atom14, b->chain, b->valid};
    pd_tensor *hidden = NULL;
    pd_tensor *pred = dit_forward(g, m, &lay, xt_pad, bb_pad, t, tok, &geo, &hidden);
    int64_t n_valid = 0;
    for (int64_t i = 0; i < lay.B * lay.L; i++) n_valid += lay.key_valid[i];
    if (normaliser <= 0) normaliser = n_valid > 0 ? (double)n_valid : 1.0;
    pd_tensor *mse = pd_mse(g, pred, target, lay.key_valid, normaliser * D);
    pd_tensor *loss = mse;
    if (mse && c->sequence_loss > 0) loss = sequence_loss(g, m, &lay, b->aa, tokens, target, pred, hidden, mse, normaliser, terms);
    if (!loss) return NULL;
    if (terms) {
        terms->loss = loss->data[0];
        terms->mse = mse->data[0];
        terms->sum_sq = mse->data[0] * normaliser * D;
        terms->n_residues = n_valid;
        terms->n_entries = b->n_entries;
        for (int64_t r = 0; r < lay.N; r++)
            terms->n_revealed += lay.key_valid[lay.slot[r]] && tokens[r] != PD_DIFFUSION_TOKEN_MASK;
    }
    return loss;
}

pd_tensor *pd_diffusion_loss(pd_graph *g, pd_diffusion *m, const pd_diffusion_batch *b, uint64_t seed, uint64_t step,
                             double normaliser, pd_diffusion_terms *terms)
{
    if (terms) memset(terms, 0, sizeof *terms);
    if (pd_graph_status(g) != PD_OK) return NULL;
    if (!b || b->n_entries < 1 || !b->offset || !b->aa)
        return pd_graph_fail(g, "diffusion: loss needs a batch with >= 1 entry, offsets and amino acids");
    int64_t N = b->offset[b->n_entries] - b->offset[0];
    int32_t *t = pd_graph_alloc(g, (size_t)b->n_entries * sizeof *t);
    int32_t *tokens = pd_graph_alloc(g, (size_t)(N > 0 ? N : 1) * sizeof *tokens);
    float *noise = pd_graph_alloc(g, (size_t)(N > 0 ? N * m->cfg.sc_latent : 1) * sizeof *noise);
    if (!t || !tokens || !noise) return pd_graph_fail(g, "diffusion: out of memory for the draws of %lld residues", (long long)N);
    pd_status s = pd_diffusion_draw(m, b, seed, step, t, tokens, noise);
    if (s != PD_OK) {
        pd_graph_set_status(g, s);
        return NULL;
    }
    return pd_diffusion_loss_given(g, m, b, t, tokens, noise, normaliser, terms);
}

/* ---- inference -------------------------------------------------------------------------------------- */

pd_status pd_diffusion_predict(pd_graph *g, pd_diffusion *m, const pd_diffusion_cond *c, const float *x_t,
                               const int32_t *t, float *pred)
{
    return pd_diffusion_predict_seq(g, m, c, x_t, t, pred, NULL);
}

pd_status pd_diffusion_predict_seq(pd_graph *g, pd_diffusion *m, const pd_diffusion_cond *c, const float *x_t,
                                   const int32_t *t, float *pred, float *seq_logits)
{
    if (seq_logits && m->cfg.sequence_head != PD_SEQ_HEAD_HIDDEN)
        return pd_fail(PD_ERR_CONFIG, "diffusion: this model has no sequence head on its hidden state (it was trained "
                                      "without model.diffusion.sequence_head = \"hidden\")");
    int grad = pd_graph_set_grad(g, 0);
    pd_tensor *out = NULL, *hidden = NULL, *logits = NULL;
    layout lay = {0};
    int D = m->cfg.sc_latent;
    int t_ok = 1;
    for (int e = 0; t && e < c->n_entries; e++) t_ok &= t[e] >= 0 && t[e] < m->cfg.timesteps;
    if (!c->bb_mu || !c->tokens || !x_t || !t || !t_ok)
        pd_graph_fail(g, "diffusion predict: needs bb_mu, tokens, x_t and a timestep in 0..%d per entry",
                      m->cfg.timesteps - 1);
    if (pd_graph_status(g) == PD_OK && make_layout(g, c->n_entries, c->offset, c->valid, &lay) &&
        check_tokens(g, lay.N, c->tokens)) {
        int32_t *tok = pad_tokens(g, &lay, c->tokens);
        pd_tensor *xt_pad = pad_rows(g, &lay, x_t, D), *bb_pad = pad_rows(g, &lay, c->bb_mu, m->cfg.bb_latent);
        const pd_diffusion_geo_input geo = {c->n_entries, c->offset, c->atom14, c->chain, c->valid};
        if (tok && xt_pad && bb_pad) out = dit_forward(g, m, &lay, xt_pad, bb_pad, t, tok, &geo, &hidden);
        if (out && seq_logits) logits = hidden_head(g, m, hidden);
    }
    pd_graph_set_grad(g, grad);
    pd_status s = pd_graph_status(g);
    if (s != PD_OK || !out || (seq_logits && !logits)) {
        pd_error_context("diffusion predict");
        return s != PD_OK ? s : PD_ERR;
    }
    for (int64_t r = 0; r < lay.N; r++)
        for (int j = 0; j < D; j++) pred[r * D + j] = (float)out->data[lay.slot[r] * D + j];
    const int C = PD_DIFFUSION_SEQ_CLASSES;
    for (int64_t r = 0; seq_logits && r < lay.N; r++)
        for (int a = 0; a < C; a++) seq_logits[r * C + a] = (float)logits->data[lay.slot[r] * C + a];
    return PD_OK;
}

pd_status pd_diffusion_classify(pd_graph *g, pd_diffusion *m, const float *z, int64_t n, float *logits)
{
    if (m->cfg.sequence_loss <= 0)
        return pd_fail(PD_ERR_CONFIG, "diffusion: this model has no latent classifier (it was trained with "
                                      "model.diffusion.sequence_loss = 0); use design.classifier = \"decoder\"");
    int grad = pd_graph_set_grad(g, 0);
    pd_tensor *x = pd_tensor_from_floats(g, 2, (int64_t[]){n, m->cfg.sc_latent}, z);
    pd_tensor *out = x ? seq_head(g, m, x, 0) : NULL;
    pd_graph_set_grad(g, grad);
    pd_status s = pd_graph_status(g);
    if (s != PD_OK || !out) {
        pd_error_context("diffusion classify");
        return s != PD_OK ? s : PD_ERR;
    }
    for (int64_t i = 0; i < n * PD_DIFFUSION_SEQ_CLASSES; i++) logits[i] = (float)out->data[i];
    return PD_OK;
}

typedef struct sample_ctx {
    pd_graph *g;
    pd_diffusion *m;
    const pd_diffusion_cond *cond;
    int32_t *t;        /* [n_entries], all equal */
    float *seq_logits; /* NULL, or the hidden head's logits of every call (the last call's remain) */
} sample_ctx;

static pd_status denoise_with_dit(void *user, int t, const float *x_t, float *pred)
{
    sample_ctx *s = user;
    for (int e = 0; e < s->cond->n_entries; e++) s->t[e] = t;
    pd_graph_reset(s->g);
    return pd_diffusion_predict_seq(s->g, s->m, s->cond, x_t, s->t, pred, s->seq_logits);
}

pd_status pd_diffusion_sample(pd_graph *g, pd_diffusion *m, const pd_diffusion_cond *c, const pd_sampler_config *sc,
                              uint64_t seed, const uint64_t *row_ids, float *x0)
{
    return pd_diffusion_sample_seq(g, m, c, sc, seed, row_ids, x0, NULL);
}

pd_status pd_diffusion_sample_seq(pd_graph *g, pd_diffusion *m, const pd_diffusion_cond *c, const pd_sampler_config *sc,
                                  uint64_t seed, const uint64_t *row_ids, float *x0, float *seq_logits)
{
    if (!c || c->n_entries < 1 || !c->offset)
        return pd_fail(PD_ERR, "diffusion sample: conditioning needs >= 1 entry and residue offsets");
    sample_ctx ctx = {.g = g, .m = m, .cond = c, .t = pd_malloc((size_t)c->n_entries * sizeof(int32_t)),
                      .seq_logits = seq_logits};
    if (!ctx.t) return PD_ERR_NOMEM;
    pd_sampler_problem p = {
        .rows = c->offset[c->n_entries] - c->offset[0],
        .dim = m->cfg.sc_latent,
        .schedule = &m->schedule,
        .target = m->cfg.target,
        .denoise = denoise_with_dit,
        .user = &ctx,
        .seed = seed,
        .row_ids = row_ids,
    };
    pd_status s = pd_sample(&p, sc, x0);
    free(ctx.t);
    pd_graph_reset(g);
    return s;
}
