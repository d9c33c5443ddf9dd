/* pointwise_optim.h — the per-element AdamW update (torch.optim.AdamW's single-tensor path,
 * operation by operation) and the scalars it needs, shared by the CPU optimizer and the CUDA
 * kernel (PD_HOST_DEVICE), which also writes the bf16 copy of each fp32 master weight. */
#ifndef PD_NN_POINTWISE_OPTIM_H
#define PD_NN_POINTWISE_OPTIM_H

#include <stdint.h>

#include "nn/real.h"

/* The per-step constants of one AdamW update, computed once on the host. */
typedef struct pd_adamw_scalars {
    pd_real step_size;   /* lr / (1 − β1^t) */
    pd_real bc2_sqrt;    /* √(1 − β2^t) */
    pd_real b1, b2, omb1, omb2, eps;
    pd_real grad_scale;  /* clipping factor (1: none) */
    pd_real decay;       /* 1 − lr·wd, applied to decayed parameters first */
} pd_adamw_scalars;

/* step is the 1-based step count after incrementing (torch's state['step']). */
static inline pd_adamw_scalars pd_adamw_scalars_at(double beta1, double beta2, double eps, double weight_decay,
                                                   double lr, int64_t step, double grad_scale)
{
    pd_adamw_scalars s;
    double bc1 = 1.0 - pow(beta1, (double)step), bc2 = 1.0 - pow(beta2, (double)step);
    s.step_size = (pd_real)(lr / bc1);
    s.bc2_sqrt = (pd_real)sqrt(bc2);
    s.b1 = (pd_real)beta1;
    s.b2 = (pd_real)beta2;
    s.omb1 = (pd_real)(1.0 - beta1);
    s.omb2 = (pd_real)(1.0 - beta2);
    s.eps = (pd_real)eps;
    s.grad_scale = (pd_real)grad_scale;
    s.decay = (pd_real)(1.0 - lr * weight_decay);
    return s;
}

/* Moments and parameter of one element (decay, when it applies, was done before). */
static inline PD_HOST_DEVICE void pd_adamw_update(const pd_adamw_scalars *s, pd_real *p, pd_real *m, pd_real *v,
                                                  pd_real grad)
{
    pd_real gi = grad * s->grad_scale;
    *m = *m * s->b1 + gi * s->omb1;
    *v = *v * s->b2 + gi * gi * s->omb2;
    pd_real denom = pd_sqrt(*v) / s->bc2_sqrt + s->eps;
    *p -= s->step_size * (*m / denom);
}

/* clip_grad_norm_'s factor from the global norm: min(1, max_norm / (norm + 1e-6)). */
static inline PD_HOST_DEVICE double pd_clip_factor_of(double global_norm, double max_norm)
{
    if (max_norm <= 0) return 1.0;
    double f = max_norm / (global_norm + 1e-6);
    return f < 1.0 ? f : 1.0;
}

#endif
