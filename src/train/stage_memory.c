/* stage_memory.c — the activation estimate of each stage's training micro-batch, from the run
 * file's model settings (stage.h, pd_stage_memory). Each figure is the size of the stage's feature
 * maps implied by the config (elements per residue, per residue of a padded entry, per pair of a
 * padded entry), times a constant: how many float32 copies of those maps a training step keeps in
 * the graph arena (outputs of every op, their gradients, what backward saves). The constants were
 * measured once with the arena's own peak (metrics.jsonl peak_mb) and are checked by
 * tests/train/memory_plan.sh, at two sizes per stage, to stay within 25 % of the measured peak. */
#include <stdio.h>
#include <string.h>

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
 * W in each layer), and the transformer decoder on entries padded to the micro-batch's longest
 * (features [B, L, W], attention weights [B, heads, L, L] per layer). */
static void bb_vae_memory(const pd_config *cfg, pd_stage_memory *m)
{
    const double W = (double)pd_cfg_int(cfg, "model.bb_vae.width"), layers = (double)pd_cfg_int(cfg, "model.bb_vae.layers");
    const double k = (double)pd_cfg_int(cfg, "model.bb_vae.neighbors"), dl = (double)pd_cfg_int(cfg, "model.bb_vae.decoder_layers");
    const double heads = (double)pd_cfg_int(cfg, "model.bb_vae.heads");
    m->per_cost = F32 * (k * W * (layers + 1) * 35.0 + W * layers * 44.0);
    m->padded_cost = F32 * W * dl * 62.0;
    m->padded_cost_sq = F32 * heads * dl * 1.25;
    m->fixed = 64 << 10;
    snprintf(m->basis, sizeof m->basis, "width %.0f, %.0f layers x %.0f neighbours, %.0f decoder layers x %.0f heads",
             W, layers, k, dl, heads);
}

/* diffusion: a DiT of `depth` blocks of width W on entries padded to the micro-batch's longest
 * (features [B, L, W], attention weights [B, heads, L, L] per block; with geometry, pair features
 * [B, L, L, GEO] and per-block biases). */
static void diffusion_memory(const pd_config *cfg, pd_stage_memory *m)
{
    const double W = (double)pd_cfg_int(cfg, "model.diffusion.width"), depth = (double)pd_cfg_int(cfg, "model.diffusion.depth");
    const double heads = (double)pd_cfg_int(cfg, "model.diffusion.heads");
    const int geometry = !strcmp(pd_cfg_str(cfg, "model.diffusion.geometry"), "backbone");
    m->padded_cost = 1.0 * F32 * W * depth * 16.0;
    m->padded_cost_sq = 1.0 * F32 * heads * depth * 3.0 + (geometry ? 1.0 * F32 * (32 + 3 * heads * depth) : 0);
    m->fixed = 64 << 10;
    snprintf(m->basis, sizeof m->basis, "%.0f blocks of width %.0f x %.0f heads%s", depth, W, heads,
             geometry ? ", backbone geometry" : "");
}

/* tokenizer: cost = pixels of the (padded) image; a transformer of width W per level over every
 * token of the level (pixels / 4^l), attention over all of them. One micro-batch only. */
static void tokenizer_memory(const pd_config *cfg, pd_stage_memory *m)
{
    const double W = (double)pd_cfg_int(cfg, "model.tokenizer.width"), mlp = (double)pd_cfg_int(cfg, "model.tokenizer.mlp");
    const double heads = (double)pd_cfg_int(cfg, "model.tokenizer.heads");
    const double blocks = (double)pd_cfg_int(cfg, "model.tokenizer.blocks");
    /* tokens of level l (1-based) per pixel: 4^-l, summed over levels ~ 1/3 */
    m->per_cost = 1.0 * F32 * (W * 12.0 + mlp * 2.0) * blocks / 3.0 * 2.0 + 40.0 * F32;
    m->per_cost_sq = 1.0 * F32 * heads * blocks * 3.0 / 16.0 * 2.0;
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
