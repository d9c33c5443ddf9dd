/* diffusion.h — stage 3 of SPEC §7: the latent diffusion transformer (DiT with adaLN-Zero)
 * that denoises per-residue side-chain latents given backbone latents, the timestep and the
 * amino acids that are known; its training loss, inference prediction and the sampler adapter.
 * Forward code on the op set; the engine owns steps, batches and ranks; `design` drives the
 * sampler. Architecture, formulas and verification: docs/models/diffusion.md. */
#ifndef PD_MODELS_DIFFUSION_H
#define PD_MODELS_DIFFUSION_H

#include <stdint.h>

#include "core/config.h"
#include "core/error.h"
#include "models/model_opts.h"
#include "models/samplers.h"
#include "models/schedule.h"
#include "nn/params.h"
#include "nn/tape.h"

/* Amino-acid tokens of the conditioning embedding: 0..19 the standard amino acids (§1 order),
 * 20 a residue whose amino acid is known to be non-standard/unknown, 21 <mask> (to design). */
#define PD_DIFFUSION_TOKENS 22
#define PD_DIFFUSION_TOKEN_UNKNOWN 20
#define PD_DIFFUSION_TOKEN_MASK 21
/* Sinusoidal timestep features (DiT's TimestepEmbedder: 256 = 128 cos + 128 sin, period 1e4). */
#define PD_DIFFUSION_FREQ_DIM 256
#define PD_DIFFUSION_MAX_PERIOD 10000.0
#define PD_DIFFUSION_MLP_RATIO 4
#define PD_DIFFUSION_LN_EPS 1e-6
/* Classes of the latent classifier of the sequence loss: the 20 standard amino acids (§1 order). */
#define PD_DIFFUSION_SEQ_CLASSES 20

typedef struct pd_diffusion_config {
    int depth;              /* DiT blocks (model.diffusion.depth) */
    int width;              /* W (model.diffusion.width) */
    int heads;              /* attention heads, must divide W (model.diffusion.heads) */
    int timesteps;          /* T (model.diffusion.timesteps) */
    int sc_latent;          /* what is denoised (model.sc_vae.latent) */
    int bb_latent;          /* conditioning per residue (model.bb_vae.latent) */
    pd_diffusion_target target;   /* model.diffusion.target */
    int geometry;           /* model.diffusion.geometry: 0 "none" (SPEC §7), 1 "backbone": backbone
                             * features in the input and a pair bias in every attention
                             * (models/diffusion_geometry.h) */
    int pair_values;        /* model.diffusion.pair_values (needs geometry "backbone"): every attention
                             * also returns, per head, the attention-weighted sum of the pair
                             * features, Σ_j P_ij e_ij, projected into the block's output
                             * (zero-initialised): neighbours' relative geometry in the messages */
    double sequence_loss;   /* model.diffusion.sequence_loss: weight of the auxiliary sequence loss,
                             * the cross-entropy of the native amino acid under the latent
                             * classifier read on x̂0 (0: none, SPEC §7; > 0 needs target x0);
                             * the latent classifier (unit "seq_head") trains on the true SC μ */
    int environment;        /* model.diffusion.environment: k > 0 (needs geometry "backbone") adds
                             * each residue's k nearest residues in its own frame, read by a shared
                             * MLP and pooled, to the input (models/diffusion_environment.h); 0: none */
    int environment_width;  /* model.diffusion.environment_width: E, the shared MLP's width */
    int environment_layers; /* model.diffusion.environment_layers: message-passing layers after the
                             * environment's reader, each residue reading its neighbours' hidden
                             * states (0: the pooled reader alone) */
    double design_fraction; /* model.diffusion.design_fraction: the share of training entries drawn
                             * as design asks — t = T - 1 (pure noise) and every amino acid masked —
                             * instead of a uniform t and a uniform share of revealed amino acids */
    int sequence_head;      /* model.diffusion.sequence_head: what the sequence loss's w-weighted term
                             * reads — PD_SEQ_HEAD_LATENT, the latent classifier on x̂0, or
                             * PD_SEQ_HEAD_HIDDEN, a head W -> W -> 20 on the DiT's last hidden state
                             * (the state final.linear reads x̂0 from) */
} pd_diffusion_config;

enum { PD_SEQ_HEAD_LATENT = 0, PD_SEQ_HEAD_HIDDEN = 1 };

