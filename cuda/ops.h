/* ops.h — the CUDA op set as a C interface: one function per op forward and backward, on
 * device pointers with explicit shapes, queued on the rank's compute stream (device.h). Same
 * semantics, layouts and per-element formulas (src/nn/pointwise_*.h) as the CPU ops; backward
 * functions ADD into gradient buffers (NULL = not wanted), as the CPU tape does. */
#ifndef PD_CUDA_OPS_H
#define PD_CUDA_OPS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "core/error.h"
#include "nn/conv_kernels.h"
#include "nn/kernel_desc.h"
#include "nn/pointwise_index.h"
#include "nn/pointwise_ops.h"
#include "nn/pointwise_optim.h"

/* ---- device memory ---------------------------------------------------------------------------- */
/* One cudaMalloc'd chunk, bump allocation (256-byte aligned), rewound per step. It does not
 * grow: running out is an error that names the size to set (run.gpu_arena_mb). */
typedef struct pd_cuda_arena {
    char *base;
    size_t size, used, peak;
} pd_cuda_arena;

pd_status pd_cuda_arena_create(pd_cuda_arena *a, size_t bytes);
void pd_cuda_arena_destroy(pd_cuda_arena *a);
/* NULL (with a PD_ERR_NOMEM message naming the sizes) when the chunk is full. */
void *pd_cuda_arena_alloc(pd_cuda_arena *a, size_t bytes);
void pd_cuda_arena_reset(pd_cuda_arena *a);

/* Host <-> device copies ordered on the compute stream; the host side is complete on return. */
pd_status pd_cuda_upload(void *dst, const void *src, size_t bytes);
pd_status pd_cuda_download(void *dst, const void *src, size_t bytes);
pd_status pd_cuda_memset_zero(void *dst, size_t bytes);
/* Wait for everything queued on the compute stream; reports asynchronous kernel errors. */
pd_status pd_cuda_synchronize(const char *what);

/* Managed (unified) memory for tensors placed on the GPU: valid on host and device (managed.cu).
 * pd_cuda_managed_check fails when the current GPU cannot be accessed concurrently by the host
 * (the placement relies on it: host code may touch memory while kernels run). */
pd_status pd_cuda_managed_check(void);
pd_status pd_cuda_managed_alloc(void **out, size_t bytes);
void pd_cuda_managed_free(void *p);
/* 1 when p is managed or device memory (cudaPointerGetAttributes), 0 for host memory. */
int pd_cuda_pointer_on_device(const void *p);

/* ---- precision --------------------------------------------------------------------------------- */
/* FP32: every GEMM in fp32 (no TF32). BF16: GEMM operands rounded to bf16 (pd_f32_to_bf16,
 * nearest-even), products accumulated in fp32 (CUBLAS_COMPUTE_32F), results stored fp32; the
 * elementwise, normalisation, softmax and loss kernels always compute in fp32. */
typedef enum pd_cuda_precision { PD_CUDA_FP32 = 0, PD_CUDA_BF16 = 1 } pd_cuda_precision;

pd_status pd_cuda_f32_to_bf16(const float *src, uint16_t *dst, int64_t n);
pd_status pd_cuda_bf16_to_f32(const uint16_t *src, float *dst, int64_t n);

/* Row-major C[m, n] = alpha·op(A)·op(B) + beta·C (as pd_gemm). FP32: a, b are float; BF16: a, b
 * are bf16 (uint16_t) and the accumulation is fp32. c is always float. */
pd_status pd_cuda_gemm(pd_cuda_precision p, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                       const void *a, int64_t lda, const void *b, int64_t ldb, float beta, float *c, int64_t ldc);
/* `batch` GEMMs, operand i at a + i·stride_a etc. (elements). */
pd_status pd_cuda_gemm_strided_batched(pd_cuda_precision p, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                                       float alpha, const void *a, int64_t lda, int64_t stride_a, const void *b,
                                       int64_t ldb, int64_t stride_b, float beta, float *c, int64_t ldc,
                                       int64_t stride_c, int64_t batch);

/* ---- GEMM ops ------------------------------------------------------------------------------------- */
/* y[rows, out] = x[rows, in]·w[out, in]ᵀ + b. w_bf16 (may be NULL: converted into `work`) is the
 * bf16 copy of w the optimizer keeps in BF16 mode. */
pd_status pd_cuda_linear_forward(pd_cuda_arena *work, pd_cuda_precision p, const float *x, const float *w,
                                 const uint16_t *w_bf16, const float *b, float *y, int64_t rows, int64_t in,
                                 int64_t out);
pd_status pd_cuda_linear_backward(pd_cuda_arena *work, pd_cuda_precision p, const float *x, const float *w,
                                  const float *gy, float *gx, float *gw, float *gb, int64_t rows, int64_t in,
                                  int64_t out);
