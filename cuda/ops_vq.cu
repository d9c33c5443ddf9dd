/* ops_vq.cu — EMA vector quantisation on the GPU: nearest code by an fp32 GEMM (‖x‖² − 2x·e +
 * ‖e‖², argmin with ties to the lowest code, one thread per vector as the CPU), the code
 * lookup, batch statistics summed per code over a CSR of the assignments (the CPU's order, no
 * atomics), and the EMA update with the formulas of src/nn/pointwise_index.h. */
#include <stdlib.h>

#include "kernel_common.cuh"

namespace {

using pdk::global_index;
using pdk::global_stride;

/* rows[r, d] = x[n, d, p], r = n·P + p. */
__global__ void vectors_kernel(const float *x, int64_t N, int64_t D, int64_t P, float *rows)
{
    for (int64_t t = global_index(); t < N * P * D; t += global_stride()) {
        const int64_t r = t / D, d = t % D, n = r / P, p = r % P;
        rows[t] = x[(n * D + d) * P + p];
    }
}

/* sq[i] = Σ_d v[i, d]² in double, rounded once (code norms and vector norms). */
__global__ void squared_norms_kernel(const float *v, int64_t n, int64_t D, float *sq)
{
    for (int64_t i = global_index(); i < n; i += global_stride()) {
        double s = 0;
        for (int64_t d = 0; d < D; d++) s += (double)v[i * D + d] * v[i * D + d];
        sq[i] = (float)s;
    }
}

__global__ void argmin_kernel(const float *dots, const float *x_sq, const float *code_sq, int64_t rows, int64_t K,
                              int32_t *index)
{
    for (int64_t r = global_index(); r < rows; r += global_stride()) {
        const float *row = dots + r * K;
        int32_t best = 0;
        float best_dist = pd_vq_distance(x_sq[r], row[0], code_sq[0]);
        for (int64_t k = 1; k < K; k++) {
            const float dist = pd_vq_distance(x_sq[r], row[k], code_sq[k]);
            if (dist < best_dist) {
                best_dist = dist;
                best = (int32_t)k;
            }
        }
        index[r] = best;
    }
}

__global__ void lookup_kernel(const float *embed, const int32_t *index, int64_t N, int64_t D, int64_t P, float *q)
{
    for (int64_t t = global_index(); t < N * D * P; t += global_stride()) {
        const int64_t n = t / (D * P), d = (t / P) % D, p = t % P;
        q[t] = embed[(int64_t)index[n * P + p] * D + d];
    }
}

__global__ void code_stats_kernel(const float *x, int64_t D, int64_t P, const int64_t *row_ptr, const int32_t *order,
                                  int64_t K, double *counts, double *sums)
{
    for (int64_t t = global_index(); t < K * D; t += global_stride()) {
        const int64_t k = t / D, d = t % D;
        double s = 0;
        for (int64_t i = row_ptr[k]; i < row_ptr[k + 1]; i++) {
            const int64_t r = order[i], n = r / P, p = r % P;
            s += x[(n * D + d) * P + p];
        }
        sums[t] = s;
        if (d == 0) counts[k] = (double)(row_ptr[k + 1] - row_ptr[k]);
    }
}

__global__ void ema_kernel(float *ema_count, float *ema_sum, int64_t K, int64_t D, double decay, const double *counts,
                           const double *sums)
{
    for (int64_t t = global_index(); t < K * D; t += global_stride()) {
        ema_sum[t] = pd_vq_ema(ema_sum[t], decay, sums[t]);
        if (t % D == 0) ema_count[t / D] = pd_vq_ema(ema_count[t / D], decay, counts[t / D]);
    }
}

/* One thread, codes in order: the CPU's double sum of the updated counts. */
__global__ void count_total_kernel(const float *ema_count, int64_t K, double *total)
{
    double s = 0;
    for (int64_t k = 0; k < K; k++) s += ema_count[k];
    *total = s;
}

__global__ void embed_kernel(float *embed, const float *ema_count, const float *ema_sum, int64_t K, int64_t D, double eps,
                             const double *total)
{
    for (int64_t t = global_index(); t < K * D; t += global_stride())
        embed[t] = (float)(ema_sum[t] / pd_vq_smoothed_count(ema_count[t / D], *total, K, eps));
}

} // namespace

