/* sc_vae.c — the side-chain VAE + amino-acid classifier of SPEC §7 as forward code on the op
 * set: parameters (one FSDP unit per encoder/decoder stage), encoder trunk, latent head,
 * decoder, classifier on the detached reconstruction, and the per-residue loss. */
#include "models/sc_vae.h"

#include <stdlib.h>
#include <string.h>

#include "nn/conv.h"
#include "nn/layers.h"
#include "nn/norm.h"
#include "nn/ops.h"

/* How a stage's first layer changes the grid. */
typedef enum stage_kind {
    STAGE_SAME,      /* Conv3d k=2 stride 1 'same' (pad 0 before, 1 after) */
    STAGE_DOWN,      /* Conv3d k=2 stride 2: side halves */
    STAGE_UP,        /* ConvTranspose3d k=2 stride 2: side doubles */
    STAGE_POINTWISE  /* Conv3d k=1 */
} stage_kind;

/* Residual block at constant width C: y = x + GN2(conv2(SiLU(GN1(conv1(x))))), convs k=2 'same'. */
typedef struct res_block {
    pd_conv_layer conv1, conv2;
    pd_norm_layer gn1, gn2;
    int groups;
} res_block;

/* One stage: first layer (kind) -> GroupNorm -> SiLU -> residual block; one FSDP unit. */
typedef struct stage {
    int unit;
    pd_conv_layer conv;
    pd_norm_layer gn;
    int groups;
    res_block res;
} stage;

/* A bare projection in its own unit: a 1×1 conv (latent head, output layer) or a Linear
 * (classifier). */
typedef struct projection {
    int unit;
    pd_conv_layer conv;
    pd_linear_layer linear;
} projection;

struct pd_sc_vae {
    pd_sc_vae_config cfg;
    int levels;              /* log2(V): down stages in the encoder, up stages in the decoder */
    int top_channels;        /* width * V: channels at 1³ */
    pd_params params;
    stage enc_stem;          /* 1 -> width at V³ */
    stage *enc_down;         /* [levels]: C_k -> C_{k+1}, side halves */
    projection enc_head;     /* C_top -> 2 * latent (μ, log σ²) at 1³ */
    stage dec_proj;          /* latent -> C_top at 1³ (1×1 conv) */
    stage *dec_up;           /* [levels]: C_top -> ... -> width, side doubles */
    projection dec_out;      /* width -> 1 (1×1 conv) */
    stage cls_stem;          /* the classifier's own trunk (classifier_own_trunk): stem ... */
    stage *cls_down;         /* ... and [levels] down stages; NULL when it reuses the encoder's */
    projection cls;          /* Linear C_top -> 20 on the trunk features of the reconstruction */
};

/* ---- configuration ------------------------------------------------------------------------- */

static int is_power_of_two(long long v) { return v >= 1 && (v & (v - 1)) == 0; }

void pd_sc_vae_config_default(pd_sc_vae_config *c)
{
    c->voxel = 16;
    c->width = 8;
    c->latent = 16;
    c->beta_kl = 1e-3;
    c->classifier_own_trunk = 1;
    c->classifier_input_weight = 0;
    c->max_groups = 8;
    c->gn_eps = 1e-5;
}

