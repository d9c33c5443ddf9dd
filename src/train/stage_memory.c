/* stage_memory.c — the activation estimate of each stage's training micro-batch, from the run
 * file's model settings (stage.h, pd_stage_memory). Each figure is the size of the stage's feature
 * maps implied by the config (elements per residue, per residue of a padded entry, per pair of a
 * padded entry), times a constant: how many float32 copies of those maps a training step keeps in
 * the graph arena (outputs of every op, their gradients, what backward saves). The constants were
 * measured once with the arena's own peak (metrics.jsonl peak_mb) and are checked by
 * tests/train/memory_plan.sh, at two sizes per stage, to stay within 25 % of the measured peak. */
#include <stdio.h>
#include <string.h>

#include "models/diffusion_environment.h"
#include "models/diffusion_geometry.h"
#include "train/stage.h"

#define F32 4.0

double pd_stage_memory_bytes(const pd_stage_memory *m, const int32_t *c, int64_t n)
{
    if (n <= 0) return 0;
    double sum = 0, sq = 0, longest = 0;
    for (int64_t i = 0; i < n; i++) {
        const double x = c[i];
        sum += x;
        sq += x * x;
        if (x > longest) longest = x;
    }
    return m->fixed + m->per_entry * (double)n + m->per_cost * sum + m->per_cost_sq * sq +
           m->padded_cost * (double)n * longest + m->padded_cost_sq * (double)n * longest * longest;
}

double pd_stage_memory_bytes_uniform(const pd_stage_memory *m, double c, int64_t n)
{
    return m->fixed + (double)n * (m->per_entry + m->per_cost * c + m->per_cost_sq * c * c + m->padded_cost * c +
                                   m->padded_cost_sq * c * c);
}

/* sc_vae: 3D conv trunks over V^3 voxels, width w doubling per halving (so each trunk holds about
 * (4/3) w V^3 elements per residue); the training loss runs the encoder, the decoder and the
 * classifier's trunk (its own, on the reconstruction; once more on the input voxels when
 * classifier_input_weight > 0). */
static void sc_vae_memory(const pd_config *cfg, pd_stage_memory *m)
{
    const double V = (double)pd_cfg_int(cfg, "featurize.voxel_size"), w = (double)pd_cfg_int(cfg, "model.sc_vae.width");
    const double cells = V * V * V;
    double trunks = 2 + (pd_cfg_bool(cfg, "model.sc_vae.classifier_own_trunk") ? 1 : 0) +
                    (pd_cfg_float(cfg, "model.sc_vae.classifier_input_weight") > 0 ? 1 : 0);
    const double maps = trunks * 4.0 / 3.0 * w * cells + 2 * cells;
    m->per_cost = 17.0 * F32 * maps;
    m->fixed = 64 << 10;
    snprintf(m->basis, sizeof m->basis, "%.0f trunk(s) of width %.0f on %.0f^3 voxels", trunks, w, V);
}

/* bb_vae: the message-passing encoder over k edges per residue (edge and node features of width
 * W in each layer), ~4096 floats per residue that do not depend on the widths (edge RBF inputs,
 * heads), and the transformer decoder on entries padded to the micro-batch's longest (features
 * [B, L, W], attention weights [B, heads, L, L] per layer). Fitted on width 8/32/64. */
static void bb_vae_memory(const pd_config *cfg, pd_stage_memory *m)
{
    const double W = (double)pd_cfg_int(cfg, "model.bb_vae.width"), layers = (double)pd_cfg_int(cfg, "model.bb_vae.layers");
    const double k = (double)pd_cfg_int(cfg, "model.bb_vae.neighbors"), dl = (double)pd_cfg_int(cfg, "model.bb_vae.decoder_layers");
    const double heads = (double)pd_cfg_int(cfg, "model.bb_vae.heads");
    m->per_cost = F32 * (k * W * (layers + 1) * 34.2 + W * layers * 43.0 + 4096.0);
    m->padded_cost = F32 * W * dl * 60.6;
    m->padded_cost_sq = F32 * heads * dl * 1.25;
    m->fixed = 64 << 10;
    snprintf(m->basis, sizeof m->basis, "width %.0f, %.0f layers x %.0f neighbours, %.0f decoder layers x %.0f heads",
             W, layers, k, dl, heads);
}