/* Schema defaults: depth 4, width 128, heads 4, T 1000, latents 16 / 32, target eps. */
void pd_diffusion_config_default(pd_diffusion_config *c);
/* From a run file (model.diffusion.*, model.sc_vae.latent, model.bb_vae.latent). */
pd_status pd_diffusion_config_from(const pd_config *cfg, pd_diffusion_config *c);
pd_status pd_diffusion_config_check(const pd_diffusion_config *c);

typedef struct pd_diffusion pd_diffusion;

/* Declare the parameters (unit "embed", one unit "blocks.<l>" per block, unit "final"),
 * finalize padded for a shard group of opts->pad_multiple ranks and initialise from opts->seed
 * (DiT's init: Xavier-uniform linears with zero bias, N(0, 0.02) conditioning MLP and amino-acid
 * table, and zeros for every adaLN linear and the output linear: adaLN-Zero). */
pd_status pd_diffusion_create(pd_diffusion **m, const pd_diffusion_config *c, const pd_model_opts *opts);
void pd_diffusion_destroy(pd_diffusion *m);
pd_params *pd_diffusion_params(pd_diffusion *m);
const pd_diffusion_config *pd_diffusion_get_config(const pd_diffusion *m);
const pd_schedule *pd_diffusion_get_schedule(const pd_diffusion *m);

/* A training batch: whole entries, residues packed entry after entry. */
typedef struct pd_diffusion_batch {
    int n_entries;
    const int64_t *offset;        /* [n_entries + 1] first residue row of each entry */
    const float *sc_mu;           /* [N, sc_latent] SC-VAE encoder means of the true residues: x0 */
    const float *bb_mu;           /* [N, bb_latent] BB-VAE encoder means */
    const uint8_t *aa;            /* [N] 0..19, 20 = unknown */
    const uint8_t *valid;         /* [N] 1 = the residue takes part (attention key, loss); NULL: all */
    const uint64_t *entry_keys;   /* [n_entries] RNG key of each entry (its global dataset index or
                                   * name hash, so any rank count draws the same); NULL: 0..B-1 */
    const float *atom14;          /* [N, 14, 3] backbone (N, CA, C = slots 0..2); needed when
                                   * config.geometry is on, else unused */
    const uint8_t *chain;         /* [N] chain index within the entry, or NULL (one chain) */
} pd_diffusion_batch;

/* What one loss call measured (local to this batch). */
typedef struct pd_diffusion_terms {
    double loss;            /* the returned value: mse (+ seq_head_ce + sequence_loss · seq_ce) */
    double mse;             /* sum_sq / (normaliser · sc_latent) */
    double sum_sq;          /* Σ over valid residues and latent dims of (pred - target)² */
    int64_t n_residues;     /* valid residues (the local normaliser) */
    int64_t n_revealed;     /* valid residues whose amino acid was shown to the model */
    int n_entries;
    /* with sequence_loss > 0 (else 0): over valid residues with a standard amino acid */
    double seq_ce;          /* CE of the native amino acid under the latent classifier on x̂0 (sequence_head
                             * "hidden": under the hidden head) / normaliser */
    double seq_head_ce;     /* CE of the latent classifier on the true SC μ / normaliser */
    int64_t n_labelled;     /* valid residues with amino acid 0..19 */
    int64_t n_seq_correct;  /* ... read as the native amino acid (by the term seq_ce measures) */
    int64_t n_seq_correct_masked, n_labelled_masked; /* the same over residues shown <mask> */
} pd_diffusion_terms;

/* Training/validation loss. Per entry (stream keyed by (seed, step, entry key, PD_RNG_NOISE)):
 * t ~ U{0..T-1}, p ~ U(0,1); per residue in order: reveal its amino acid if u < p (else
 * <mask>); then per residue its sc_latent normals ε. x_t = sqrt(ᾱ_t) sc_mu + sqrt(1-ᾱ_t) ε;
 * target ε or sc_mu. Loss = Σ_valid ‖pred - target‖² / (normaliser · sc_latent); normaliser is
 * the global count of valid residues (0: this batch's). With sequence_loss w > 0 the loss adds
 * CE(head(sc_mu)) (trains the latent classifier) + w · CE(head'(x̂0)) (head' = the same weights,
 * detached: trains the DiT to put x̂0 where the native amino acid's latents are; with sequence_head
 * "hidden", w · CE(hidden head(last hidden state)) instead), each summed
 * over valid residues with a standard amino acid and divided by the normaliser. Returns [1] (NULL if the graph failed:
 * pd_graph_status says why); call pd_backward on it. */