pd_status pd_sc_vae_config_check(const pd_sc_vae_config *c)
{
    if (!is_power_of_two(c->voxel) || c->voxel < 2)
        return pd_fail(PD_ERR_CONFIG, "sc_vae: voxel size V = %d must be a power of two >= 2 (featurize.voxel_size)",
                       c->voxel);
    if (c->width < 1) return pd_fail(PD_ERR_CONFIG, "sc_vae: width %d must be >= 1 (model.sc_vae.width)", c->width);
    if (c->latent < 1) return pd_fail(PD_ERR_CONFIG, "sc_vae: latent %d must be >= 1 (model.sc_vae.latent)", c->latent);
    if (!(c->beta_kl >= 0)) return pd_fail(PD_ERR_CONFIG, "sc_vae: beta_kl %g must be >= 0 (model.sc_vae.beta_kl)", c->beta_kl);
    if (!(c->classifier_input_weight >= 0))
        return pd_fail(PD_ERR_CONFIG, "sc_vae: classifier_input_weight %g must be >= 0 (model.sc_vae.classifier_input_weight)",
                       c->classifier_input_weight);
    if (c->max_groups < 1) return pd_fail(PD_ERR_CONFIG, "sc_vae: max_groups %d must be >= 1", c->max_groups);
    if ((long long)c->width * c->voxel > (1LL << 20))
        return pd_fail(PD_ERR_CONFIG, "sc_vae: width %d x V %d channels at the bottleneck is too large; lower model.sc_vae.width",
                       c->width, c->voxel);
    return PD_OK;
}

pd_status pd_sc_vae_config_from(const pd_config *cfg, pd_sc_vae_config *out)
{
    pd_sc_vae_config_default(out);
    out->voxel = (int)pd_cfg_int(cfg, "featurize.voxel_size");
    out->width = (int)pd_cfg_int(cfg, "model.sc_vae.width");
    out->latent = (int)pd_cfg_int(cfg, "model.sc_vae.latent");
    out->beta_kl = pd_cfg_float(cfg, "model.sc_vae.beta_kl");
    out->classifier_own_trunk = pd_cfg_bool(cfg, "model.sc_vae.classifier_own_trunk");
    out->classifier_input_weight = pd_cfg_float(cfg, "model.sc_vae.classifier_input_weight");
    pd_status s = pd_sc_vae_config_check(out);
    if (s != PD_OK) pd_error_context("run file %s", cfg->file ? cfg->file : "<none>");
    return s;
}

int pd_sc_vae_groups(const pd_sc_vae_config *c, int channels)
{
    int cap = channels / 4 < c->max_groups ? channels / 4 : c->max_groups;   /* >= 4 channels per group */
    for (int g = cap; g > 1; g--)
        if (channels % g == 0) return g;
    return 1;
}

/* ---- parameters ------------------------------------------------------------------------------ */

static void declare_res(pd_params *P, const pd_sc_vae_config *cfg, const char *prefix, int c, res_block *r)
{
    char p[128];
    snprintf(p, sizeof p, "%s.res", prefix);
    r->conv1 = pd_declare_conv(P, p, "conv1", 3, PD_CONV_K2, 1, c, c, PD_BIAS);
    r->gn1 = pd_declare_norm(P, p, "gn1", c, PD_BIAS);
    r->conv2 = pd_declare_conv(P, p, "conv2", 3, PD_CONV_K2, 1, c, c, PD_BIAS);
    r->gn2 = pd_declare_norm(P, p, "gn2", c, PD_BIAS);
    r->groups = pd_sc_vae_groups(cfg, c);
}

static void declare_stage(pd_params *P, const pd_sc_vae_config *cfg, const char *prefix, stage_kind kind, int cin,
                          int cout, stage *s)
{
    static const pd_conv_kind conv_kind[] = {PD_CONV_K2, PD_CONV_K2, PD_CONV_TRANSPOSE_K2, PD_CONV_POINTWISE};
    s->unit = pd_params_unit_begin(P, prefix);
    s->conv = pd_declare_conv(P, prefix, "conv", 3, conv_kind[kind], kind == STAGE_DOWN ? 2 : 1, cin, cout, PD_BIAS);
    s->gn = pd_declare_norm(P, prefix, "gn", cout, PD_BIAS);
    s->groups = pd_sc_vae_groups(cfg, cout);
    declare_res(P, cfg, prefix, cout, &s->res);
    pd_params_unit_end(P);
}