extern "C" pd_status pd_cuda_vq_nearest(pd_cuda_arena *work, const float *embed, int64_t K, int64_t D, const float *x,
                                        int64_t N, int64_t P, int32_t *index, float *q)
{
    const int64_t rows = N * P;
    if (rows <= 0 || K <= 0) return PD_OK;
    float *code_sq = static_cast<float *>(pd_cuda_arena_alloc(work, (size_t)K * sizeof(float)));
    float *x_sq = static_cast<float *>(pd_cuda_arena_alloc(work, (size_t)rows * sizeof(float)));
    float *dots = static_cast<float *>(pd_cuda_arena_alloc(work, (size_t)(rows * K) * sizeof(float)));
    float *vec = P == 1 ? NULL : static_cast<float *>(pd_cuda_arena_alloc(work, (size_t)(rows * D) * sizeof(float)));
    if (!code_sq || !x_sq || !dots || (P != 1 && !vec)) return PD_ERR_NOMEM;
    const float *X = x;
    if (P != 1) {
        vectors_kernel<<<pdk::blocks_for(rows * D), pdk::kThreads, 0, pdk::stream()>>>(x, N, D, P, vec);
        PD_TRY(pdk::launched("vq vector layout"));
        X = vec;
    }
    squared_norms_kernel<<<pdk::blocks_for(K), pdk::kThreads, 0, pdk::stream()>>>(embed, K, D, code_sq);
    PD_TRY(pdk::launched("vq code norms"));
    squared_norms_kernel<<<pdk::blocks_for(rows), pdk::kThreads, 0, pdk::stream()>>>(X, rows, D, x_sq);
    PD_TRY(pdk::launched("vq vector norms"));
    /* fp32 even in BF16 runs: the argmin is decided by small differences of large terms. */
    PD_TRY(pd_cuda_gemm(PD_CUDA_FP32, 0, 1, rows, K, D, 1.0f, X, D, embed, D, 0.0f, dots, K));
    argmin_kernel<<<pdk::blocks_for(rows), pdk::kThreads, 0, pdk::stream()>>>(dots, x_sq, code_sq, rows, K, index);
    PD_TRY(pdk::launched("vq argmin"));
    if (!q) return PD_OK;
    lookup_kernel<<<pdk::blocks_for(rows * D), pdk::kThreads, 0, pdk::stream()>>>(embed, index, N, D, P, q);
    return pdk::launched("vq lookup");
}

extern "C" pd_status pd_cuda_vq_batch_stats(pd_cuda_arena *work, int64_t K, int64_t D, const float *x, int64_t N,
                                            int64_t P, const int32_t *host_index, double *counts, double *sums)
{
    pd_cuda_index_plan plan;
    PD_TRY(pd_cuda_index_plan_create(work, host_index, N * P, K, &plan));
    if (K * D <= 0) return PD_OK;
    code_stats_kernel<<<pdk::blocks_for(K * D), pdk::kThreads, 0, pdk::stream()>>>(x, D, P, plan.row_ptr, plan.order, K,
                                                                                   counts, sums);
    return pdk::launched("vq batch statistics");
}

extern "C" pd_status pd_cuda_vq_ema_update(float *embed, float *ema_count, float *ema_sum, int64_t K, int64_t D,
                                           double decay, double eps, const double *counts, const double *sums)
{
    if (K * D <= 0) return PD_OK;
    double *total = NULL;
    PD_TRY(pdk::cuda_ok(cudaMallocAsync(reinterpret_cast<void **>(&total), sizeof(double), pdk::stream()),
                        "cudaMallocAsync (vq total)"));
    ema_kernel<<<pdk::blocks_for(K * D), pdk::kThreads, 0, pdk::stream()>>>(ema_count, ema_sum, K, D, decay, counts, sums);
    pd_status st = pdk::launched("vq EMA");
    if (st == PD_OK) {
        count_total_kernel<<<1, 1, 0, pdk::stream()>>>(ema_count, K, total);
        st = pdk::launched("vq EMA total");
    }
    if (st == PD_OK) {
        embed_kernel<<<pdk::blocks_for(K * D), pdk::kThreads, 0, pdk::stream()>>>(embed, ema_count, ema_sum, K, D, eps,
                                                                                 total);
        st = pdk::launched("vq codebook update");
    }
    cudaFreeAsync(total, pdk::stream());
    return st;
}
