/* upsample_kernels.h — raw CPU kernels of bilinear resampling of [N·C, H, W] planes with
 * align_corners=False, index arithmetic exactly as PyTorch's upsample_bilinear2d. The tape op
 * is upsample.h. */
#ifndef PD_NN_UPSAMPLE_KERNELS_H
#define PD_NN_UPSAMPLE_KERNELS_H

#include <stdint.h>

#include "core/error.h"
#include "nn/real.h"

/* Source-per-destination ratio of one dim as PyTorch computes it: 1/scale_factor when a scale
 * factor was given (F.interpolate(scale_factor=s)), else in/out (F.interpolate(size=...)). */
double pd_upsample_ratio(int64_t in, int64_t out, double scale_factor);

/* For each output index o along a dim of `in` cells with ratio `ratio`:
 *   src = max(0, ratio·(o + 0.5) − 0.5)   (computed in pd_real, as PyTorch computes in float)
 *   i0 = ⌊src⌋, i1 = i0 + (i0 < in − 1),  w1 = src − i0, w0 = 1 − w1.
 * y[o_h, o_w] = w0h·(w0w·x[i0h,i0w] + w1w·x[i0h,i1w]) + w1h·(w0w·x[i1h,i0w] + w1w·x[i1h,i1w]). */
pd_status pd_upsample_bilinear_forward(const pd_real *x, int64_t planes, int64_t H, int64_t W, int64_t Ho, int64_t Wo,
                                  double ratio_h, double ratio_w, pd_real *y);
/* The adjoint: dx (+)= each dy cell spread over its four sources with the same weights. */
pd_status pd_upsample_bilinear_backward(const pd_real *dy, int64_t planes, int64_t H, int64_t W, int64_t Ho, int64_t Wo,
                                   double ratio_h, double ratio_w, pd_real *dx);

#endif