/* diffusion: a DiT of `depth` blocks of width W on entries padded to the micro-batch's longest
 * (features [B, L, W] per block, ~1420 floats per token that do not depend on the width: timestep
 * features and conditioning; attention weights [B, heads, L, L] per block). Fitted on width 16/64/128 and entries of 25..550 residues.
 * With geometry, pair features [B, L, L, GEO] and per-block biases: counted, not measured. */
static void diffusion_memory(const pd_config *cfg, pd_stage_memory *m)
{
    const double W = (double)pd_cfg_int(cfg, "model.diffusion.width"), depth = (double)pd_cfg_int(cfg, "model.diffusion.depth");
    const double heads = (double)pd_cfg_int(cfg, "model.diffusion.heads");
    const int geometry = !strcmp(pd_cfg_str(cfg, "model.diffusion.geometry"), "backbone");
    const int pair_values = geometry && pd_cfg_bool(cfg, "model.diffusion.pair_values");
    m->padded_cost = F32 * (1420.0 + 78.2 * W * depth);
    m->padded_cost_sq = F32 * heads * depth * 1.06 + (geometry ? F32 * (2.0 * PD_DIFFUSION_GEO_PAIR + 1 + 3 * heads * depth) : 0) +
                        (pair_values ? F32 * 6.0 * heads * depth : 0);   /* scores, bias, mask, P and its copy per block */
    /* environment: per residue k neighbour rows of the edge features and ~6 tensors of width E
     * (two linears, two SiLUs, the two pooling products): counted, not measured */
    const double k = geometry ? (double)pd_cfg_int(cfg, "model.diffusion.environment") : 0;
    const double E = (double)pd_cfg_int(cfg, "model.diffusion.environment_width");
    m->per_cost = k > 0 ? F32 * k * (6.0 * E + PD_DIFFUSION_ENV_EDGE + 6.0) : 0;
    /* environment_layers: per layer k rows of the gathered states, the message's concat (3E), its
     * two linears and SiLU and the pooling product (~9E), and ~12E per residue (FFN, norms) */
    const double layers = k > 0 ? (double)pd_cfg_int(cfg, "model.diffusion.environment_layers") : 0;
    m->per_cost += F32 * layers * (9.0 * E * k + 12.0 * E);
    m->fixed = 64 << 10;
    snprintf(m->basis, sizeof m->basis, "%.0f blocks of width %.0f x %.0f heads%s%s", depth, W, heads,
             pair_values ? ", backbone geometry, pair values" : geometry ? ", backbone geometry" : "",
             k > 0 ? ", environment" : "");
}

/* tokenizer: cost = pixels of the (padded) image. Per pixel ~3900 floats that do not depend on the
 * widths (full-resolution input, reconstruction and loss maps, the first level's patches), the
 * transformer of width W and MLP width mlp per level, and attention over every token of a level
 * (pixels / 4 tokens at the first level: heads x pixels^2 / 16 weights). Fitted on width 8/32/128
 * (2 and 3 levels). One micro-batch only (whole_batch). */
static void tokenizer_memory(const pd_config *cfg, pd_stage_memory *m)
{
    const double W = (double)pd_cfg_int(cfg, "model.tokenizer.width"), mlp = (double)pd_cfg_int(cfg, "model.tokenizer.mlp");
    const double heads = (double)pd_cfg_int(cfg, "model.tokenizer.heads");
    const double blocks = (double)pd_cfg_int(cfg, "model.tokenizer.blocks");
    m->per_cost = 15600.0 + 1.81 * (12.0 * W + 2.0 * mlp) * blocks;
    m->per_cost_sq = 5.86 * heads * blocks;
    m->fixed = 64 << 10;
    m->whole_batch = 1;
    snprintf(m->basis, sizeof m->basis, "width %.0f, mlp %.0f, %.0f block(s) x %.0f heads per level", W, mlp, blocks, heads);
}

/* probe: a tiny classifier on voxels. */
static void probe_memory(const pd_config *cfg, pd_stage_memory *m)
{
    const double V = (double)pd_cfg_int(cfg, "featurize.voxel_size");
    m->per_cost = 4.0 * F32 * V * V * V;
    m->fixed = 64 << 10;
    snprintf(m->basis, sizeof m->basis, "probe on %.0f^3 voxels", V);
}

