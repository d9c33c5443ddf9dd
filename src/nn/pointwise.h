/* pointwise.h — per-element formulas of the activations (value and derivative), shared by the
 * CPU ops and the CUDA kernels (PD_HOST_DEVICE), so the CPU tests cover the GPU's math too. */
#ifndef PD_NN_POINTWISE_H
#define PD_NN_POINTWISE_H

#include "core/half.h"
#include "nn/real.h"

#define PD_SQRT1_2 0.70710678118654752440
#define PD_SQRT2_PI 0.79788456080286535588   /* sqrt(2 / pi) */
#define PD_INV_SQRT_2PI 0.39894228040143267794

/* Exact GELU (PyTorch nn.GELU() default): x Phi(x). */
static inline PD_HOST_DEVICE pd_real pd_gelu_f(pd_real x) { return (pd_real)0.5 * x * (1 + pd_erf(x * (pd_real)PD_SQRT1_2)); }
static inline PD_HOST_DEVICE pd_real pd_gelu_df(pd_real x)
{
    pd_real cdf = (pd_real)0.5 * (1 + pd_erf(x * (pd_real)PD_SQRT1_2));
    pd_real pdf = (pd_real)PD_INV_SQRT_2PI * pd_exp((pd_real)-0.5 * x * x);
    return cdf + x * pdf;
}

/* tanh GELU: x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
static inline PD_HOST_DEVICE pd_real pd_gelu_tanh_f(pd_real x)
{
    pd_real u = (pd_real)PD_SQRT2_PI * (x + (pd_real)0.044715 * x * x * x);
    return (pd_real)0.5 * x * (1 + pd_tanh(u));
}
static inline PD_HOST_DEVICE pd_real pd_gelu_tanh_df(pd_real x)
{
    pd_real u = (pd_real)PD_SQRT2_PI * (x + (pd_real)0.044715 * x * x * x);
    pd_real t = pd_tanh(u);
    pd_real du = (pd_real)PD_SQRT2_PI * (1 + 3 * (pd_real)0.044715 * x * x);
    return (pd_real)0.5 * (1 + t) + (pd_real)0.5 * x * (1 - t * t) * du;
}

static inline PD_HOST_DEVICE pd_real pd_sigmoid_f(pd_real x) { return 1 / (1 + pd_exp(-x)); }
static inline PD_HOST_DEVICE pd_real pd_silu_f(pd_real x) { return x * pd_sigmoid_f(x); }
static inline PD_HOST_DEVICE pd_real pd_silu_df(pd_real x)
{
    pd_real s = pd_sigmoid_f(x);
    return s * (1 + x * (1 - s));
}

#endif