/* A 1×1 conv ([cout, cin, 1, 1, 1]) or, for the classifier, a Linear ([cout, cin]). */
static void declare_projection(pd_params *P, const char *prefix, int cin, int cout, int linear, projection *p)
{
    p->unit = pd_params_unit_begin(P, prefix);
    if (linear) p->linear = pd_declare_linear(P, NULL, prefix, cout, cin, PD_BIAS);
    else p->conv = pd_declare_conv(P, NULL, prefix, 3, PD_CONV_POINTWISE, 1, cin, cout, PD_BIAS);
    pd_params_unit_end(P);
}

static int ilog2(int v)
{
    int l = 0;
    while ((1 << l) < v) l++;
    return l;
}

pd_status pd_sc_vae_create(pd_sc_vae **out, const pd_sc_vae_config *c, const pd_model_opts *opts)
{
    *out = NULL;
    PD_TRY(pd_sc_vae_config_check(c));
    pd_sc_vae *m = pd_calloc(1, sizeof *m);
    if (!m) return PD_ERR_NOMEM;
    m->cfg = *c;
    m->levels = ilog2(c->voxel);
    m->top_channels = c->width * c->voxel;
    m->enc_down = pd_calloc((size_t)m->levels, sizeof *m->enc_down);
    m->dec_up = pd_calloc((size_t)m->levels, sizeof *m->dec_up);
    if (!m->enc_down || !m->dec_up) {
        pd_sc_vae_destroy(m);
        return PD_ERR_NOMEM;
    }
    pd_params *P = &m->params;
    pd_params_init(P);
    char prefix[64];
    declare_stage(P, c, "enc.stem", STAGE_SAME, 1, c->width, &m->enc_stem);
    for (int k = 0; k < m->levels; k++) {
        snprintf(prefix, sizeof prefix, "enc.down.%d", k);
        declare_stage(P, c, prefix, STAGE_DOWN, c->width << k, c->width << (k + 1), &m->enc_down[k]);
    }
    declare_projection(P, "enc.head", m->top_channels, 2 * c->latent, 0, &m->enc_head);
    declare_stage(P, c, "dec.proj", STAGE_POINTWISE, c->latent, m->top_channels, &m->dec_proj);
    for (int i = 0; i < m->levels; i++) {
        snprintf(prefix, sizeof prefix, "dec.up.%d", i);
        int cin = c->width << (m->levels - i), cout = c->width << (m->levels - i - 1);
        declare_stage(P, c, prefix, STAGE_UP, cin, cout, &m->dec_up[i]);
    }
    declare_projection(P, "dec.out", c->width, 1, 0, &m->dec_out);
    if (c->classifier_own_trunk) {
        m->cls_down = pd_calloc((size_t)m->levels, sizeof *m->cls_down);
        if (!m->cls_down) {
            pd_sc_vae_destroy(m);
            return PD_ERR_NOMEM;
        }
        declare_stage(P, c, "cls_trunk.stem", STAGE_SAME, 1, c->width, &m->cls_stem);
        for (int k = 0; k < m->levels; k++) {
            snprintf(prefix, sizeof prefix, "cls_trunk.down.%d", k);
            declare_stage(P, c, prefix, STAGE_DOWN, c->width << k, c->width << (k + 1), &m->cls_down[k]);
        }
    }
    declare_projection(P, "cls", m->top_channels, PD_SC_VAE_CLASSES, 1, &m->cls);
    pd_status s = pd_params_finalize(P, pd_model_pad(opts));
    if (s != PD_OK) {
        pd_error_context("sc_vae parameters");
        pd_sc_vae_destroy(m);
        return s;
    }
    pd_params_init_values(P, pd_model_seed(opts));
    *out = m;
    return PD_OK;
}

void pd_sc_vae_destroy(pd_sc_vae *m)
{
    if (!m) return;
    pd_params_free(&m->params);
    free(m->enc_down);
    free(m->dec_up);
    free(m->cls_down);
    free(m);
}