/* Inference: one forward without the tape keeps each op's output until the graph is reset, no
 * gradients and nothing saved for backward. The maps are the training estimate's (only the parts
 * that run), times the fraction measured with the arena's peak (INFER_* below; checked by
 * tests/design/memory.sh and tests/train/encode_memory.sh within 25 %). */
#define INFER_SC_ENCODE 0.40
#define INFER_SC_DECODE 0.45
#define INFER_BB_ENCODE 0.60
#define INFER_DENOISE 0.52        /* per token */
#define INFER_DENOISE_ATTN 0.92   /* per pair of tokens (attention) */
#define INFER_TOKENIZER 0.40

static void scale(pd_stage_memory *m, double k)
{
    m->per_entry *= k;
    m->per_cost *= k;
    m->per_cost_sq *= k;
    m->padded_cost *= k;
    m->padded_cost_sq *= k;
}

pd_status pd_stage_memory_infer(const char *name, const char *part, const pd_config *cfg, pd_stage_memory *m)
{
    memset(m, 0, sizeof *m);
    if (!strcmp(name, "sc_vae") && (!strcmp(part, "encode") || !strcmp(part, "decode"))) {
        /* the encoder's trunk; or the decoder's and the classifier's (own or shared, once) */
        const double V = (double)pd_cfg_int(cfg, "featurize.voxel_size"), w = (double)pd_cfg_int(cfg, "model.sc_vae.width");
        const double cells = V * V * V, trunks = !strcmp(part, "encode") ? 1 : 2;
        m->per_cost = 17.0 * F32 * (trunks * 4.0 / 3.0 * w * cells + 2 * cells);
        scale(m, !strcmp(part, "encode") ? INFER_SC_ENCODE : INFER_SC_DECODE);
        snprintf(m->basis, sizeof m->basis, "%s: %.0f trunk(s) of width %.0f on %.0f^3 voxels, no tape", part, trunks, w, V);
    } else if (!strcmp(name, "bb_vae") && !strcmp(part, "encode")) {
        bb_vae_memory(cfg, m);
        m->padded_cost = m->padded_cost_sq = 0;   /* the decoder does not run */
        scale(m, INFER_BB_ENCODE);
        snprintf(m->basis + strlen(m->basis), sizeof m->basis - strlen(m->basis), "; encoder only, no tape");
    } else if (!strcmp(name, "diffusion") && !strcmp(part, "denoise")) {
        diffusion_memory(cfg, m);
        scale(m, INFER_DENOISE);
        m->padded_cost_sq *= INFER_DENOISE_ATTN / INFER_DENOISE;
        snprintf(m->basis + strlen(m->basis), sizeof m->basis - strlen(m->basis), "; one call, no tape");
    } else if (!strcmp(name, "tokenizer") && !strcmp(part, "encode")) {
        tokenizer_memory(cfg, m);
        m->whole_batch = 0;
        scale(m, INFER_TOKENIZER);
        snprintf(m->basis + strlen(m->basis), sizeof m->basis - strlen(m->basis), "; encode + decode, no tape");
    } else {
        return pd_fail(PD_ERR_NOT_IMPLEMENTED, "no inference memory estimate for the %s of stage %s", part, name);
    }
    m->fixed = 64 << 10;
    return PD_OK;
}

pd_status pd_stage_memory_model(const char *name, const pd_config *cfg, pd_stage_memory *m)
{
    memset(m, 0, sizeof *m);
    if (!strcmp(name, "sc_vae")) sc_vae_memory(cfg, m);
    else if (!strcmp(name, "bb_vae")) bb_vae_memory(cfg, m);
    else if (!strcmp(name, "diffusion")) diffusion_memory(cfg, m);
    else if (!strcmp(name, "tokenizer")) tokenizer_memory(cfg, m);
    else if (!strcmp(name, "probe")) probe_memory(cfg, m);
    else return pd_fail(PD_ERR_NOT_IMPLEMENTED, "no activation estimate for stage %s", name);
    return PD_OK;
}