/* Batched matmul over `batch` equal leading dims (b_shared: one b for every batch entry). */
pd_status pd_cuda_matmul_forward(pd_cuda_arena *work, pd_cuda_precision p, const float *a, const float *b, float *c,
                                 int64_t batch, int64_t m, int64_t n, int64_t k, int trans_a, int trans_b,
                                 int b_shared);
pd_status pd_cuda_matmul_backward(pd_cuda_arena *work, pd_cuda_precision p, const float *a, const float *b,
                                  const float *gc, float *ga, float *gb, int64_t batch, int64_t m, int64_t n,
                                  int64_t k, int trans_a, int trans_b, int b_shared);

/* ---- elementwise -------------------------------------------------------------------------------- */
/* y = a ∘ b with the broadcast layout L (pd_broadcast_layout_make on the host). */
pd_status pd_cuda_binary_forward(pd_binary_kind kind, const pd_broadcast_layout *L, const float *a, const float *b,
                                 float *y, int64_t a_numel, int64_t b_numel);
pd_status pd_cuda_binary_backward(pd_binary_kind kind, const pd_broadcast_layout *L, const float *a, const float *b,
                                  const float *gy, float *ga, float *gb, int64_t a_numel, int64_t b_numel);
/* y = alpha·x + c (scale, add_scalar); backward gx += alpha·gy. */
pd_status pd_cuda_affine_forward(const float *x, float *y, int64_t n, float alpha, float c);
pd_status pd_cuda_affine_backward(const float *gy, float *gx, int64_t n, float alpha);
/* x [rows, D]; shift/scale [rows / rows_per_cond, D]. */
pd_status pd_cuda_modulate_forward(const float *x, const float *shift, const float *scale, float *y, int64_t rows,
                                   int64_t D, int64_t rows_per_cond);
pd_status pd_cuda_modulate_backward(const float *x, const float *scale, const float *gy, float *gx, float *gshift,
                                    float *gscale, int64_t rows, int64_t D, int64_t rows_per_cond);
pd_status pd_cuda_activation_forward(pd_act_kind kind, const float *x, float *y, int64_t n);
pd_status pd_cuda_activation_backward(pd_act_kind kind, const float *x, const float *y, const float *gy, float *gx,
                                      int64_t n);
/* z = mu + exp(lv/2)·eps (eps drawn on the host by the counter RNG, or given). */
pd_status pd_cuda_reparam_forward(const float *mu, const float *logvar, const float *eps, float *z, int64_t n);
pd_status pd_cuda_reparam_backward(const float *logvar, const float *eps, const float *gz, float *gmu, float *glogvar,
                                   float *geps, int64_t n);

/* ---- rows: softmax, layernorm, reductions ------------------------------------------------------- */
pd_status pd_cuda_softmax_forward(const float *x, float *y, int64_t rows, int64_t cols, int take_log);
pd_status pd_cuda_softmax_backward(const float *y, const float *gy, float *gx, int64_t rows, int64_t cols,
                                   int take_log);
/* weight/bias may be NULL; mean/rstd [rows] are written for the backward. */
pd_status pd_cuda_layernorm_forward(const float *x, const float *w, const float *b, float *y, float *mean, float *rstd,
                                    int64_t rows, int64_t D, float eps);
pd_status pd_cuda_layernorm_backward(const float *x, const float *w, const float *mean, const float *rstd,
                                     const float *gy, float *gx, float *gw, float *gb, int64_t rows, int64_t D);
/* out[0] = Σ x (mean: / n), deterministic fixed-order tree in double. */
pd_status pd_cuda_sum_forward(pd_cuda_arena *work, const float *x, float *out, int64_t n, int mean);
pd_status pd_cuda_sum_backward(const float *gout, float *gx, int64_t n, float factor);
/* x [outer, dim, inner] → y [outer, inner]. */
pd_status pd_cuda_sum_axis_forward(const float *x, float *y, int64_t outer, int64_t dim, int64_t inner, float factor);
pd_status pd_cuda_sum_axis_backward(const float *gy, float *gx, int64_t outer, int64_t dim, int64_t inner,
                                    float factor);

/* ---- losses (scalar outputs [1]) ----------------------------------------------------------------- */
/* row_valid: device [rows] or NULL; normaliser as the CPU op (0 = the valid count, computed
 * on the host from the host mask: pass it resolved, > 0). */
pd_status pd_cuda_mse_forward(pd_cuda_arena *work, const float *pred, const float *target, const uint8_t *row_valid,
                              float *out, int64_t rows, int64_t D, double normaliser);