pd_params *pd_sc_vae_params(pd_sc_vae *m) { return &m->params; }
const pd_sc_vae_config *pd_sc_vae_get_config(const pd_sc_vae *m) { return &m->cfg; }

/* ---- forward --------------------------------------------------------------------------------- */

static pd_tensor *res_forward(pd_graph *g, const res_block *r, double eps, pd_tensor *x)
{
    pd_tensor *h = pd_apply_conv(g, x, &r->conv1);
    h = pd_silu(g, pd_apply_groupnorm(g, h, &r->gn1, r->groups, eps));
    h = pd_apply_conv(g, h, &r->conv2);
    h = pd_apply_groupnorm(g, h, &r->gn2, r->groups, eps);
    return pd_add(g, x, h);
}

static pd_tensor *stage_forward(pd_graph *g, const stage *s, double eps, pd_tensor *x)
{
    pd_unit_begin(g, s->unit);
    pd_tensor *h = pd_apply_conv(g, x, &s->conv);
    h = pd_silu(g, pd_apply_groupnorm(g, h, &s->gn, s->groups, eps));
    h = res_forward(g, &s->res, eps, h);
    pd_unit_end(g, s->unit);
    return h;
}

/* Stem and down stages: [N, 1, V, V, V] -> features [N, C_top, 1, 1, 1]. */
static pd_tensor *stages_forward(pd_graph *g, const pd_sc_vae *m, const stage *stem, const stage *down, pd_tensor *x)
{
    double eps = m->cfg.gn_eps;
    pd_tensor *h = stage_forward(g, stem, eps, x);
    for (int k = 0; k < m->levels; k++) h = stage_forward(g, &down[k], eps, h);
    return h;
}

/* The encoder's trunk (also the classifier's when it has none of its own). */
static pd_tensor *trunk_forward(pd_graph *g, const pd_sc_vae *m, pd_tensor *x)
{
    return stages_forward(g, m, &m->enc_stem, m->enc_down, x);
}

static pd_tensor *check_voxels(pd_graph *g, const pd_sc_vae *m, pd_tensor *voxels)
{
    if (!pd_graph_ok(g, voxels)) return NULL;
    int64_t V = m->cfg.voxel;
    if (voxels->ndim != 5 || voxels->shape[1] != 1 || voxels->shape[2] != V || voxels->shape[3] != V ||
        voxels->shape[4] != V) {
        char buf[96];
        return pd_graph_fail(g, "sc_vae: voxels %s must be [N, 1, %lld, %lld, %lld] (featurize.voxel_size = %lld)",
                             pd_shape_str(voxels, buf, sizeof buf), (long long)V, (long long)V, (long long)V,
                             (long long)V);
    }
    return voxels;
}

/* Encoder: voxels -> (μ, log σ²), each [N, latent]. */
static int encode_forward(pd_graph *g, const pd_sc_vae *m, pd_tensor *voxels, pd_tensor **mu, pd_tensor **logvar)
{
    *mu = *logvar = NULL;
    pd_tensor *h = trunk_forward(g, m, check_voxels(g, m, voxels));
    if (!h) return 0;
    /* parameters are used only inside their unit, never through views made there: an FSDP
     * engine frees the gathered copy at the unit's end */
    pd_unit_begin(g, m->enc_head.unit);
    pd_tensor *stats = pd_apply_conv(g, h, &m->enc_head.conv);
    pd_unit_end(g, m->enc_head.unit);
    stats = pd_reshape(g, stats, 2, (int64_t[]){h->shape[0], 2 * (int64_t)m->cfg.latent});
    pd_tensor *parts[2];
    if (!stats) return 0;
    if (pd_split(g, stats, 1, 2, (int64_t[]){m->cfg.latent, m->cfg.latent}, parts) != PD_OK) return 0;
    *mu = parts[0];
    *logvar = parts[1];
    return 1;
}

