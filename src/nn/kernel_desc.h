/* kernel_desc.h — the descriptors the backends' kernels take (backend.h): one struct per op
 * family, naming the buffers and sizes of one forward or backward call, so a kernel has one
 * argument instead of ten to eighteen. Pointers are the tensors' data/grad (device memory on a
 * device graph); backward ADDS into the gradient pointers, which are NULL when not wanted. The
 * op enum (op.h) says which struct an op takes (comment at each struct). C and C++ (nvcc). */
#ifndef PD_NN_KERNEL_DESC_H
#define PD_NN_KERNEL_DESC_H

#include <stdint.h>

#include "nn/pointwise_index.h"
#include "nn/pointwise_ops.h"
#include "nn/real.h"

#ifdef __cplusplus
extern "C" {
#endif

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

/* SCALE, ADD_SCALAR: y = alpha·x + c; backward gx += alpha·gy (also reshape's backward). */
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

#ifdef __cplusplus
}
#endif
#endif
