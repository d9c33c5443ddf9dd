/* ops_norm.cu — GroupNorm and BatchNorm over channels-first [N, C, S]: one block per group
 * (or channel) reduces its statistics in double with a fixed tree, then applies the shared
 * per-element formulas of src/nn/pointwise_norm.h; γ/β gradients are one thread per channel
 * summing in the CPU's order. No atomics. */
#include "kernel_common.cuh"

#include "nn/pointwise_norm.h"

namespace {

using pdk::global_index;
using pdk::global_stride;

/* Element i of a group of cpg channels × S positions starting at channel c0 of sample n. */
__device__ inline int64_t group_offset(int64_t n, int64_t C, int64_t S, int64_t c0, int64_t i)
{
    return (n * C + c0) * S + i;
}

__global__ void groupnorm_forward_kernel(const float *x, const float *gamma, const float *beta, float *y, float *mean,
                                         float *rstd, int64_t C, int64_t S, int64_t G, double eps)
{
    __shared__ double shared[pdk::kThreads / 32];
    const int64_t ng = blockIdx.x, n = ng / G, g = ng % G, cpg = C / G, m = cpg * S, c0 = g * cpg;
    double sum = 0;
    for (int64_t i = threadIdx.x; i < m; i += blockDim.x) sum += x[group_offset(n, C, S, c0, i)];
    const double mu = pdk::block_sum_d(sum, shared) / (double)m;
    double ss = 0;
    for (int64_t i = threadIdx.x; i < m; i += blockDim.x) {
        const double d = x[group_offset(n, C, S, c0, i)] - mu;
        ss += d * d;
    }
    const double r = pd_norm_rstd(pdk::block_sum_d(ss, shared) / (double)m, eps);
    if (threadIdx.x == 0) {
        mean[ng] = (float)mu;
        rstd[ng] = (float)r;
    }
    for (int64_t i = threadIdx.x; i < m; i += blockDim.x) {
        const int64_t c = c0 + i / S, off = group_offset(n, C, S, c0, i);
        const double gm = gamma ? gamma[c] : 1.0, bt = beta ? beta[c] : 0.0;
        y[off] = x[off] * pd_norm_scale(r, gm) + pd_norm_shift(mu, r, gm, bt);
    }
}

__global__ void groupnorm_grad_x_kernel(const float *x, const float *gamma, const float *mean, const float *rstd,
                                        const float *gy, float *gx, int64_t C, int64_t S, int64_t G)
{
    __shared__ double shared[pdk::kThreads / 32];
    const int64_t ng = blockIdx.x, n = ng / G, g = ng % G, cpg = C / G, m = cpg * S, c0 = g * cpg;
    const double mu = mean[ng], r = rstd[ng];
    double sum_g = 0, sum_gx = 0;
    for (int64_t i = threadIdx.x; i < m; i += blockDim.x) {
        const int64_t off = group_offset(n, C, S, c0, i);
        const double gh = gy[off] * (gamma ? (double)gamma[c0 + i / S] : 1.0);
        sum_g += gh;
        sum_gx += gh * (x[off] - mu) * r;
    }
    const double mean_g = pdk::block_sum_d(sum_g, shared) / (double)m;
    const double mean_gx = pdk::block_sum_d(sum_gx, shared) / (double)m;
    for (int64_t i = threadIdx.x; i < m; i += blockDim.x) {
        const int64_t off = group_offset(n, C, S, c0, i);
        gx[off] += pd_norm_grad_x(r, gy[off], gamma ? (double)gamma[c0 + i / S] : 1.0, mean_g, x[off], mu, mean_gx);
    }
}

/* dγ[c] += Σ dy·x̂, dβ[c] += Σ dy over (n, s) in order; stats_of(n, c) indexes mean/rstd. */
__global__ void norm_grad_affine_kernel(const float *x, const float *mean, const float *rstd, const float *gy,
                                        float *ggamma, float *gbeta, int64_t N, int64_t C, int64_t S, int64_t G)
{
    for (int64_t c = global_index(); c < C; c += global_stride()) {
        double sg = 0, sb = 0;
        for (int64_t n = 0; n < N; n++) {
            const int64_t st = G > 0 ? n * G + c / (C / G) : c; /* G = 0: BatchNorm, per channel */
            const double mu = mean[st], r = rstd[st];
            const float *xc = x + (n * C + c) * S, *dyc = gy + (n * C + c) * S;
            for (int64_t s = 0; s < S; s++) {
                sg += dyc[s] * (xc[s] - mu) * r;
                sb += dyc[s];
            }
        }
        if (ggamma) ggamma[c] += (float)sg;
        if (gbeta) gbeta[c] += (float)sb;
    }
}

__global__ void batchnorm_train_kernel(const float *x, const float *gamma, const float *beta, float *running_mean,
                                       float *running_var, float *y, float *mean, float *rstd, int64_t N, int64_t C,
                                       int64_t S, double momentum, double eps)
{
    __shared__ double shared[pdk::kThreads / 32];
    const int64_t c = blockIdx.x, m = N * S;
    double sum = 0;
    for (int64_t i = threadIdx.x; i < m; i += blockDim.x) sum += x[((i / S) * C + c) * S + i % S];
    const double mu = pdk::block_sum_d(sum, shared) / (double)m;
    double ss = 0;
    for (int64_t i = threadIdx.x; i < m; i += blockDim.x) {
        const double d = x[((i / S) * C + c) * S + i % S] - mu;
        ss += d * d;
    }
    const double var = pdk::block_sum_d(ss, shared) / (double)m, r = pd_norm_rstd(var, eps);
    if (threadIdx.x == 0) {
        mean[c] = (float)mu;
        rstd[c] = (float)r;
        if (running_mean) running_mean[c] = pd_batchnorm_running_mean(running_mean[c], momentum, mu);
        if (running_var) running_var[c] = pd_batchnorm_running_var(running_var[c], momentum, var, m);
    }
    const double gm = gamma ? gamma[c] : 1.0, bt = beta ? beta[c] : 0.0;
    const float scale = pd_norm_scale(r, gm), shift = pd_norm_shift(mu, r, gm, bt);
    for (int64_t i = threadIdx.x; i < m; i += blockDim.x) {
        const int64_t off = ((i / S) * C + c) * S + i % S;
        y[off] = x[off] * scale + shift;
    }
}

__global__ void batchnorm_eval_kernel(const float *x, const float *gamma, const float *beta, const float *running_mean,
                                      const float *running_var, float *y, float *mean, float *rstd, int64_t N, int64_t C,
                                      int64_t S, double eps)
{
    for (int64_t i = global_index(); i < N * C * S; i += global_stride()) {
        const int64_t c = (i / S) % C;
        const double mu = running_mean[c], r = pd_norm_rstd((double)running_var[c], eps);
        const double gm = gamma ? gamma[c] : 1.0, bt = beta ? beta[c] : 0.0;
        y[i] = x[i] * pd_norm_scale(r, gm) + pd_norm_shift(mu, r, gm, bt);
        if (i < C) { /* statistics used, for the backward (channel i) */
            if (mean) mean[i] = running_mean[i];
            if (rstd) rstd[i] = (float)pd_norm_rstd((double)running_var[i], eps);
        }
    }
}

__global__ void batchnorm_grad_x_kernel(const float *x, const float *gamma, const float *mean, const float *rstd,
                                        const float *gy, float *gx, int64_t N, int64_t C, int64_t S, int training)
{
    __shared__ double shared[pdk::kThreads / 32];
    const int64_t c = blockIdx.x, m = N * S;
    const double mu = mean[c], r = rstd[c], gm = gamma ? gamma[c] : 1.0;
    double sum_dy = 0, sum_dy_xh = 0;
    if (training)
        for (int64_t i = threadIdx.x; i < m; i += blockDim.x) {
            const int64_t off = ((i / S) * C + c) * S + i % S;
            sum_dy += gy[off];
            sum_dy_xh += gy[off] * (x[off] - mu) * r;
        }
    const double mean_g = training ? gm * pdk::block_sum_d(sum_dy, shared) / (double)m : 0.0;
    const double mean_gx = training ? gm * pdk::block_sum_d(sum_dy_xh, shared) / (double)m : 0.0;
    for (int64_t i = threadIdx.x; i < m; i += blockDim.x) {
        const int64_t off = ((i / S) * C + c) * S + i % S;
        gx[off] += training ? pd_norm_grad_x(r, gy[off], gm, mean_g, x[off], mu, mean_gx)
                            : pd_norm_grad_x_const(r, gy[off], gm);
    }
}

} // namespace