pd_status pd_cuda_mse_backward(const float *pred, const float *target, const uint8_t *row_valid, const float *gout,
                               float *gpred, float *gtarget, int64_t rows, int64_t D, double normaliser);
/* target: device int32 [rows]; lse [rows] is written for the backward. */
pd_status pd_cuda_cross_entropy_forward(pd_cuda_arena *work, const float *logits, const int32_t *target,
                                        int ignore_index, float *lse, float *out, int64_t rows, int64_t C,
                                        double normaliser);
pd_status pd_cuda_cross_entropy_backward(const float *logits, const int32_t *target, int ignore_index,
                                         const float *lse, const float *gout, float *gx, int64_t rows, int64_t C,
                                         double normaliser);
pd_status pd_cuda_kl_normal_forward(pd_cuda_arena *work, const float *mu, const float *logvar,
                                    const uint8_t *row_valid, float *out, int64_t rows, int64_t D, double normaliser);
pd_status pd_cuda_kl_normal_backward(const float *mu, const float *logvar, const uint8_t *row_valid, const float *gout,
                                     float *gmu, float *glogvar, int64_t rows, int64_t D, double normaliser);

/* ---- shape -------------------------------------------------------------------------------------- */
/* y = permute(x, perm), x of ndim dims; backward gx += inverse permute(gy). */
pd_status pd_cuda_permute_forward(const float *x, float *y, int ndim, const int64_t *x_shape, const int *perm);
pd_status pd_cuda_permute_backward(const float *gy, float *gx, int ndim, const int64_t *x_shape, const int *perm);
/* dst[o, dst_start + i] (+)= src[o, i] for rows o < outer of `width` (≤ the strides): the
 * building block of concat (forward), slice (backward) and their adjoints. */
pd_status pd_cuda_copy_rows(const float *src, int64_t src_stride, float *dst, int64_t dst_stride, int64_t outer,
                            int64_t width, int accumulate);

/* ---- indexing: gather / scatter-add / embedding --------------------------------------------------- */
/* Device copy of an index list plus its CSR by destination (pd_csr_build), so every
 * scatter-add sums each destination in index order: deterministic, no atomics. */
typedef pd_index_plan pd_cuda_index_plan;   /* kernel_desc.h: the op keeps it from forward to backward */

pd_status pd_cuda_index_plan_create(pd_cuda_arena *a, const int32_t *host_idx, int64_t n_idx, int64_t n_dst,
                                    pd_cuda_index_plan *plan);
/* out[i, :] = x[idx[i], :] (zero for idx < 0), D = row width. Gather rows and embedding. */
pd_status pd_cuda_gather_rows_forward(const pd_cuda_index_plan *plan, const float *x, float *out, int64_t D);
/* gx[t, :] += Σ_{i: idx[i] = t} gout[i, :] (the gather's backward = scatter-add). */
pd_status pd_cuda_gather_rows_backward(const pd_cuda_index_plan *plan, const float *gout, float *gx, int64_t D);
/* out[t, :] = Σ_{i: idx[i] = t} x[i, :]; backward gx[i, :] += gout[idx[i], :]. */
pd_status pd_cuda_scatter_add_rows_forward(const pd_cuda_index_plan *plan, const float *x, float *out, int64_t D);
pd_status pd_cuda_scatter_add_rows_backward(const pd_cuda_index_plan *plan, const float *gout, float *gx, int64_t D);

/* ---- attention ----------------------------------------------------------------------------------- */
/* x [B, L, H·Dh]; pos device [B·L] or NULL (0..L-1); cos/sin tables [B·L, rope_dim/2] in
 * `work`, kept by the caller for the backward. */
typedef struct pd_cuda_rope_tables { float *cos_t, *sin_t; int64_t rows; int half; } pd_cuda_rope_tables;
pd_status pd_cuda_rope_tables_create(pd_cuda_arena *work, const int32_t *pos, int64_t B, int64_t L, int rope_dim,
                                     double base, pd_cuda_rope_tables *t);
pd_status pd_cuda_rope_forward(const pd_cuda_rope_tables *t, const float *x, float *y, int64_t rows, int n_heads,
                               int64_t head_dim, int rope_dim);
pd_status pd_cuda_rope_backward(const pd_cuda_rope_tables *t, const float *gy, float *gx, int64_t rows, int n_heads,
                                int64_t head_dim, int rope_dim);
/* q [B, Lq, H·Dh], k/v [B, Lk, H·Dh], key_valid device [B·Lk] or NULL, probs [B, H, Lq, Lk]
 * (kept for the backward), scale > 0. */
pd_status pd_cuda_attention_forward(pd_cuda_arena *work, pd_cuda_precision p, const float *q, const float *k,
                                    const float *v, const uint8_t *key_valid, float *probs, float *o, int64_t B,
                                    int64_t Lq, int64_t Lk, int n_heads, int64_t head_dim, float scale);