/* Decoder: z [N, latent] -> voxels [N, 1, V, V, V]. */
static pd_tensor *decode_forward(pd_graph *g, const pd_sc_vae *m, pd_tensor *z)
{
    if (!pd_graph_ok(g, z)) return NULL;
    if (z->ndim != 2 || z->shape[1] != m->cfg.latent) {
        char buf[96];
        return pd_graph_fail(g, "sc_vae: latents %s must be [N, %d]", pd_shape_str(z, buf, sizeof buf), m->cfg.latent);
    }
    double eps = m->cfg.gn_eps;
    pd_tensor *h = pd_reshape(g, z, 5, (int64_t[]){z->shape[0], m->cfg.latent, 1, 1, 1});
    h = stage_forward(g, &m->dec_proj, eps, h);
    for (int i = 0; i < m->levels; i++) h = stage_forward(g, &m->dec_up[i], eps, h);
    pd_unit_begin(g, m->dec_out.unit);
    h = pd_apply_conv(g, h, &m->dec_out.conv);
    pd_unit_end(g, m->dec_out.unit);
    return h;
}

/* Classifier on (already detached, when training) voxels -> logits [N, 20]. With its own trunk,
 * CE trains that trunk and the Linear. Reusing the encoder's trunk, the features are detached:
 * CE trains only the Linear, never the trunk the encoder needs (with a CE gradient there the VAE
 * collapsed onto the mean voxel in every run measured; docs/models/sc_vae.md "Training"). */
static pd_tensor *classify_forward(pd_graph *g, const pd_sc_vae *m, pd_tensor *voxels)
{
    pd_tensor *h = m->cls_down ? stages_forward(g, m, &m->cls_stem, m->cls_down, voxels)
                               : pd_detach(g, trunk_forward(g, m, voxels));
    if (!h) return NULL;
    h = pd_reshape(g, h, 2, (int64_t[]){h->shape[0], m->top_channels});
    pd_unit_begin(g, m->cls.unit);
    pd_tensor *logits = pd_apply_linear(g, h, &m->cls.linear);
    pd_unit_end(g, m->cls.unit);
    return logits;
}

/* Labelled and correctly classified residues of a batch. */
static void count_correct(const pd_tensor *logits, const int32_t *aa, int64_t n, pd_sc_vae_terms *t)
{
    t->n_labelled = t->n_correct = 0;
    for (int64_t r = 0; r < n; r++) {
        if (aa[r] < 0) continue;
        const pd_real *row = logits->data + r * PD_SC_VAE_CLASSES;
        int best = 0;
        for (int c = 1; c < PD_SC_VAE_CLASSES; c++)
            if (row[c] > row[best]) best = c;
        t->n_labelled++;
        t->n_correct += best == aa[r];
    }
    t->acc = t->n_labelled ? (double)t->n_correct / (double)t->n_labelled : 0;
}

/* What a loss call reports: terms of the parts it ran (ce, ce_input, logits NULL when not run). */
static void report_terms(pd_sc_vae_terms *t, const pd_tensor *loss, const pd_tensor *mse, const pd_tensor *kl,
                         const pd_tensor *ce, const pd_tensor *ce_input, const pd_tensor *logits, const int32_t *aa,
                         int64_t n)
{
    if (!t) return;
    t->loss = loss->data[0];
    t->mse = mse->data[0];
    t->kl = kl->data[0];
    t->ce = ce ? ce->data[0] : 0;
    t->ce_input = ce_input ? ce_input->data[0] : 0;
    t->n = n;
    if (logits) count_correct(logits, aa, n, t);
}

/* The classifier phase: the VAE as in evaluation (z = μ, nothing recorded), the classifier trained
 * by its CE on decode(μ), the reconstruction it is measured on. mse and kl are reported, not trained. */
