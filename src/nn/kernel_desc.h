/* kernel_desc.h — the descriptors the backends' kernels take (backend.h): one struct per op
 * family, naming the buffers and sizes of one forward or backward call, so a kernel has one
 * argument instead of ten to eighteen. Pointers are the tensors' data/grad (device memory on a
 * device graph); backward ADDS into the gradient pointers, which are NULL when not wanted. The
 * op enum (op.h) says which struct an op takes (comment at each struct). C and C++ (nvcc). */
#ifndef PD_NN_KERNEL_DESC_H
#define PD_NN_KERNEL_DESC_H

#include <stdint.h>

#include "nn/conv_kernels.h"
#include "nn/pointwise_index.h"
#include "nn/pointwise_ops.h"
#include "nn/real.h"

#ifdef __cplusplus
extern "C" {
#endif

struct pd_arena;

/* Bounds of the fixed arrays below: PD_MAX_DIMS (tensor.h) and PD_NODE_MAX_INPUTS (tape.h),
 * checked where the descriptors are filled. */
#define PD_DESC_MAX_DIMS 6
#define PD_DESC_MAX_INPUTS 8

/* LINEAR: y[rows, out] = x[rows, in]·w[out, in]ᵀ + b (b may be NULL). */
typedef struct pd_linear_desc {
    int64_t rows, in, out;
    const pd_real *x, *w, *b;
    pd_real *y;
    const pd_real *gy;
    pd_real *gx, *gw, *gb;
} pd_linear_desc;

/* MATMUL: c[i] = op(a[i])·op(b[i]) for i < batch, c[i] [m, n], inner dim k; b_shared: one b
 * [.., ..] for every batch entry. */
typedef struct pd_matmul_desc {
    int trans_a, trans_b, b_shared;
    int64_t batch, m, n, k;
    const pd_real *a, *b;
    pd_real *c;
    const pd_real *gc;
    pd_real *ga, *gb;
} pd_matmul_desc;

/* CONV2D_K2, CONV3D_K2, CONV_TRANSPOSE2D_K2, CONV_TRANSPOSE3D_K2, CONV_1X1 (conv_kernels.h
 * shapes; shape.transposed tells the transposed pair). bias may be NULL. The CPU kernels take
 * their im2col columns from host_scratch (the graph's arena, rewound after the call); device
 * backends use their own workspace. */
typedef struct pd_conv_desc {
    pd_conv_shape shape;
    struct pd_arena *host_scratch;
    const pd_real *x, *w, *bias;
    pd_real *y;
    const pd_real *gy;
    pd_real *gx, *gw, *gbias;
} pd_conv_desc;

/* GROUPNORM (groups > 0) and BATCHNORM (groups = 0) over channels-first x [N, C, S]; gamma/beta
 * may be NULL. Forward writes mean/rstd ([N·groups] or [C]) for the backward. BatchNorm in
 * training uses batch statistics and updates running_mean/running_var when given; in eval it
 * reads them (backend-readable copies, op_run.h's pd_graph_backend_copy). */
typedef struct pd_norm_desc {
    int64_t N, C, S, groups;
    int training;
    double eps, momentum;
    const pd_real *x, *gamma, *beta;
    pd_real *running_mean, *running_var;
    pd_real *y, *mean, *rstd;
    const pd_real *gy;
    pd_real *gx, *ggamma, *gbeta;
} pd_norm_desc;

/* What a device backend keeps of an index list between an index op's forward and backward:
 * its device copy and the CSR by destination (cuda/ops.h's pd_cuda_index_plan). */
typedef struct pd_index_plan {
    int64_t n_idx, n_dst;
    int32_t *idx;       /* [n_idx] */
    int64_t *row_ptr;   /* [n_dst + 1] */
    int32_t *order;     /* [n_idx] */
} pd_index_plan;

/* GATHER_ROWS, EMBEDDING: y[i, :] = x[idx[i], :] (zero row for idx < 0), backward
 * gx[idx[i], :] += gy[i, :]. SCATTER_ADD_ROWS: y[idx[i], :] = Σ x[i, :] (idx < 0 dropped; the
 * kernel writes every row of y), backward gx[i, :] += gy[idx[i], :]. Rows of width D; n_dst
 * = the rows idx addresses (x's for a gather, y's for a scatter-add). idx is the op's copy in
 * graph memory (backend-readable). plan: graph memory where a device backend keeps its index
 * plan from forward to backward (NULL when no backward will run). */
typedef struct pd_index_desc {
    int64_t n_idx, n_dst, D;
    const int32_t *idx;
    pd_index_plan *plan;
    const pd_real *x;
    pd_real *y;
    const pd_real *gy;
    pd_real *gx;
} pd_index_desc;

/* PERMUTE: y = permute(x, perm), x [x_shape] of ndim dims; backward gx += inverse permute(gy). */
typedef struct pd_permute_desc {
    int ndim;
    int64_t x_shape[PD_DESC_MAX_DIMS];
    int perm[PD_DESC_MAX_DIMS];
    const pd_real *x;
    pd_real *y;
    const pd_real *gy;
    pd_real *gx;
} pd_permute_desc;

/* CONCAT of n inputs along one axis: y viewed as [outer, dim, inner], input k as
 * [outer, sizes[k], inner] (Σ sizes = dim). gxs[k] may be NULL. */
typedef struct pd_concat_desc {
    int n;
    int64_t outer, dim, inner;
    int64_t sizes[PD_DESC_MAX_INPUTS];
    const pd_real *xs[PD_DESC_MAX_INPUTS];
    pd_real *y;
    const pd_real *gy;
    pd_real *gxs[PD_DESC_MAX_INPUTS];
} pd_concat_desc;

/* SLICE: y [outer, len, inner] = x [outer, dim, inner] at [start, start + len) of the middle dim. */
typedef struct pd_slice_desc {
    int64_t outer, dim, inner, start, len;
    const pd_real *x;
    pd_real *y;
    const pd_real *gy;
    pd_real *gx;
} pd_slice_desc;

/* VQ_STRAIGHT_THROUGH: index[n·P + p] = nearest code of x[n, :, p] in embed [K, D] (a
 * backend-readable copy of the codebook), q = those codes; backward gx += gq (n = numel). */
typedef struct pd_vq_desc {
    int64_t K, D, N, P, n;
    const pd_real *embed;
    const pd_real *x;
    int32_t *index;
    pd_real *q;
    const pd_real *gq;
    pd_real *gx;
} pd_vq_desc;

/* VQ_COMMITMENT (host-side): y = β·Σ(x − q)² / denom (in double); backward gx += scale·gy·(x − q),
 * scale = (pd_real)(2β / denom). */
typedef struct pd_commitment_desc {
    int64_t n;
    double beta, denom;
    pd_real scale;
    const pd_real *x, *q;
    pd_real *y;
    const pd_real *gy;
    pd_real *gx;
} pd_commitment_desc;

/* GELU, GELU_TANH, SILU, RELU, SIGMOID: y = act(x) per element. */
typedef struct pd_activation_desc {
    pd_act_kind kind;
    int64_t n;
    const pd_real *x;
    pd_real *y;          /* forward writes it; backward reads it */
    const pd_real *gy;   /* backward */
    pd_real *gx;
} pd_activation_desc;

/* SOFTMAX, LOG_SOFTMAX over the last dim of [rows, cols]. */
typedef struct pd_softmax_desc {
    int take_log;
    int64_t rows, cols;
    const pd_real *x;
    pd_real *y;
    const pd_real *gy;
    pd_real *gx;
} pd_softmax_desc;

/* ADD, SUB, MUL with NumPy broadcasting: one layout (pointwise_index.h) for every backend. */
typedef struct pd_binary_desc {
    pd_binary_kind kind;
    pd_broadcast_layout L;   /* output shape, operand strides (0 where broadcast) */
    int same;                /* a, b and y have one shape */
    int64_t a_numel, b_numel;
    const pd_real *a, *b;
    pd_real *y;
    const pd_real *gy;
    pd_real *ga, *gb;
} pd_binary_desc;

/* SCALE, ADD_SCALAR: y = alpha·x + c; backward gx += alpha·gy. RESHAPE's backward too
 * (alpha 1); its forward is a view and computes nothing. */
typedef struct pd_affine_desc {
    int64_t n;
    pd_real alpha, c;
    const pd_real *x;
    pd_real *y;
    const pd_real *gy;
    pd_real *gx;
} pd_affine_desc;

/* MODULATE: y = x·(1 + scale) + shift, x [rows, D], shift/scale [rows / rows_per_cond, D]. */
typedef struct pd_modulate_desc {
    int64_t rows, D, rows_per_cond;
    const pd_real *x, *shift, *scale;
    pd_real *y;
    const pd_real *gy;
    pd_real *gx, *gshift, *gscale;
} pd_modulate_desc;

/* SUM, MEAN over all n elements (y [1]; the CPU sums in double in index order). Backward
 * gx += gy[0]·factor (factor 1/n for the mean). */
typedef struct pd_sum_desc {
    int mean;
    int64_t n;
    pd_real factor;
    const pd_real *x;
    pd_real *y;
    const pd_real *gy;
    pd_real *gx;
} pd_sum_desc;

/* SUM_AXIS, MEAN_AXIS: x [outer, dim, inner] → y [outer, inner], times factor. */
typedef struct pd_sum_axis_desc {
    int64_t outer, dim, inner;
    pd_real factor;
    const pd_real *x;
    pd_real *y;
    const pd_real *gy;
    pd_real *gx;
} pd_sum_axis_desc;

/* MSE (a = prediction, b = target) and KL_NORMAL (a = mu, b = logvar) over rows [rows, D]
 * with an optional row mask, summed (in double on the CPU) and divided by norm (> 0). */
typedef struct pd_row_loss_desc {
    int64_t rows, D;
    const uint8_t *row_valid;   /* [rows] or NULL; device-visible copy */
    double norm;
    pd_real inv_norm;           /* (pd_real)(1 / norm) */
    const pd_real *a, *b;
    pd_real *y;                 /* [1] */
    const pd_real *gy;          /* [1] */
    pd_real *ga, *gb;
} pd_row_loss_desc;

/* CROSS_ENTROPY over logits [rows, C]; lse [rows] is written by forward for the backward. */
typedef struct pd_cross_entropy_desc {
    int64_t rows, C;
    const int32_t *target;      /* [rows]; device-visible copy */
    int ignore_index;
    pd_real *lse;
    double norm;
    pd_real inv_norm;
    const pd_real *x;
    pd_real *y;
    const pd_real *gy;
    pd_real *gx;
} pd_cross_entropy_desc;

/* REPARAMETERIZE: z = mu + exp(logvar/2)·eps over n elements. */
typedef struct pd_reparam_desc {
    int64_t n;
    const pd_real *mu, *logvar, *eps;
    pd_real *z;
    const pd_real *gz;
    pd_real *gmu, *glogvar, *geps;
} pd_reparam_desc;

/* LAYERNORM over the last dim of [rows, D]; weight/bias may be NULL. Forward writes mean/rstd
 * [rows] when they are given (the backward reads them). */
typedef struct pd_layernorm_desc {
    int64_t rows, D;
    double eps;
    const pd_real *x, *weight, *bias;
    pd_real *y, *mean, *rstd;
    const pd_real *gy;
    pd_real *gx, *gweight, *gbias;
} pd_layernorm_desc;

/* UPSAMPLE_BILINEAR: x [planes, H, W] → y [planes, Ho, Wo] (ratios from pd_upsample_ratio). */
typedef struct pd_upsample_desc {
    int64_t planes, H, W, Ho, Wo;
    double ratio_h, ratio_w;
    const pd_real *x;
    pd_real *y;
    const pd_real *gy;
    pd_real *gx;
} pd_upsample_desc;

/* ROPE: y = R·x on the first rope_dim dims of each of the n_heads heads of x [rows, H·head_dim]
 * (the other dims copied); backward gx += Rᵀ·gy. The cos/sin tables [rows, rope_dim/2] are
 * computed on the host in double (the same bits on every backend). */
typedef struct pd_rope_desc {
    int64_t rows, head_dim;
    int n_heads, rope_dim;
    const pd_real *cos_t, *sin_t;
    const pd_real *x;
    pd_real *y;
    const pd_real *gy;
    pd_real *gx;
} pd_rope_desc;

/* ATTENTION, ATTENTION_BIASED: per (batch, head), o = softmax(scale·q·kᵀ + bias) v over the
 * valid keys; q [B, Lq, H·Dh], k/v [B, Lk, H·Dh], bias [B, Lq, Lk, H] or NULL (its gradient is
 * the score gradient itself), key_valid [B, Lk] or NULL (backend-readable copy). Forward writes
 * probs [B, H, Lq, Lk] for the backward. The CPU backward takes its score-gradient rows from
 * host_scratch (the graph's arena, rewound after the call). */
typedef struct pd_attention_desc {
    int64_t B, Lq, Lk, head_dim;
    int n_heads;
    pd_real scale;
    const uint8_t *key_valid;
    struct pd_arena *host_scratch;
    const pd_real *q, *k, *v, *bias;
    pd_real *probs, *o;
    const pd_real *go;
    pd_real *gq, *gk, *gv, *gbias;
} pd_attention_desc;

#ifdef __cplusplus
}
#endif
#endif