pd_status pd_cuda_attention_backward(pd_cuda_arena *work, pd_cuda_precision p, const float *q, const float *k,
                                     const float *v, const float *probs, const float *go, float *gq, float *gk,
                                     float *gv, int64_t B, int64_t Lq, int64_t Lk, int n_heads, int64_t head_dim,
                                     float scale);

/* ---- normalisation over channels-first [N, C, S] ------------------------------------------------- */
pd_status pd_cuda_groupnorm_forward(const float *x, const float *gamma, const float *beta, float *y, float *mean,
                                    float *rstd, int64_t N, int64_t C, int64_t S, int64_t G, double eps);
pd_status pd_cuda_groupnorm_backward(const float *x, const float *gamma, const float *mean, const float *rstd,
                                     const float *gy, float *gx, float *ggamma, float *gbeta, int64_t N, int64_t C,
                                     int64_t S, int64_t G);
/* training: batch statistics (N·S ≥ 2) and running-stat update (running_* may be NULL);
 * eval: running statistics. mean/rstd [C] are written for the backward. */
pd_status pd_cuda_batchnorm_forward(const float *x, const float *gamma, const float *beta, float *running_mean,
                                    float *running_var, float *y, float *mean, float *rstd, int64_t N, int64_t C,
                                    int64_t S, double momentum, double eps, int training);
pd_status pd_cuda_batchnorm_backward(const float *x, const float *gamma, const float *mean, const float *rstd,
                                     const float *gy, float *gx, float *ggamma, float *gbeta, int64_t N, int64_t C,
                                     int64_t S, int training);

/* ---- convolution (conv_kernels.h shapes: k=2, k=2 transposed, 1×1) and upsampling ----------------- */
pd_status pd_cuda_conv_forward(pd_cuda_arena *work, pd_cuda_precision p, const pd_conv_shape *s, const float *x,
                               const float *w, const float *bias, float *y);
pd_status pd_cuda_conv_backward(pd_cuda_arena *work, pd_cuda_precision p, const pd_conv_shape *s, const float *x,
                                const float *w, const float *gy, float *gx, float *gw, float *gbias);
/* x [planes, H, W] → y [planes, Ho, Wo], ratios from pd_upsample_ratio. */
pd_status pd_cuda_upsample_bilinear_forward(const float *x, float *y, int64_t planes, int64_t H, int64_t W, int64_t Ho,
                                            int64_t Wo, double ratio_h, double ratio_w);
pd_status pd_cuda_upsample_bilinear_backward(pd_cuda_arena *work, const float *gy, float *gx, int64_t planes,
                                             int64_t H, int64_t W, int64_t Ho, int64_t Wo, double ratio_h,
                                             double ratio_w);

/* ---- vector quantisation (vq_kernels.h semantics; the codebook arrays are device memory) ---------- */
/* index [N·P] (device) = nearest code of x[n, :, p]; q = the codes (straight-through value). */
pd_status pd_cuda_vq_nearest(pd_cuda_arena *work, const float *embed, int64_t K, int64_t D, const float *x, int64_t N,
                             int64_t P, int32_t *index, float *q);
/* counts [K], sums [K·D] in double (device), from a host copy of the index (CSR by code). */
pd_status pd_cuda_vq_batch_stats(pd_cuda_arena *work, int64_t K, int64_t D, const float *x, int64_t N, int64_t P,
                                 const int32_t *host_index, double *counts, double *sums);
/* The EMA update from (all-reduced) batch statistics: ema_count, ema_sum, embed in place. */
pd_status pd_cuda_vq_ema_update(float *embed, float *ema_count, float *ema_sum, int64_t K, int64_t D, double decay,
                                double eps, const double *counts, const double *sums);

/* ---- optimizer ---------------------------------------------------------------------------------- */
/* One AdamW step on n elements (p fp32 master, m, v fp32), decay applied first on the
 * [begin, end) segments given (host array, relative to p). p_bf16 (may be NULL) receives the
 * bf16 copy of the updated weights for the next BF16 forward. */
pd_status pd_cuda_adamw_step(const pd_adamw_scalars *k, float *p, float *m, float *v, const float *grad,
                             uint16_t *p_bf16, int64_t n, const int64_t (*decay_segments)[2], int n_segments);
/* Σ grad² in double (fixed-order tree), copied to the host: the caller all-reduces it and
 * takes pd_clip_factor_of(√total, max_norm) for the step's grad_scale. */
pd_status pd_cuda_grad_sumsq(pd_cuda_arena *work, const float *grad, int64_t n, double *host_sumsq);

#ifdef __cplusplus
}
#endif
#endif
