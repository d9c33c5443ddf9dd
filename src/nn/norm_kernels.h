/* norm_kernels.h — raw CPU kernels of GroupNorm and BatchNorm over channels-first tensors
 * [N, C, S] (S = product of the spatial dims), formulas exactly as PyTorch (biased variance
 * in the normalisation, unbiased in BatchNorm's running estimate). The tape ops are norm.h. */
#ifndef PD_NN_NORM_KERNELS_H
#define PD_NN_NORM_KERNELS_H

#include <stdint.h>

#include "core/error.h"
#include "nn/real.h"

/* GroupNorm: C channels in G groups of C/G; per (n, g): μ, σ² over (C/G)·S values,
 *   y = (x − μ) · rstd · γ[c] + β[c],  rstd = 1/√(σ² + eps).
 * gamma/beta may be NULL (affine=False). mean/rstd [N·G] are written for the backward. */
void pd_groupnorm_forward(const pd_real *x, int64_t N, int64_t C, int64_t S, int64_t G, const pd_real *gamma,
                          const pd_real *beta, double eps, pd_real *y, pd_real *mean, pd_real *rstd);
/* Gradients ADDED to dx, dgamma, dbeta (each may be NULL):
 *   x̂ = (x − μ)·rstd, ĝ = dy·γ, dx = rstd·(ĝ − mean_group(ĝ) − x̂·mean_group(ĝ·x̂)),
 *   dγ[c] = Σ dy·x̂, dβ[c] = Σ dy. */
void pd_groupnorm_backward(const pd_real *x, const pd_real *dy, int64_t N, int64_t C, int64_t S, int64_t G,
                           const pd_real *gamma, const pd_real *mean, const pd_real *rstd, pd_real *dx,
                           pd_real *dgamma, pd_real *dbeta);

/* BatchNorm, training mode: per channel μ, σ² (biased) over N·S values; y as above; mean/rstd
 * [C] written for the backward. When running_mean/running_var are given they are updated as
 * PyTorch does: r ← (1 − momentum)·r + momentum·stat, with the UNBIASED variance
 * σ²·m/(m − 1), m = N·S. Fails when m < 2 (PyTorch: "Expected more than 1 value per channel"). */
pd_status pd_batchnorm_forward_train(const pd_real *x, int64_t N, int64_t C, int64_t S, const pd_real *gamma,
                                     const pd_real *beta, double eps, double momentum, pd_real *running_mean,
                                     pd_real *running_var, pd_real *y, pd_real *mean, pd_real *rstd);
/* Evaluation mode: y = (x − running_mean)·rstd·γ + β with rstd = 1/√(running_var + eps).
 * mean/rstd [C] (may be NULL) receive the statistics used, for the backward. */
void pd_batchnorm_forward_eval(const pd_real *x, int64_t N, int64_t C, int64_t S, const pd_real *gamma,
                               const pd_real *beta, double eps, const pd_real *running_mean,
                               const pd_real *running_var, pd_real *y, pd_real *mean, pd_real *rstd);
/* Gradients ADDED to dx, dgamma, dbeta (each may be NULL). training = 1: the statistics are
 * functions of x (same formula as GroupNorm with the group = one channel over the batch);
 * training = 0: they are constants, dx = dy·γ·rstd. */
void pd_batchnorm_backward(const pd_real *x, const pd_real *dy, int64_t N, int64_t C, int64_t S,
                           const pd_real *gamma, const pd_real *mean, const pd_real *rstd, int training,
                           pd_real *dx, pd_real *dgamma, pd_real *dbeta);

#endif