static pd_tensor *classifier_loss(pd_graph *g, pd_sc_vae *m, pd_tensor *voxels, const int32_t *aa, double normaliser,
                                  double cells, pd_sc_vae_terms *terms)
{
    int grad = pd_graph_set_grad(g, 0);
    pd_tensor *mu = NULL, *logvar = NULL;
    pd_tensor *recon = encode_forward(g, m, voxels, &mu, &logvar) ? decode_forward(g, m, mu) : NULL;
    pd_tensor *mse = pd_mse(g, recon, voxels, NULL, normaliser * cells);
    pd_tensor *kl = pd_kl_normal(g, mu, logvar, NULL, normaliser);
    pd_graph_set_grad(g, grad);
    pd_tensor *logits = classify_forward(g, m, recon);
    pd_tensor *ce = pd_cross_entropy(g, logits, aa, -1, normaliser);
    if (!ce || !mse || !kl) return NULL;
    report_terms(terms, ce, mse, kl, ce, NULL, logits, aa, voxels->shape[0]);
    return ce;
}

/* The loss given either eps (tests) or the counter RNG (seed, step, row_ids). */
static pd_tensor *loss_forward(pd_graph *g, pd_sc_vae *m, pd_tensor *voxels, const int32_t *aa, pd_tensor *eps,
                               const uint64_t *row_ids, uint64_t seed, uint64_t step, double normaliser,
                               pd_sc_vae_part part, pd_sc_vae_terms *terms)
{
    if (terms) memset(terms, 0, sizeof *terms);
    if (!check_voxels(g, m, voxels)) return NULL;
    int64_t n = voxels->shape[0];
    if (!aa) return pd_graph_fail(g, "sc_vae: loss needs the amino acids (aa[N], -1 to skip a residue)");
    for (int64_t r = 0; r < n; r++)
        if (aa[r] < -1 || aa[r] >= PD_SC_VAE_CLASSES)
            return pd_graph_fail(g, "sc_vae: residue %lld has amino acid %d, expected 0..%d or -1", (long long)r,
                                 (int)aa[r], PD_SC_VAE_CLASSES - 1);
    if (normaliser <= 0) normaliser = (double)n;
    double cells = (double)m->cfg.voxel * m->cfg.voxel * m->cfg.voxel;
    if (part == PD_SC_VAE_CLASSIFIER) return classifier_loss(g, m, voxels, aa, normaliser, cells, terms);

    pd_tensor *mu, *logvar;
    if (!encode_forward(g, m, voxels, &mu, &logvar)) return NULL;
    pd_tensor *z;
    if (!pd_graph_training(g)) z = mu;
    else if (eps) z = pd_reparameterize_eps(g, mu, logvar, eps);
    else z = pd_reparameterize(g, mu, logvar, seed, step, row_ids);
    pd_tensor *recon = decode_forward(g, m, z);
    pd_tensor *mse = pd_mse(g, recon, voxels, NULL, normaliser * cells);
    pd_tensor *kl = pd_kl_normal(g, mu, logvar, NULL, normaliser);
    pd_tensor *loss = pd_add(g, mse, pd_scale(g, kl, m->cfg.beta_kl));
    if (part == PD_SC_VAE_RECONSTRUCTION) {   /* the VAE phase: no classifier at all */
        if (!loss) return NULL;
        report_terms(terms, loss, mse, kl, NULL, NULL, NULL, aa, n);
        return loss;
    }
    pd_tensor *logits = classify_forward(g, m, pd_detach(g, recon));
    pd_tensor *ce = pd_cross_entropy(g, logits, aa, -1, normaliser);
    loss = pd_add(g, loss, ce);
    /* Optionally the classifier also reads the true voxels: they carry the residue's identity from
     * the first step, while reconstructions carry it only once the VAE has learned to reconstruct. */
    pd_tensor *ce_input = NULL;
    if (m->cfg.classifier_input_weight > 0) {
        ce_input = pd_cross_entropy(g, classify_forward(g, m, voxels), aa, -1, normaliser);
        loss = pd_add(g, loss, pd_scale(g, ce_input, m->cfg.classifier_input_weight));
    }
    if (!loss) return NULL;
    report_terms(terms, loss, mse, kl, ce, ce_input, logits, aa, n);
    return loss;
}

