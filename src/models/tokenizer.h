/* tokenizer.h — the structure tokenizer of SPEC §7: a hierarchical VQ-VAE over distogram images
 * (per-level k=2 s=2 convolutions + RoPE transformer blocks, top-down EMA vector quantisation,
 * per-level decoders, refinement head). Forward code, codebook update, encode/decode; the
 * training engine owns steps and ranks. Architecture and every reading: docs/models/tokenizer.md. */
#ifndef PD_MODELS_TOKENIZER_H
#define PD_MODELS_TOKENIZER_H

#include <stdint.h>

#include "core/config.h"
#include "core/error.h"
#include "models/model_opts.h"
#include "nn/norm.h"
#include "nn/params.h"
#include "nn/tape.h"
#include "nn/vq_kernels.h"

#define PD_TOKENIZER_MAX_LEVELS 12

/* SPEC §7 per-channel normalisation of pixel/255 (R, G, B). */
extern const float pd_tokenizer_mean[3];
extern const float pd_tokenizer_std[3];

typedef struct pd_tokenizer_config {
    int levels;            /* n (model.tokenizer.levels) */
    int width;             /* C (model.tokenizer.width) */
    int mlp;               /* MLP hidden width (model.tokenizer.mlp) */
    int heads;             /* attention heads (model.tokenizer.heads) */
    int latent_dim;        /* Q/K/V projection size AND codebook dimension (model.tokenizer.latent_dim) */
    int rope_dim;          /* rotary dims per head, even, <= latent_dim/heads (model.tokenizer.rope_dim) */
    int codebook;          /* K codes per level (model.tokenizer.codebook) */
    int blocks;            /* transformer blocks per stage and in the refinement head (model.tokenizer.blocks) */
    double beta;           /* commitment weight (model.tokenizer.beta) */
    double ema_decay;      /* codebook EMA decay (model.tokenizer.ema_decay) */
    double vq_eps;         /* Laplace smoothing ε, 1e-5 */
    double dead_threshold; /* a code whose EMA count falls below this is re-seeded (0.1; 0 = never) */
    double reseed_count;   /* EMA count given to a re-seeded code (1) */
    int data_init;         /* 1: the first codebook update re-seeds every code from encoder outputs */
    double rope_base;      /* 10000 */
    double ln_eps;         /* LayerNorm ε, 1e-5 */
    double bn_eps;         /* BatchNorm ε, 1e-5 */
    double bn_momentum;    /* BatchNorm running-statistics momentum, 0.1 */
} pd_tokenizer_config;

/* Global counts the loss terms are divided by, so N ranks give the update of one rank holding
 * the whole batch. pixels: valid pixels (each carries 3 channel values); tokens[l]: valid tokens
 * of level l (each a latent_dim vector). A value of 0 means "this batch's own count". */
typedef struct pd_tokenizer_norm {
    double pixels;
    double tokens[PD_TOKENIZER_MAX_LEVELS];
} pd_tokenizer_norm;

/* What one loss call measured (terms already divided by their normalisers). */
typedef struct pd_tokenizer_terms {
    int levels;
    double loss;                                 /* mse + beta * sum(commit) */
    double mse;                                  /* masked MSE in normalised space */
    double commit[PD_TOKENIZER_MAX_LEVELS];      /* mean (x - sg q)^2 over valid tokens, before beta */
    int64_t used[PD_TOKENIZER_MAX_LEVELS];       /* distinct codes among this batch's valid tokens */
    double perplexity[PD_TOKENIZER_MAX_LEVELS];  /* exp(entropy) of this batch's code histogram */
    int64_t pixels;                              /* valid pixels in this batch */
    int64_t tokens[PD_TOKENIZER_MAX_LEVELS];     /* valid tokens per level in this batch */
} pd_tokenizer_terms;

/* The quantiser inputs of one forward, for the codebook update. Pointers live in the graph's
 * arena until pd_graph_reset. Rows r = (b·h + i)·h + j of the level's h×h grid. */
typedef struct pd_tokenizer_vq_batch {
    int levels;
    int64_t rows[PD_TOKENIZER_MAX_LEVELS];
    const pd_real *x[PD_TOKENIZER_MAX_LEVELS];      /* [rows, latent_dim] pre-quantisation vectors */
    const int32_t *index[PD_TOKENIZER_MAX_LEVELS];  /* [rows] nearest code */
    const uint8_t *valid[PD_TOKENIZER_MAX_LEVELS];  /* [rows] 1 = token covers a valid pixel */
} pd_tokenizer_vq_batch;

