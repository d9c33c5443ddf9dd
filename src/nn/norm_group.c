/* norm_group.c — GroupNorm forward and backward (see norm_kernels.h). Statistics and the
 * backward's group means accumulate in double, so f32 results match PyTorch to ~1e-6. */
#include "nn/norm_kernels.h"

#include <math.h>

#include "nn/pointwise_norm.h"

void pd_groupnorm_forward(const pd_real *x, int64_t N, int64_t C, int64_t S, int64_t G, const pd_real *gamma,
                          const pd_real *beta, double eps, pd_real *y, pd_real *mean, pd_real *rstd)
{
    const int64_t cpg = C / G, m = cpg * S;
#pragma omp parallel for schedule(static) if (N * C * S > 65536)
    for (int64_t ng = 0; ng < N * G; ng++) {
        const int64_t n = ng / G, g = ng % G;
        const pd_real *xg = x + (n * C + g * cpg) * S;
        double sum = 0;
        for (int64_t i = 0; i < m; i++) sum += xg[i];
        const double mu = sum / (double)m;
        double ss = 0;
        for (int64_t i = 0; i < m; i++) ss += (xg[i] - mu) * (xg[i] - mu);
        const double r = pd_norm_rstd(ss / (double)m, eps);
        mean[ng] = (pd_real)mu;
        rstd[ng] = (pd_real)r;
        pd_real *yg = y + (n * C + g * cpg) * S;
        for (int64_t cc = 0; cc < cpg; cc++) {
            const int64_t c = g * cpg + cc;
            const pd_real scale = pd_norm_scale(r, gamma ? gamma[c] : 1.0);
            const pd_real shift = pd_norm_shift(mu, r, gamma ? gamma[c] : 1.0, beta ? beta[c] : 0.0);
            const pd_real *xc = xg + cc * S;
            pd_real *yc = yg + cc * S;
            for (int64_t s = 0; s < S; s++) yc[s] = xc[s] * scale + shift;
        }
    }
}

void pd_groupnorm_backward(const pd_real *x, const pd_real *dy, int64_t N, int64_t C, int64_t S, int64_t G,
                           const pd_real *gamma, const pd_real *mean, const pd_real *rstd, pd_real *dx,
                           pd_real *dgamma, pd_real *dbeta)
{
    const int64_t cpg = C / G, m = cpg * S;
    if (dgamma || dbeta) {
        for (int64_t c = 0; c < C; c++) {
            double sg = 0, sb = 0;
            const int64_t g = c / cpg;
            for (int64_t n = 0; n < N; n++) {
                const pd_real *xc = x + (n * C + c) * S, *dyc = dy + (n * C + c) * S;
                const double mu = mean[n * G + g], r = rstd[n * G + g];
                for (int64_t s = 0; s < S; s++) {
                    sg += dyc[s] * (xc[s] - mu) * r;
                    sb += dyc[s];
                }
            }
            if (dgamma) dgamma[c] += (pd_real)sg;
            if (dbeta) dbeta[c] += (pd_real)sb;
        }
    }
    if (!dx) return;
#pragma omp parallel for schedule(static) if (N * C * S > 65536)
    for (int64_t ng = 0; ng < N * G; ng++) {
        const int64_t n = ng / G, g = ng % G;
        const double mu = mean[ng], r = rstd[ng];
        const int64_t base = (n * C + g * cpg) * S;
        double sum_g = 0, sum_gx = 0;
        for (int64_t cc = 0; cc < cpg; cc++) {
            const double gm = gamma ? gamma[g * cpg + cc] : 1.0;
            for (int64_t s = 0; s < S; s++) {
                const int64_t i = base + cc * S + s;
                const double gh = dy[i] * gm;
                sum_g += gh;
                sum_gx += gh * (x[i] - mu) * r;
            }
        }
        const double mean_g = sum_g / (double)m, mean_gx = sum_gx / (double)m;
        for (int64_t cc = 0; cc < cpg; cc++) {
            const double gm = gamma ? gamma[g * cpg + cc] : 1.0;
            for (int64_t s = 0; s < S; s++) {
                const int64_t i = base + cc * S + s;
                dx[i] += pd_norm_grad_x(r, dy[i], gm, mean_g, x[i], mu, mean_gx);
            }
        }
    }
}
