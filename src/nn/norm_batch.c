/* norm_batch.c — BatchNorm forward (train: batch statistics + running-stat update; eval:
 * running statistics) and backward, over [N, C, S]; see norm_kernels.h. Sums in double. */
#include "nn/norm_kernels.h"

#include <math.h>

#include "nn/pointwise_norm.h"

static void apply_affine(const pd_real *x, int64_t N, int64_t C, int64_t S, const pd_real *gamma,
                         const pd_real *beta, int64_t c, double mu, double r, pd_real *y)
{
    const pd_real scale = pd_norm_scale(r, gamma ? gamma[c] : 1.0);
    const pd_real shift = pd_norm_shift(mu, r, gamma ? gamma[c] : 1.0, beta ? beta[c] : 0.0);
    for (int64_t n = 0; n < N; n++) {
        const pd_real *xc = x + (n * C + c) * S;
        pd_real *yc = y + (n * C + c) * S;
        for (int64_t s = 0; s < S; s++) yc[s] = xc[s] * scale + shift;
    }
}

pd_status pd_batchnorm_forward_train(const pd_real *x, int64_t N, int64_t C, int64_t S, const pd_real *gamma,
                                     const pd_real *beta, double eps, double momentum, pd_real *running_mean,
                                     pd_real *running_var, pd_real *y, pd_real *mean, pd_real *rstd)
{
    const int64_t m = N * S;
    if (m < 2)
        return pd_fail(PD_ERR_USAGE,
                       "batchnorm (training): %lld value(s) per channel; batch statistics need at least 2 "
                       "(use a larger batch or eval mode)", (long long)m);
#pragma omp parallel for schedule(static) if (N * C * S > 65536)
    for (int64_t c = 0; c < C; c++) {
        double sum = 0;
        for (int64_t n = 0; n < N; n++) {
            const pd_real *xc = x + (n * C + c) * S;
            for (int64_t s = 0; s < S; s++) sum += xc[s];
        }
        const double mu = sum / (double)m;
        double ss = 0;
        for (int64_t n = 0; n < N; n++) {
            const pd_real *xc = x + (n * C + c) * S;
            for (int64_t s = 0; s < S; s++) ss += (xc[s] - mu) * (xc[s] - mu);
        }
        const double var = ss / (double)m, r = pd_norm_rstd(var, eps);
        mean[c] = (pd_real)mu;
        rstd[c] = (pd_real)r;
        if (running_mean) running_mean[c] = pd_batchnorm_running_mean(running_mean[c], momentum, mu);
        if (running_var)
            running_var[c] = pd_batchnorm_running_var(running_var[c], momentum, var, m);
        apply_affine(x, N, C, S, gamma, beta, c, mu, r, y);
    }
    return PD_OK;
}

void pd_batchnorm_forward_eval(const pd_real *x, int64_t N, int64_t C, int64_t S, const pd_real *gamma,
                               const pd_real *beta, double eps, const pd_real *running_mean,
                               const pd_real *running_var, pd_real *y, pd_real *mean, pd_real *rstd)
{
    for (int64_t c = 0; c < C; c++) {
        const double mu = running_mean[c], r = pd_norm_rstd((double)running_var[c], eps);
        if (mean) mean[c] = (pd_real)mu;
        if (rstd) rstd[c] = (pd_real)r;
        apply_affine(x, N, C, S, gamma, beta, c, mu, r, y);
    }
}

void pd_batchnorm_backward(const pd_real *x, const pd_real *dy, int64_t N, int64_t C, int64_t S,
                           const pd_real *gamma, const pd_real *mean, const pd_real *rstd, int training,
                           pd_real *dx, pd_real *dgamma, pd_real *dbeta)
{
    const int64_t m = N * S;
#pragma omp parallel for schedule(static) if (N * C * S > 65536)
    for (int64_t c = 0; c < C; c++) {
        const double mu = mean[c], r = rstd[c], gm = gamma ? gamma[c] : 1.0;
        double sum_dy = 0, sum_dy_xh = 0;
        for (int64_t n = 0; n < N; n++) {
            const pd_real *xc = x + (n * C + c) * S, *dyc = dy + (n * C + c) * S;
            for (int64_t s = 0; s < S; s++) {
                sum_dy += dyc[s];
                sum_dy_xh += dyc[s] * (xc[s] - mu) * r;
            }
        }
        if (dgamma) dgamma[c] += (pd_real)sum_dy_xh;
        if (dbeta) dbeta[c] += (pd_real)sum_dy;
        if (!dx) continue;
        const double mean_g = gm * sum_dy / (double)m, mean_gx = gm * sum_dy_xh / (double)m;
        for (int64_t n = 0; n < N; n++) {
            const pd_real *xc = x + (n * C + c) * S, *dyc = dy + (n * C + c) * S;
            pd_real *dxc = dx + (n * C + c) * S;
            if (training) {
                for (int64_t s = 0; s < S; s++)
                    dxc[s] += pd_norm_grad_x(r, dyc[s], gm, mean_g, xc[s], mu, mean_gx);
            } else {
                for (int64_t s = 0; s < S; s++) dxc[s] += pd_norm_grad_x_const(r, dyc[s], gm);
            }
        }
    }
}
