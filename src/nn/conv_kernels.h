/* conv_kernels.h — raw CPU kernels of the convolutions the models use: k=2 conv (stride 1
 * 'same' or stride 2), k=2 s=2 transposed conv and the 1×1 conv, 2-D and 3-D, channels-first
 * like PyTorch. Pure functions over pd_real arrays with explicit shapes; the tape ops
 * (conv.h) call them. Every one is im2col + GEMM (pd_gemm → OpenBLAS). */
#ifndef PD_NN_CONV_KERNELS_H
#define PD_NN_CONV_KERNELS_H

#include <stdint.h>

#include "core/error.h"
#include "nn/conv_patch.h"
#include "nn/real.h"

/* One convolution: input [N, Cin, (D,) H, W] → output [N, Cout, (D',) H', W'].
 * Weight layout as PyTorch: conv [Cout, Cin, (kd,) kh, kw]; transposed conv
 * [Cin, Cout, (kd,) kh, kw]; the 1×1 conv's [Cout, Cin(, 1, 1)] is the conv layout with K = 1.
 * `patch` describes the im2col of the conv's input, or, for the transposed conv, of its output
 * (whose adjoint GEMM is the conv's). */
typedef struct pd_conv_shape {
    int spatial_dims;            /* 2 or 3 */
    int transposed;              /* 1 for ConvTranspose */
    int64_t batch, in_channels, out_channels;
    int64_t in_size[3], out_size[3]; /* D, H, W; D = 1 in 2-D */
    pd_patch_layout patch;
} pd_conv_shape;

/* Conv k=2: stride 1 → 'same' (output = input, pad 0 before / 1 after, PyTorch's
 * padding='same'); stride 2 → no padding, output = ⌊input/2⌋. `size` has spatial_dims entries. */
pd_status pd_conv_shape_k2(pd_conv_shape *s, int spatial_dims, int64_t batch, int64_t in_channels,
                           int64_t out_channels, const int64_t *size, int stride);
/* ConvTranspose k=2 s=2 (no padding): output = 2·input. */
pd_status pd_conv_transpose_shape_k2(pd_conv_shape *s, int spatial_dims, int64_t batch, int64_t in_channels,
                                     int64_t out_channels, const int64_t *size);
/* 1×1 conv over `spatial_dims` dims (a per-position linear). */
pd_status pd_conv_shape_pointwise(pd_conv_shape *s, int spatial_dims, int64_t batch, int64_t in_channels,
                                  int64_t out_channels, const int64_t *size);

int64_t pd_conv_kernel_cells(const pd_conv_shape *s);  /* K: 8 (3-D k=2), 4 (2-D k=2), 1 (1×1) */
int64_t pd_conv_weight_numel(const pd_conv_shape *s);
int64_t pd_conv_in_numel(const pd_conv_shape *s);
int64_t pd_conv_out_numel(const pd_conv_shape *s);
/* Samples the kernels put into one GEMM (column count = samples × output positions). */
int64_t pd_conv_chunk_samples(const pd_conv_shape *s);
/* Scratch floats the kernels need; pass at least this many, or NULL to let them allocate. */
int64_t pd_conv_work_numel(const pd_conv_shape *s);

/* y = conv(x, w) + bias (bias may be NULL). y is overwritten. */
pd_status pd_conv_forward(const pd_conv_shape *s, const pd_real *x, const pd_real *w, const pd_real *bias,
                          pd_real *y, pd_real *work);
/* Gradients, ADDED to dx, dw, dbias; any of them may be NULL when not wanted. */
pd_status pd_conv_backward(const pd_conv_shape *s, const pd_real *x, const pd_real *w, const pd_real *dy,
                           pd_real *dx, pd_real *dw, pd_real *dbias, pd_real *work);

/* The same pair for transposed shapes (pd_conv_transpose_shape_k2). */
pd_status pd_conv_transpose_forward(const pd_conv_shape *s, const pd_real *x, const pd_real *w,
                                    const pd_real *bias, pd_real *y, pd_real *work);
pd_status pd_conv_transpose_backward(const pd_conv_shape *s, const pd_real *x, const pd_real *w,
                                     const pd_real *dy, pd_real *dx, pd_real *dw, pd_real *dbias, pd_real *work);

/* dbias[c] += Σ_{n,p} dy[n, c, p] (double accumulation). Shared with the norms' beta grads. */
void pd_channel_sum_add(const pd_real *dy, int64_t batch, int64_t channels, int64_t positions, pd_real *dbias);
/* out[c, p] = bias[c] (0 without bias) for a GEMM that then accumulates onto it (beta = 1). */
void pd_fill_channel_rows(pd_real *out, const pd_real *bias, int64_t channels, int64_t cols);

#endif
