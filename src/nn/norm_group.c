/* norm_group.c — GroupNorm forward and backward (see norm_kernels.h). Statistics and the
 * backward's group sums accumulate in double, so f32 results match PyTorch to ~1e-6. The sums
 * run in 8 independent lanes (fixed order: deterministic, and vectorisable, which one serial
 * double accumulator is not), and the backward reads x and dy once for the per-channel sums
 * that serve both dγ/dβ and the input gradient's group means, then once more to write dx. */
#include "nn/norm_kernels.h"

#include <math.h>
#include <stdlib.h>

#include "nn/pointwise_norm.h"
#include "nn/pointwise_simd.h"

#define LANES 8

/* Σ x[i] and Σ (x[i] − mu)² over n values, in LANES double lanes. */
static inline double lane_sum(const pd_real *x, int64_t n)
{
    double acc[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
#pragma omp simd
        for (int j = 0; j < LANES; j++) acc[j] += x[i + j];
    for (int j = 0; i < n; i++, j++) acc[j] += x[i];
    double s = 0;
    for (int j = 0; j < LANES; j++) s += acc[j];
    return s;
}

static inline double lane_sum_sq_dev(const pd_real *x, int64_t n, double mu)
{
    double acc[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
#pragma omp simd
        for (int j = 0; j < LANES; j++) acc[j] += (x[i + j] - mu) * (x[i + j] - mu);
    for (int j = 0; i < n; i++, j++) acc[j] += (x[i] - mu) * (x[i] - mu);
    double s = 0;
    for (int j = 0; j < LANES; j++) s += acc[j];
    return s;
}

/* *a = Σ dy[i], *b = Σ dy[i]·(x[i] − mu). */
static inline void lane_sums_dy(const pd_real *dy, const pd_real *x, int64_t n, double mu, double *a, double *b)
{
    double sa[LANES] = {0}, sb[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
#pragma omp simd
        for (int j = 0; j < LANES; j++) {
            sa[j] += dy[i + j];
            sb[j] += dy[i + j] * (x[i + j] - mu);
        }
    for (int j = 0; i < n; i++, j++) {
        sa[j] += dy[i];
        sb[j] += dy[i] * (x[i] - mu);
    }
    double ta = 0, tb = 0;
    for (int j = 0; j < LANES; j++) ta += sa[j], tb += sb[j];
    *a = ta;
    *b = tb;
}

PD_CLONES void pd_groupnorm_forward(const pd_real *x, int64_t N, int64_t C, int64_t S, int64_t G,
                                    const pd_real *gamma, const pd_real *beta, double eps, pd_real *y, pd_real *mean,
                                    pd_real *rstd)
{
    const int64_t cpg = C / G, m = cpg * S;
#pragma omp parallel for schedule(static) if (N * C * S > 65536)
    for (int64_t ng = 0; ng < N * G; ng++) {
        const int64_t n = ng / G, g = ng % G;
        const pd_real *xg = x + (n * C + g * cpg) * S;
        const double mu = lane_sum(xg, m) / (double)m;
        const double r = pd_norm_rstd(lane_sum_sq_dev(xg, m, mu) / (double)m, eps);
        mean[ng] = (pd_real)mu;
        rstd[ng] = (pd_real)r;
        pd_real *yg = y + (n * C + g * cpg) * S;
        for (int64_t cc = 0; cc < cpg; cc++) {
            const int64_t c = g * cpg + cc;
            const pd_real scale = pd_norm_scale(r, gamma ? gamma[c] : 1.0);
            const pd_real shift = pd_norm_shift(mu, r, gamma ? gamma[c] : 1.0, beta ? beta[c] : 0.0);
            const pd_real *xc = xg + cc * S;
            pd_real *yc = yg + cc * S;
#pragma omp simd
            for (int64_t s = 0; s < S; s++) yc[s] = xc[s] * scale + shift;
        }
    }
}

PD_CLONES void pd_groupnorm_backward(const pd_real *x, const pd_real *dy, int64_t N, int64_t C, int64_t S,
                                     int64_t G, const pd_real *gamma, const pd_real *mean, const pd_real *rstd,
                                     pd_real *dx, pd_real *dgamma, pd_real *dbeta)
{
    const int64_t cpg = C / G, m = cpg * S;
    /* per (n, c): A = Σ dy, B = Σ dy·x̂, summed over n for dβ, dγ after the parallel loop (in n
     * order, whatever the thread count). Without memory for them dγ/dβ take a serial pass. */
    double *A = (dgamma || dbeta) ? malloc(sizeof(double) * 2 * (size_t)(N * C)) : NULL, *B = A ? A + N * C : NULL;
#pragma omp parallel for schedule(static) if (N * C * S > 65536)
    for (int64_t ng = 0; ng < N * G; ng++) {
        const int64_t n = ng / G, g = ng % G;
        const double mu = mean[ng], r = rstd[ng];
        const int64_t base = (n * C + g * cpg) * S;
        double sum_g = 0, sum_gx = 0;
        for (int64_t cc = 0; cc < cpg; cc++) {
            const int64_t c = g * cpg + cc;
            double a, b;
            lane_sums_dy(dy + base + cc * S, x + base + cc * S, S, mu, &a, &b);
            if (A) {
                A[n * C + c] = a;
                B[n * C + c] = b * r;
            }
            const double gm = gamma ? gamma[c] : 1.0;
            sum_g += gm * a;
            sum_gx += gm * b * r;
        }
        if (!dx) continue;
        const double mean_g = sum_g / (double)m, mean_gx = sum_gx / (double)m;
        for (int64_t cc = 0; cc < cpg; cc++) {
            const double gm = gamma ? gamma[g * cpg + cc] : 1.0;
            const pd_real *xc = x + base + cc * S, *dyc = dy + base + cc * S;
            pd_real *dxc = dx + base + cc * S;
#pragma omp simd
            for (int64_t s = 0; s < S; s++) dxc[s] += pd_norm_grad_x(r, dyc[s], gm, mean_g, xc[s], mu, mean_gx);
        }
    }
    if (!(dgamma || dbeta)) return;
    for (int64_t c = 0; c < C; c++) {
        double sg = 0, sb = 0;
        for (int64_t n = 0; n < N; n++) {
            if (A) {
                sg += B[n * C + c], sb += A[n * C + c];
            } else {
                double a, b;
                lane_sums_dy(dy + (n * C + c) * S, x + (n * C + c) * S, S, mean[n * G + c / cpg], &a, &b);
                sg += b * rstd[n * G + c / cpg], sb += a;
            }
        }
        if (dgamma) dgamma[c] += (pd_real)sg;
        if (dbeta) dbeta[c] += (pd_real)sb;
    }
    free(A);
}
