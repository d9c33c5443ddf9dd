/* pointwise_norm.h — per-element formulas of LayerNorm, GroupNorm and BatchNorm (normalise,
 * affine, input gradient, running statistics), shared by the CPU kernels and the CUDA kernels
 * (PD_HOST_DEVICE); only the row/group/channel reductions differ between the two. */
#ifndef PD_NN_POINTWISE_NORM_H
#define PD_NN_POINTWISE_NORM_H

#include <stdint.h>

#include "nn/real.h"

/* ---- LayerNorm (pd_real statistics, as ops_layernorm.c computes them) ---------------------- */
static inline PD_HOST_DEVICE pd_real pd_layernorm_rstd(pd_real var, pd_real eps) { return 1 / pd_sqrt(var + eps); }
/* ((x − μ)·rstd)·w + b, with the affine parts optional. */
static inline PD_HOST_DEVICE pd_real pd_layernorm_value(pd_real x, pd_real mu, pd_real rs, int has_w, pd_real w,
                                                        int has_b, pd_real b)
{
    pd_real v = (x - mu) * rs;
    if (has_w) v *= w;
    if (has_b) v += b;
    return v;
}
/* d = gy·w (w = 1 without affine weight); sum_d and sum_dx are the row MEANS of d and d·x̂. */
static inline PD_HOST_DEVICE pd_real pd_layernorm_grad_x(pd_real rs, pd_real d, pd_real mean_d, pd_real xh,
                                                         pd_real mean_dx)
{
    return rs * (d - mean_d - xh * mean_dx);
}
/* One row's contribution to dw: gy·(x − μ)·rstd. */
static inline PD_HOST_DEVICE pd_real pd_layernorm_grad_w_term(pd_real gy, pd_real x, pd_real mu, pd_real rs)
{
    return gy * (x - mu) * rs;
}

/* ---- GroupNorm / BatchNorm (double statistics, as norm_group.c / norm_batch.c) ------------- */
static inline PD_HOST_DEVICE double pd_norm_rstd(double var, double eps) { return 1.0 / sqrt(var + eps); }
/* y = x·scale + shift with scale = rstd·γ, shift = β − μ·rstd·γ (γ = 1, β = 0 without affine). */
static inline PD_HOST_DEVICE pd_real pd_norm_scale(double rs, double gamma) { return (pd_real)(rs * gamma); }
static inline PD_HOST_DEVICE pd_real pd_norm_shift(double mu, double rs, double gamma, double beta)
{
    return (pd_real)(beta - mu * rs * gamma);
}
/* Training-mode input gradient: rstd·(dy·γ − mean(ĝ) − x̂·mean(ĝ·x̂)), x̂ = (x − μ)·rstd. */
static inline PD_HOST_DEVICE pd_real pd_norm_grad_x(double rs, double dy, double gamma, double mean_g, double x,
                                                    double mu, double mean_gx)
{
    return (pd_real)(rs * (dy * gamma - mean_g - (x - mu) * rs * mean_gx));
}
/* Eval-mode BatchNorm input gradient (statistics are constants). */
static inline PD_HOST_DEVICE pd_real pd_norm_grad_x_const(double rs, double dy, double gamma)
{
    return (pd_real)(dy * gamma * rs);
}
/* BatchNorm running estimates: r ← (1 − momentum)·r + momentum·stat, variance unbiased over m. */
static inline PD_HOST_DEVICE pd_real pd_batchnorm_running_mean(pd_real old, double momentum, double mu)
{
    return (pd_real)((1.0 - momentum) * old + momentum * mu);
}
static inline PD_HOST_DEVICE pd_real pd_batchnorm_running_var(pd_real old, double momentum, double var, int64_t m)
{
    return (pd_real)((1.0 - momentum) * old + momentum * var * (double)m / (double)(m - 1));
}

#endif
