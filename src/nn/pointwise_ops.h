/* pointwise_ops.h — per-element formulas of the elementwise, activation, softmax, loss and VAE
 * ops (forward value and gradient), called by the CPU ops and by the CUDA kernels alike
 * (PD_HOST_DEVICE), so every CPU test of those ops also checks the arithmetic the GPU runs. */
#ifndef PD_NN_POINTWISE_OPS_H
#define PD_NN_POINTWISE_OPS_H

#include "nn/pointwise.h"

/* ---- binary elementwise: y = a (+|-|*) b --------------------------------------------------- */
typedef enum pd_binary_kind { PD_BINARY_ADD = 0, PD_BINARY_SUB = 1, PD_BINARY_MUL = 2 } pd_binary_kind;

static inline PD_HOST_DEVICE pd_real pd_binary_value(pd_binary_kind k, pd_real a, pd_real b)
{
    return k == PD_BINARY_ADD ? a + b : k == PD_BINARY_SUB ? a - b : a * b;
}
/* dy/da · gy, given the other operand b. */
static inline PD_HOST_DEVICE pd_real pd_binary_grad_a(pd_binary_kind k, pd_real gy, pd_real b)
{
    return k == PD_BINARY_MUL ? gy * b : gy;
}
/* dy/db · gy, given the other operand a. */
static inline PD_HOST_DEVICE pd_real pd_binary_grad_b(pd_binary_kind k, pd_real gy, pd_real a)
{
    return k == PD_BINARY_ADD ? gy : k == PD_BINARY_SUB ? -gy : gy * a;
}

/* ---- adaLN modulation: y = x (1 + scale) + shift ------------------------------------------ */
static inline PD_HOST_DEVICE pd_real pd_modulate_value(pd_real x, pd_real shift, pd_real scale)
{
    return x * (1 + scale) + shift;
}
static inline PD_HOST_DEVICE pd_real pd_modulate_grad_x(pd_real gy, pd_real scale) { return gy * (1 + scale); }
static inline PD_HOST_DEVICE pd_real pd_modulate_grad_scale(pd_real gy, pd_real x) { return gy * x; }

/* ---- activations ----------------------------------------------------------------------------- */
typedef enum pd_act_kind { PD_ACT_GELU = 0, PD_ACT_GELU_TANH, PD_ACT_SILU, PD_ACT_RELU, PD_ACT_SIGMOID } pd_act_kind;

static inline PD_HOST_DEVICE pd_real pd_act_value(pd_act_kind k, pd_real x)
{
    switch (k) {
    case PD_ACT_GELU: return pd_gelu_f(x);
    case PD_ACT_GELU_TANH: return pd_gelu_tanh_f(x);
    case PD_ACT_SILU: return pd_silu_f(x);
    case PD_ACT_RELU: return x > 0 ? x : 0;
    case PD_ACT_SIGMOID: return pd_sigmoid_f(x);
    }
    return 0;
}

/* Derivative from the input x (and the output y where that is cheaper). */
static inline PD_HOST_DEVICE pd_real pd_act_derivative(pd_act_kind k, pd_real x, pd_real y)
{
    switch (k) {
    case PD_ACT_GELU: return pd_gelu_df(x);
    case PD_ACT_GELU_TANH: return pd_gelu_tanh_df(x);
    case PD_ACT_SILU: return pd_silu_df(x);
    case PD_ACT_RELU: return x > 0 ? 1 : 0;
    case PD_ACT_SIGMOID: return y * (1 - y);
    }
    return 0;
}

/* ---- softmax / log-softmax over a row (the row max, sum and dot come from a reduction) ---- */
/* softmax: y = exp(x − max) · (1/sum);  log-softmax: y = x − (max + log sum). */
static inline PD_HOST_DEVICE pd_real pd_softmax_value(pd_real x, pd_real row_max, pd_real inv_sum)
{
    return pd_exp(x - row_max) * inv_sum;
}
static inline PD_HOST_DEVICE pd_real pd_log_sum_exp(pd_real row_max, pd_real sum) { return row_max + pd_log(sum); }
/* softmax backward: gx = y (gy − Σ y·gy). */
static inline PD_HOST_DEVICE pd_real pd_softmax_grad(pd_real y, pd_real gy, pd_real dot) { return y * (gy - dot); }
/* log-softmax backward: gx = gy − exp(y) Σ gy. */
static inline PD_HOST_DEVICE pd_real pd_log_softmax_grad(pd_real y, pd_real gy, pd_real sum_gy)
{
    return gy - pd_exp(y) * sum_gy;
}

/* ---- losses ------------------------------------------------------------------------------------ */
/* MSE: gradient to the prediction of one element, go2 = 2 · upstream / normaliser. */
static inline PD_HOST_DEVICE pd_real pd_mse_grad(pd_real go2, pd_real pred, pd_real target) { return go2 * (pred - target); }
/* Cross-entropy: d/dx_c of (lse − x_t), times go = upstream / normaliser. */
static inline PD_HOST_DEVICE pd_real pd_cross_entropy_grad(pd_real go, pd_real x, pd_real lse, int is_target)
{
    return go * (pd_exp(x - lse) - (is_target ? 1 : 0));
}
/* KL(N(mu, e^lv) || N(0, 1)) of one element, in double as the CPU sums it. */
static inline PD_HOST_DEVICE double pd_kl_normal_term(double mu, double logvar)
{
    return -0.5 * (1 + logvar - mu * mu - exp(logvar));
}
static inline PD_HOST_DEVICE pd_real pd_kl_grad_mu(pd_real go, pd_real mu) { return go * mu; }
static inline PD_HOST_DEVICE pd_real pd_kl_grad_logvar(pd_real go, pd_real logvar)
{
    return go * (pd_real)0.5 * (pd_exp(logvar) - 1);
}

/* ---- VAE reparameterisation: z = mu + exp(lv/2) eps ----------------------------------------- */
static inline PD_HOST_DEVICE pd_real pd_reparam_sd(pd_real logvar) { return pd_exp((pd_real)0.5 * logvar); }
static inline PD_HOST_DEVICE pd_real pd_reparam_value(pd_real mu, pd_real logvar, pd_real eps)
{
    return mu + pd_reparam_sd(logvar) * eps;
}
static inline PD_HOST_DEVICE pd_real pd_reparam_grad_logvar(pd_real gz, pd_real eps, pd_real sd)
{
    return gz * eps * sd * (pd_real)0.5;
}

#endif