extern "C" pd_status pd_cuda_groupnorm_forward(const float *x, const float *gamma, const float *beta, float *y,
                                               float *mean, float *rstd, int64_t N, int64_t C, int64_t S, int64_t G,
                                               double eps)
{
    if (N * G <= 0) return PD_OK;
    groupnorm_forward_kernel<<<(unsigned)(N * G), pdk::kThreads, 0, pdk::stream()>>>(x, gamma, beta, y, mean, rstd, C, S,
                                                                                    G, eps);
    return pdk::launched("groupnorm forward");
}

extern "C" pd_status pd_cuda_groupnorm_backward(const float *x, const float *gamma, const float *mean, const float *rstd,
                                                const float *gy, float *gx, float *ggamma, float *gbeta, int64_t N,
                                                int64_t C, int64_t S, int64_t G)
{
    if (N * G <= 0) return PD_OK;
    if (ggamma || gbeta) {
        norm_grad_affine_kernel<<<pdk::blocks_for(C), pdk::kThreads, 0, pdk::stream()>>>(x, mean, rstd, gy, ggamma, gbeta,
                                                                                        N, C, S, G);
        PD_TRY(pdk::launched("groupnorm backward (affine)"));
    }
    if (gx) {
        groupnorm_grad_x_kernel<<<(unsigned)(N * G), pdk::kThreads, 0, pdk::stream()>>>(x, gamma, mean, rstd, gy, gx, C,
                                                                                       S, G);
        PD_TRY(pdk::launched("groupnorm backward (x)"));
    }
    return PD_OK;
}