typedef struct pd_tokenizer pd_tokenizer;

/* Synchronised BatchNorm (tokenizer_batchnorm.c): training-mode batch statistics summed over
 * ranks by fn (n doubles in place, the same calls in the same order on every rank), each rank's
 * own values multiplied by weight first (0 for a batch that must count nothing, 1 otherwise). With
 * fn = NULL the statistics are this rank's own (the single-process behaviour). */
typedef pd_status (*pd_tokenizer_sum_fn)(void *user, double *buf, int64_t n);
typedef struct pd_tokenizer_batch_sum {
    pd_tokenizer_sum_fn fn;
    void *user;
    double weight;
} pd_tokenizer_batch_sum;

/* ---- configuration (tokenizer.c) ---------------------------------------------------------------- */
void pd_tokenizer_config_default(pd_tokenizer_config *c);
/* model.tokenizer.* from a validated run file, then pd_tokenizer_config_check. */
pd_status pd_tokenizer_config_from(const pd_config *cfg, pd_tokenizer_config *out);
/* heads | latent_dim, rope_dim even and <= latent_dim/heads, levels <= MAX, ... with the key to fix. */
pd_status pd_tokenizer_config_check(const pd_tokenizer_config *c);

/* ---- model lifetime ------------------------------------------------------------------------------- */
/* Declare every parameter (units: enc.<l>, dec.<l>, refine), PyTorch-default init from
 * opts->seed, codebooks N(0,1) from opts->seed, BatchNorm statistics reset; units padded for
 * opts->pad_multiple ranks. */
pd_status pd_tokenizer_create(pd_tokenizer **m, const pd_tokenizer_config *c, const pd_model_opts *opts);
void pd_tokenizer_destroy(pd_tokenizer *m);
pd_params *pd_tokenizer_params(pd_tokenizer *m);
const pd_tokenizer_config *pd_tokenizer_get_config(const pd_tokenizer *m);
/* Model-owned non-trainable state (checkpoint it with the parameters): level l's codebook. */
pd_vq_codebook *pd_tokenizer_codebook(pd_tokenizer *m, int level);
/* BatchNorm running statistics: there are 2·levels of them; *name gets "enc.<l>.bn" / "dec.<l>.bn". */
int pd_tokenizer_n_batchnorms(const pd_tokenizer *m);
pd_batchnorm_stats *pd_tokenizer_batchnorm(pd_tokenizer *m, int i, const char **name);
/* Training-mode BatchNorm statistics over ranks from now on (see pd_tokenizer_batch_sum); NULL or
 * fn = NULL: local statistics (then the nn op pd_batchnorm runs). */
void pd_tokenizer_set_batch_sum(pd_tokenizer *m, const pd_tokenizer_batch_sum *sum);
/* The synchronised BatchNorm op itself ([N, C, ...] channels first, affine, training mode only). */
pd_tensor *pd_tokenizer_sync_batchnorm(pd_graph *g, pd_tensor *x, pd_tensor *weight, pd_tensor *bias,
                                       pd_batchnorm_stats *stats, double momentum, double eps,
                                       const pd_tokenizer_batch_sum *sum);
/* Codebook updates applied so far (0 = the codebooks are still their initialisation). */
int64_t pd_tokenizer_codebook_updates(const pd_tokenizer *m);
void pd_tokenizer_set_codebook_updates(pd_tokenizer *m, int64_t updates);

/* Its HDF5 form (codebooks and statistics beside the parameters) is train/tokenizer_state.h:
 * src/models knows no files. */

/* ---- images (tokenizer_image.c) ------------------------------------------------------------------- */
/* Smallest multiple of 2^levels that is >= max_len (the square side of a batch). */
int pd_tokenizer_side(const pd_tokenizer_config *c, int max_len);
/* n distogram images (images[i]: lengths[i]² × 3 uint8, SPEC §3 layout) into the model input
 * out[n, 3, side, side]: (pixel/255 − mean_c)/std_c inside the image, 0 (the normalised mean)
 * in the padding. side must be >= every length. */
pd_status pd_tokenizer_prepare(const uint8_t *const *images, const int32_t *lengths, int n, int side, float *out);
/* Normalised model output [n, 3, side, side] back to uint8 images (out[i]: L_i² × 3):
 * pixel = round(clip((x·std + mean)·255, 0, 255)). */
