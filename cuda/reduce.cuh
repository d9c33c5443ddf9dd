/* reduce.cuh — the deterministic whole-array sum every scalar reduction of the CUDA op set
 * uses (sum/mean, MSE, KL, cross-entropy totals, gradient norm): a fixed grid of blocks each
 * sums a fixed strided subset in double and reduces it by a fixed tree, then one block adds
 * the block partials in order. Same inputs, same launch → same bits; no atomics. */
#ifndef PD_CUDA_REDUCE_CUH
#define PD_CUDA_REDUCE_CUH

#include "kernel_common.cuh"

namespace pdk {

template <typename Term>
__global__ void reduce_partials_kernel(Term term, int64_t n, double *partials)
{
    __shared__ double shared[kThreads / 32];
    double acc = 0;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        acc += term(i);
    acc = block_sum_d(acc, shared);
    if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

/* A template only so that the header can define it in every file that includes it. */
template <int kUnused = 0>
__global__ void reduce_final_kernel(const double *partials, int n_partials, double *total)
{
    __shared__ double shared[kThreads / 32];
    double acc = 0;
    for (int i = threadIdx.x; i < n_partials; i += blockDim.x) acc += partials[i];
    acc = block_sum_d(acc, shared);
    if (threadIdx.x == 0) *total = acc;
}

/* *total (device double) = Σ_{i<n} term(i). Scratch from `work`. */
template <typename Term>
pd_status deterministic_sum(pd_cuda_arena *work, Term term, int64_t n, double *total)
{
    double *partials = static_cast<double *>(pd_cuda_arena_alloc(work, kReduceBlocks * sizeof(double)));
    if (!partials) return PD_ERR_NOMEM;
    reduce_partials_kernel<<<kReduceBlocks, kThreads, 0, stream()>>>(term, n, partials);
    PD_TRY(launched("reduction (partials)"));
    reduce_final_kernel<><<<1, kThreads, 0, stream()>>>(partials, kReduceBlocks, total);
    return launched("reduction (final)");
}

} // namespace pdk

#endif
