/* upsample_bilinear.c — bilinear resampling (align_corners=False) forward and backward; see
 * upsample_kernels.h. Index/weight tables are computed once per call, then each plane is a
 * short gather (forward) or scatter-add (backward). */
#include "nn/upsample_kernels.h"

#include <stdlib.h>

#include "nn/pointwise_index.h"

double pd_upsample_ratio(int64_t in, int64_t out, double scale_factor)
{
    return scale_factor > 0 ? 1.0 / scale_factor : (double)in / (double)out;
}

/* The per-output tap formula is pd_bilinear_tap_at (pointwise_index.h, shared with CUDA). */
typedef pd_bilinear_tap axis_taps;

static void compute_taps(int64_t in, int64_t out, double ratio, axis_taps *t)
{
    for (int64_t o = 0; o < out; o++) t[o] = pd_bilinear_tap_at(in, o, ratio);
}

pd_status pd_upsample_bilinear_forward(const pd_real *x, int64_t planes, int64_t H, int64_t W, int64_t Ho, int64_t Wo,
                                  double ratio_h, double ratio_w, pd_real *y)
{
    axis_taps *th = pd_malloc((size_t)(Ho + Wo) * sizeof *th), *tw = th + Ho;
    if (!th) return PD_ERR_NOMEM;
    compute_taps(H, Ho, ratio_h, th);
    compute_taps(W, Wo, ratio_w, tw);
#pragma omp parallel for schedule(static) if (planes * Ho * Wo > 65536)
    for (int64_t p = 0; p < planes; p++) {
        const pd_real *xp = x + p * H * W;
        pd_real *yp = y + p * Ho * Wo;
        for (int64_t oh = 0; oh < Ho; oh++) {
            const pd_real *r0 = xp + th[oh].i0 * W, *r1 = xp + th[oh].i1 * W;
            const pd_real h0 = th[oh].w0, h1 = th[oh].w1;
            for (int64_t ow = 0; ow < Wo; ow++) {
                const axis_taps t = tw[ow];
                yp[oh * Wo + ow] = h0 * (t.w0 * r0[t.i0] + t.w1 * r0[t.i1]) + h1 * (t.w0 * r1[t.i0] + t.w1 * r1[t.i1]);
            }
        }
    }
    free(th);
    return PD_OK;
}

pd_status pd_upsample_bilinear_backward(const pd_real *dy, int64_t planes, int64_t H, int64_t W, int64_t Ho, int64_t Wo,
                                   double ratio_h, double ratio_w, pd_real *dx)
{
    axis_taps *th = pd_malloc((size_t)(Ho + Wo) * sizeof *th), *tw = th + Ho;
    if (!th) return PD_ERR_NOMEM;
    compute_taps(H, Ho, ratio_h, th);
    compute_taps(W, Wo, ratio_w, tw);
#pragma omp parallel for schedule(static) if (planes * Ho * Wo > 65536)
    for (int64_t p = 0; p < planes; p++) {
        const pd_real *dyp = dy + p * Ho * Wo;
        pd_real *dxp = dx + p * H * W;
        for (int64_t oh = 0; oh < Ho; oh++) {
            pd_real *r0 = dxp + th[oh].i0 * W, *r1 = dxp + th[oh].i1 * W;
            const pd_real h0 = th[oh].w0, h1 = th[oh].w1;
            for (int64_t ow = 0; ow < Wo; ow++) {
                const axis_taps t = tw[ow];
                const pd_real g = dyp[oh * Wo + ow];
                r0[t.i0] += h0 * t.w0 * g;
                r0[t.i1] += h0 * t.w1 * g;
                r1[t.i0] += h1 * t.w0 * g;
                r1[t.i1] += h1 * t.w1 * g;
            }
        }
    }
    free(th);
    return PD_OK;
}