pd_tensor *pd_sc_vae_loss(pd_graph *g, pd_sc_vae *m, pd_tensor *voxels, const int32_t *aa, const uint64_t *row_ids,
                          uint64_t seed, uint64_t step, double normaliser, pd_sc_vae_terms *terms)
{
    return loss_forward(g, m, voxels, aa, NULL, row_ids, seed, step, normaliser, PD_SC_VAE_ALL, terms);
}

pd_tensor *pd_sc_vae_loss_part(pd_graph *g, pd_sc_vae *m, pd_tensor *voxels, const int32_t *aa,
                               const uint64_t *row_ids, uint64_t seed, uint64_t step, double normaliser,
                               pd_sc_vae_part part, pd_sc_vae_terms *terms)
{
    return loss_forward(g, m, voxels, aa, NULL, row_ids, seed, step, normaliser, part, terms);
}

pd_tensor *pd_sc_vae_loss_eps(pd_graph *g, pd_sc_vae *m, pd_tensor *voxels, const int32_t *aa, pd_tensor *eps,
                              double normaliser, pd_sc_vae_terms *terms)
{
    if (!pd_graph_ok(g, eps)) return pd_graph_ok(g, voxels) ? pd_graph_fail(g, "sc_vae: eps is NULL") : NULL;
    return loss_forward(g, m, voxels, aa, eps, NULL, 0, 0, normaliser, PD_SC_VAE_ALL, terms);
}

/* ---- inference --------------------------------------------------------------------------------- */

pd_status pd_sc_vae_encode(pd_graph *g, pd_sc_vae *m, pd_tensor *voxels, pd_tensor **mu, pd_tensor **logvar)
{
    int grad = pd_graph_set_grad(g, 0);
    pd_tensor *mu_t, *logvar_t;
    int ok = encode_forward(g, m, voxels, &mu_t, &logvar_t);
    pd_graph_set_grad(g, grad);
    if (!ok || pd_graph_status(g) != PD_OK) {
        pd_error_context("sc_vae encode");
        return pd_graph_status(g) != PD_OK ? pd_graph_status(g) : PD_ERR;
    }
    if (mu) *mu = mu_t;
    if (logvar) *logvar = logvar_t;
    return PD_OK;
}

pd_status pd_sc_vae_decode_classify(pd_graph *g, pd_sc_vae *m, pd_tensor *z, pd_tensor **voxels, pd_tensor **logits)
{
    int grad = pd_graph_set_grad(g, 0);
    pd_tensor *recon = decode_forward(g, m, z);
    pd_tensor *l = logits ? classify_forward(g, m, recon) : NULL;
    pd_graph_set_grad(g, grad);
    pd_status s = pd_graph_status(g);
    if (s != PD_OK || !recon || (logits && !l)) {
        pd_error_context("sc_vae decode/classify");
        return s != PD_OK ? s : PD_ERR;
    }
    if (voxels) *voxels = recon;
    if (logits) *logits = l;
    return PD_OK;
}

pd_status pd_sc_vae_classify(pd_graph *g, pd_sc_vae *m, pd_tensor *voxels, pd_tensor **logits)
{
    int grad = pd_graph_set_grad(g, 0);
    pd_tensor *l = classify_forward(g, m, check_voxels(g, m, voxels));
    pd_graph_set_grad(g, grad);
    pd_status s = pd_graph_status(g);
    if (s != PD_OK || !l) {
        pd_error_context("sc_vae classify");
        return s != PD_OK ? s : PD_ERR;
    }
    *logits = l;
    return PD_OK;
}
