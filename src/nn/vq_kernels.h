/* vq_kernels.h — raw CPU kernels of vector quantisation with an EMA codebook (VQ-VAE-2 /
 * vqtorch style): nearest code by GEMM, batch statistics, the EMA update, dead-code re-seeding
 * and usage statistics. The gradient op (straight-through + commitment loss) is vq.h.
 *
 * Encoder outputs are channels-first [N, D, P] (P = product of spatial dims; P = 1 is the
 * plain row layout [M, D]); "vector r" is (n, p) with r = n·P + p, its D values x[n, :, p].
 *
 * Exact formulas (K codes of dimension D, decay γ, smoothing ε):
 *   nearest:   dist(r, k) = ‖x_r‖² − 2·x_r·e_k + ‖e_k‖²; index_r = argmin_k, ties → lowest k.
 *   batch:     N_k = #{r : index_r = k},  S_k = Σ_{r : index_r = k} x_r   (global batch: the
 *              caller all-reduces N and S over ranks before the update)
 *   EMA:       c_k ← γ·c_k + (1 − γ)·N_k,   s_k ← γ·s_k + (1 − γ)·S_k
 *   Laplace:   n = Σ_k c_k,   ĉ_k = (c_k + ε) / (n + K·ε) · n
 *   codebook:  e_k = s_k / ĉ_k
 *   (identical to rosinality's vq-vae-2-pytorch Quantize / vqtorch's EMA update; we start
 *   from c_k = 1, s_k = e_k so that the first smoothed division reproduces e_k.)
 *   dead code: after the update, every k (ascending) with c_k < threshold gets a random
 *              encoder vector x_r of the batch, r = pd_rng_below(rng, rows) with the counter
 *              RNG keyed (seed, step, stream, PD_RNG_VQ): e_k = x_r, s_k = reseed_count·x_r,
 *              c_k = reseed_count.
 *   usage:     p_k = N_k / Σ N, perplexity = exp(−Σ_{p_k>0} p_k log p_k), used = #{k : N_k > 0}. */
#ifndef PD_NN_VQ_KERNELS_H
#define PD_NN_VQ_KERNELS_H

#include <stdint.h>

#include "core/error.h"
#include "nn/real.h"

/* The codebook and its EMA state. Memory belongs to the model (to checkpoint it). */
typedef struct pd_vq_codebook {
    int64_t codes, dim;   /* K, D */
    pd_real *embed;       /* [K, D] the codes the forward uses */
    pd_real *ema_count;   /* [K]    c_k */
    pd_real *ema_sum;     /* [K, D] s_k */
} pd_vq_codebook;

typedef struct pd_vq_ema_config {
    double decay;          /* γ, 0.99 */
    double eps;            /* ε, 1e-5 */
    double dead_threshold; /* re-seed codes with c_k below this (0 disables re-seeding) */
    double reseed_count;   /* c_k given to a re-seeded code */
    int trainable;         /* 0: the codebook is frozen and update/re-seed change nothing */
} pd_vq_ema_config;

/* decay 0.99, eps 1e-5, dead_threshold 1 and reseed_count 1 (a code is re-seeded as soon as
 * its EMA count drops below one vector per step, as lucidrains/vector-quantize-pytorch does with
 * threshold_ema_dead_code = reset_cluster_size), trainable = 1. */
pd_vq_ema_config pd_vq_ema_defaults(void);

/* Start the EMA state consistent with `embed`: c_k = 1, s_k = e_k. */
void pd_vq_codebook_reset_ema(pd_vq_codebook *book);

/* Scratch floats pd_vq_nearest needs (pass at least this many, or NULL to allocate). */
int64_t pd_vq_work_numel(const pd_vq_codebook *book, int64_t N, int64_t P);
/* index[n·P + p] = nearest code of x[n, :, p]. */
pd_status pd_vq_nearest(const pd_vq_codebook *book, const pd_real *x, int64_t N, int64_t P, int32_t *index,
                        pd_real *work);
/* q[n, :, p] = embed[index[n·P + p], :]. */
void pd_vq_lookup(const pd_vq_codebook *book, const int32_t *index, int64_t N, int64_t P, pd_real *q);

/* counts[K] = N_k, sums[K·D] = S_k of this batch (overwritten), in double so ranks can sum
 * them exactly enough with MPI_DOUBLE. */
void pd_vq_batch_stats(const pd_vq_codebook *book, const pd_real *x, int64_t N, int64_t P, const int32_t *index,
                       double *counts, double *sums);
/* The EMA update from (global) batch statistics. No-op when !cfg->trainable. */
void pd_vq_ema_update(pd_vq_codebook *book, const pd_vq_ema_config *cfg, const double *counts, const double *sums);
/* Re-seed dead codes from the N·P vectors of x; *n_reseeded (may be NULL) gets how many.
 * No-op when !cfg->trainable or dead_threshold ≤ 0. In multi-rank training pass the same x on
 * every rank (e.g. rank 0's batch broadcast) so the codebooks stay identical. */
void pd_vq_reseed_dead(pd_vq_codebook *book, const pd_vq_ema_config *cfg, const pd_real *x, int64_t N, int64_t P,
                       uint64_t seed, uint64_t step, uint64_t stream, int64_t *n_reseeded);
/* Perplexity and number of codes used, from counts[K] (batch or accumulated). */
void pd_vq_usage(const double *counts, int64_t K, double *perplexity, int64_t *used);

#endif