extern "C" pd_status pd_cuda_batchnorm_forward(const float *x, const float *gamma, const float *beta,
                                               float *running_mean, float *running_var, float *y, float *mean,
                                               float *rstd, int64_t N, int64_t C, int64_t S, double momentum, double eps,
                                               int training)
{
    if (C <= 0) return PD_OK;
    if (training) {
        if (N * S < 2)
            return pd_fail(PD_ERR_USAGE,
                           "batchnorm (training): %lld value(s) per channel; batch statistics need at least 2 "
                           "(use a larger batch or eval mode)", (long long)(N * S));
        batchnorm_train_kernel<<<(unsigned)C, pdk::kThreads, 0, pdk::stream()>>>(x, gamma, beta, running_mean, running_var,
                                                                                y, mean, rstd, N, C, S, momentum, eps);
        return pdk::launched("batchnorm forward (training)");
    }
    batchnorm_eval_kernel<<<pdk::blocks_for(N * C * S), pdk::kThreads, 0, pdk::stream()>>>(
        x, gamma, beta, running_mean, running_var, y, mean, rstd, N, C, S, eps);
    return pdk::launched("batchnorm forward (eval)");
}

extern "C" pd_status pd_cuda_batchnorm_backward(const float *x, const float *gamma, const float *mean, const float *rstd,
                                                const float *gy, float *gx, float *ggamma, float *gbeta, int64_t N,
                                                int64_t C, int64_t S, int training)
{
    if (C <= 0) return PD_OK;
    if (ggamma || gbeta) {
        norm_grad_affine_kernel<<<pdk::blocks_for(C), pdk::kThreads, 0, pdk::stream()>>>(x, mean, rstd, gy, ggamma, gbeta,
                                                                                        N, C, S, 0);
        PD_TRY(pdk::launched("batchnorm backward (affine)"));
    }
    if (gx) {
        batchnorm_grad_x_kernel<<<(unsigned)C, pdk::kThreads, 0, pdk::stream()>>>(x, gamma, mean, rstd, gy, gx, N, C, S,
                                                                                 training);
        PD_TRY(pdk::launched("batchnorm backward (x)"));
    }
    return PD_OK;
}
