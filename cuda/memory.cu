/* memory.cu — device memory of the CUDA op set: the per-step bump arena on one cudaMalloc'd
 * chunk, host/device copies ordered on the compute stream, and f32 <-> bf16 conversion with
 * the same rounding formula as the CPU (core/half.h). */
#include "kernel_common.cuh"

#include "core/half.h"

extern "C" pd_status pd_cuda_arena_create(pd_cuda_arena *a, size_t bytes)
{
    a->base = NULL;
    a->size = a->used = a->peak = 0;
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, bytes);
    if (e != cudaSuccess)
        return pd_fail(PD_ERR_NOMEM, "cudaMalloc of the %.1f MiB GPU arena failed: %s (lower run.gpu_arena_mb or the batch)",
                       (double)bytes / 1048576.0, cudaGetErrorString(e));
    a->base = static_cast<char *>(p);
    a->size = bytes;
    return PD_OK;
}

extern "C" void pd_cuda_arena_destroy(pd_cuda_arena *a)
{
    if (a->base) cudaFree(a->base);
    a->base = NULL;
    a->size = a->used = 0;
}

extern "C" void *pd_cuda_arena_alloc(pd_cuda_arena *a, size_t bytes)
{
    const size_t align = 256;
    size_t start = (a->used + align - 1) / align * align;
    if (start + bytes > a->size || !a->base) {
        pd_fail(PD_ERR_NOMEM, "GPU arena full: %zu bytes requested with %zu of %zu in use (peak %zu); raise run.gpu_arena_mb",
                bytes, a->used, a->size, a->peak);
        return NULL;
    }
    a->used = start + bytes;
    if (a->used > a->peak) a->peak = a->used;
    return a->base + start;
}

extern "C" void pd_cuda_arena_reset(pd_cuda_arena *a) { a->used = 0; }

extern "C" pd_status pd_cuda_upload(void *dst, const void *src, size_t bytes)
{
    if (!bytes) return PD_OK;
    PD_TRY(pdk::cuda_ok(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, pdk::stream()), "host-to-device copy"));
    return pdk::cuda_ok(cudaStreamSynchronize(pdk::stream()), "host-to-device copy");
}

extern "C" pd_status pd_cuda_download(void *dst, const void *src, size_t bytes)
{
    if (!bytes) return PD_OK;
    PD_TRY(pdk::cuda_ok(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, pdk::stream()), "device-to-host copy"));
    return pdk::cuda_ok(cudaStreamSynchronize(pdk::stream()), "device-to-host copy");
}

extern "C" pd_status pd_cuda_memset_zero(void *dst, size_t bytes)
{
    if (!bytes) return PD_OK;
    return pdk::cuda_ok(cudaMemsetAsync(dst, 0, bytes, pdk::stream()), "cudaMemsetAsync");
}

extern "C" pd_status pd_cuda_synchronize(const char *what)
{
    cudaError_t e = cudaStreamSynchronize(pdk::stream());
    if (e == cudaSuccess) return PD_OK;
    return pd_fail(PD_ERR, "GPU work of %s failed: %s", what, cudaGetErrorString(e));
}

namespace {

__global__ void to_bf16_kernel(const float *src, uint16_t *dst, int64_t n)
{
    for (int64_t i = pdk::global_index(); i < n; i += pdk::global_stride()) dst[i] = pd_f32_to_bf16(src[i]);
}

__global__ void from_bf16_kernel(const uint16_t *src, float *dst, int64_t n)
{
    for (int64_t i = pdk::global_index(); i < n; i += pdk::global_stride()) dst[i] = pd_bf16_to_f32(src[i]);
}

} // namespace

extern "C" pd_status pd_cuda_f32_to_bf16(const float *src, uint16_t *dst, int64_t n)
{
    if (n <= 0) return PD_OK;
    to_bf16_kernel<<<pdk::blocks_for(n), pdk::kThreads, 0, pdk::stream()>>>(src, dst, n);
    return pdk::launched("f32_to_bf16");
}

extern "C" pd_status pd_cuda_bf16_to_f32(const uint16_t *src, float *dst, int64_t n)
{
    if (n <= 0) return PD_OK;
    from_bf16_kernel<<<pdk::blocks_for(n), pdk::kThreads, 0, pdk::stream()>>>(src, dst, n);
    return pdk::launched("bf16_to_f32");
}