void pd_tokenizer_to_uint8(const pd_real *recon, const int32_t *lengths, int n, int side, uint8_t *const *out);
/* Reconstruction error in physical units, accumulated over valid pixels (sums and counts, so
 * batches and ranks can be added before dividing). With v = x·std + mean (pixel/255):
 * distance (R, i >= j) 80·|Δv| Å; ω (R, i < j) and θ (G) 360·|Δv| degrees wrapped to <= 180;
 * φ (B) 180·|Δv| degrees. recon and target are [B, S·S, 3] (channels_last = 1, the layout
 * pd_tokenizer_loss returns) or [B, 3, S, S] (0). Adds into sum[4] and count[4] in the order
 * distance, ω, θ, φ. */
void pd_tokenizer_channel_errors(const pd_real *recon, const pd_real *target, int channels_last, const int32_t *lengths,
                                 int n, int side, double sum[4], double count[4]);
/* Local counts of valid pixels and tokens for a batch (the engine sums them over ranks). */
void pd_tokenizer_count(const pd_tokenizer_config *c, const int32_t *lengths, int n, int side, pd_tokenizer_norm *out);

/* ---- forward (tokenizer.c) ----------------------------------------------------------------------- */
/* Training / validation loss. images [B, 3, S, S] normalised (pd_tokenizer_prepare), no grad;
 * lengths [B] valid side of each image (pixels i, j < L count; padding is masked out of the
 * loss, the attention keys, the codebook statistics and every stage's output). norm: global
 * counts (NULL = local). BatchNorm uses batch statistics when pd_graph_training(g), running
 * statistics otherwise. Returns the [1] loss (NULL if the graph failed: pd_graph_status says
 * why); fills terms and vq (either may be NULL); recon (may be NULL) gets the reconstruction
 * [B, S·S, 3] (token layout: pixel (i, j) is row i·S + j) in normalised space. */
pd_tensor *pd_tokenizer_loss(pd_graph *g, pd_tokenizer *m, pd_tensor *images, const int32_t *lengths,
                             const pd_tokenizer_norm *norm, pd_tokenizer_terms *terms, pd_tokenizer_vq_batch *vq,
                             pd_tensor **recon);
/* Inference (nothing recorded): per-level code indices. codes[l] receives B·h_l² values
 * (h_l = S / 2^(l+1), row-major per image), −1 where the token covers no valid pixel. vq may be
 * NULL. Uses the graph's training flag for BatchNorm as pd_tokenizer_loss does. */
pd_status pd_tokenizer_encode(pd_graph *g, pd_tokenizer *m, pd_tensor *images, const int32_t *lengths,
                              int32_t *const *codes, pd_tokenizer_vq_batch *vq);
/* Inference: codes (as pd_tokenizer_encode writes them; −1 = padding) → reconstruction
 * [B, 3, S, S] in normalised space (arena, until reset). Only decoder 0 and the refinement head
 * run: the coarser decoders only condition the quantisation while encoding. */
pd_status pd_tokenizer_decode(pd_graph *g, pd_tokenizer *m, const int32_t *const *codes, const int32_t *lengths,
                              int n, int side, pd_tensor **recon);

/* ---- codebooks (tokenizer_vq.c) ------------------------------------------------------------------ */
/* Size (doubles) of the statistics buffer: per level K counts then K·latent_dim sums. */
int64_t pd_tokenizer_vq_stats_numel(const pd_tokenizer *m);
/* This batch's statistics over valid tokens only (overwrites stats). Multi-rank: sum the buffer
 * over ranks (MPI_DOUBLE) before the update. */
void pd_tokenizer_vq_stats(const pd_tokenizer *m, const pd_tokenizer_vq_batch *vq, double *stats);
/* EMA update of every level from (global) stats, then dead-code re-seeding (and, on the first
 * update when data_init is set, every code) from the valid vectors of `reseed_from` (NULL: no
 * re-seeding), keyed by (seed, step, level). Multi-rank: pass the same reseed_from on every rank
 * (e.g. rank 0's vectors broadcast) so the codebooks stay identical. reseeded[l] (may be NULL)
 * gets the number of re-seeded codes. */
pd_status pd_tokenizer_codebook_update(pd_tokenizer *m, const double *stats, const pd_tokenizer_vq_batch *reseed_from,
                                       uint64_t seed, uint64_t step, int64_t *reseeded);
/* Codebook usage per level from a stats buffer (one batch or accumulated over many). */
void pd_tokenizer_usage(const pd_tokenizer *m, const double *stats, int64_t *used, double *perplexity);

#endif
