/* kernel_common.cuh — what every kernel file of the CUDA op set shares: the compute stream,
 * launch sizes, launch-error checks turned into pd_status messages, and the fixed-order warp
 * and block reductions that keep every sum deterministic (no atomics anywhere). */
#ifndef PD_CUDA_KERNEL_COMMON_CUH
#define PD_CUDA_KERNEL_COMMON_CUH

#include <cuda_runtime.h>
#include <stdint.h>

#include "device.h"
#include "ops.h"

namespace pdk {

constexpr int kThreads = 256;      /* threads per block of the elementwise kernels */
constexpr int kReduceBlocks = 256; /* first-pass blocks of the whole-array reductions */

inline cudaStream_t stream() { return static_cast<cudaStream_t>(pd_cuda_compute_stream()); }

inline unsigned blocks_for(int64_t n)
{
    int64_t b = (n + kThreads - 1) / kThreads;
    if (b < 1) b = 1;
    if (b > 65535LL * 32) b = 65535LL * 32; /* grid-stride loops cover the rest */
    return (unsigned)b;
}

/* After a launch: the launch error (bad configuration, no device) as a pd_status. */
inline pd_status launched(const char *what)
{
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess) return PD_OK;
    return pd_fail(PD_ERR, "CUDA kernel %s failed to launch: %s", what, cudaGetErrorString(e));
}

inline pd_status cuda_ok(cudaError_t e, const char *what)
{
    if (e == cudaSuccess) return PD_OK;
    return pd_fail(PD_ERR, "%s failed: %s", what, cudaGetErrorString(e));
}

/* Grid-stride loop index helpers. */
__device__ inline int64_t global_index() { return (int64_t)blockIdx.x * blockDim.x + threadIdx.x; }
__device__ inline int64_t global_stride() { return (int64_t)gridDim.x * blockDim.x; }

/* Butterfly reductions over a full warp: the same tree for every call, so the result only
 * depends on the inputs (not on timing). */
__device__ inline float warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ inline double warp_sum_d(double v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ inline float warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* Sum over a block of kThreads threads (fixed tree); every thread gets the total. `shared`
 * holds kThreads / 32 doubles. */
__device__ inline double block_sum_d(double v, double *shared)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, n_warps = blockDim.x >> 5;
    v = warp_sum_d(v);
    __syncthreads();
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    double t = lane < n_warps ? shared[lane] : 0.0;
    t = warp_sum_d(t);
    return t;
}

} // namespace pdk

#endif