pd_tensor *pd_diffusion_loss(pd_graph *g, pd_diffusion *m, const pd_diffusion_batch *b, uint64_t seed, uint64_t step,
                             double normaliser, pd_diffusion_terms *terms);
/* The same with the randomness given: t [n_entries], tokens [N] 0..21, noise [N, sc_latent]. */
pd_tensor *pd_diffusion_loss_given(pd_graph *g, pd_diffusion *m, const pd_diffusion_batch *b, const int32_t *t,
                                   const int32_t *tokens, const float *noise, double normaliser,
                                   pd_diffusion_terms *terms);
/* The draws pd_diffusion_loss makes (same arrays as pd_diffusion_loss_given takes). */
pd_status pd_diffusion_draw(const pd_diffusion *m, const pd_diffusion_batch *b, uint64_t seed, uint64_t step, int32_t *t,
                            int32_t *tokens, float *noise);

/* Conditioning of inference: the backbone latents and, per residue, the token to show. */
typedef struct pd_diffusion_cond {
    int n_entries;
    const int64_t *offset;        /* [n_entries + 1] */
    const float *bb_mu;           /* [N, bb_latent] */
    const int32_t *tokens;        /* [N] fixed amino acid 0..19, 20 unknown, 21 <mask> (designed) */
    const uint8_t *valid;         /* [N] or NULL */
    const float *atom14;          /* [N, 14, 3], when config.geometry is on */
    const uint8_t *chain;         /* [N] or NULL */
} pd_diffusion_cond;

/* Network prediction without gradients: x_t [N, sc_latent], timestep t[b] per entry ->
 * pred [N, sc_latent] (eps or x0 as the model's target). Uses g's arena (reset it after). */
pd_status pd_diffusion_predict(pd_graph *g, pd_diffusion *m, const pd_diffusion_cond *c, const float *x_t,
                               const int32_t *t, float *pred);
/* The same, and the hidden sequence head's logits seq_logits [N, 20] (model.diffusion.sequence_head
 * = "hidden"; NULL: not wanted; wanted from a model without that head: PD_ERR_CONFIG). */
pd_status pd_diffusion_predict_seq(pd_graph *g, pd_diffusion *m, const pd_diffusion_cond *c, const float *x_t,
                                   const int32_t *t, float *pred, float *seq_logits);

/* Sample clean side-chain latents x0 [N, sc_latent] for every residue of the conditioning with
 * the configured sampler (every entry at the same timestep per step). Noise keyed as in
 * samplers.h by (seed, stage, row_ids[i] (NULL: i)). Resets g before every network call. */
pd_status pd_diffusion_sample(pd_graph *g, pd_diffusion *m, const pd_diffusion_cond *c, const pd_sampler_config *sc,
                              uint64_t seed, const uint64_t *row_ids, float *x0);
/* The same, and the hidden sequence head's logits [N, 20] of the sampler's last network call. */
pd_status pd_diffusion_sample_seq(pd_graph *g, pd_diffusion *m, const pd_diffusion_cond *c, const pd_sampler_config *sc,
                                  uint64_t seed, const uint64_t *row_ids, float *x0, float *seq_logits);

/* The latent classifier of the sequence loss (unit "seq_head", present when the model was trained
 * with sequence_loss > 0) on latents z [n, sc_latent] -> logits [n, 20], without gradients. Uses
 * g's arena (reset it after). A model without the head is a PD_ERR_CONFIG naming the key. */
pd_status pd_diffusion_classify(pd_graph *g, pd_diffusion *m, const float *z, int64_t n, float *logits);

/* ---- pieces exposed for tests ---- */
/* The sinusoidal features of timestep t: out[j] = cos(t·f_j), out[128+j] = sin(t·f_j),
 * f_j = exp(-ln(10000)·j/128), j < 128. */
void pd_diffusion_timestep_features(double t, float out[PD_DIFFUSION_FREQ_DIM]);
/* One DiT block on x [B, L, W] with the SiLU of the condition, silu_c [B, L, W], the block's
 * attention pair bias [B, L, L, heads] (NULL: none) and the pair features [B, L, L, GEO_PAIR]
 * its attention aggregates when config.pair_values is on (else unused, NULL). */
pd_tensor *pd_diffusion_block(pd_graph *g, pd_diffusion *m, int block, pd_tensor *x, pd_tensor *silu_c,
                              const uint8_t *key_valid, pd_tensor *bias, pd_tensor *pair);

#endif
