/* managed.cu — unified (managed) memory for tensors placed on the GPU (run.device = "cuda"):
 * one pointer valid on the host and on the device, so host code that reads tensor data keeps
 * working; the op set synchronises the compute stream before host code may read. */
#include "kernel_common.cuh"

extern "C" pd_status pd_cuda_managed_check(void)
{
    int device = 0, concurrent = 0;
    PD_TRY(pdk::cuda_ok(cudaGetDevice(&device), "cudaGetDevice"));
    PD_TRY(pdk::cuda_ok(cudaDeviceGetAttribute(&concurrent, cudaDevAttrConcurrentManagedAccess, device),
                        "cudaDeviceGetAttribute(ConcurrentManagedAccess)"));
    if (!concurrent)
        return pd_fail(PD_ERR_UNSUPPORTED, "GPU %d lacks concurrent managed-memory access (needed by run.device = "
                       "\"cuda\": host and GPU share tensor memory); use a Linux node with a Pascal or newer GPU",
                       device);
    return PD_OK;
}

extern "C" pd_status pd_cuda_managed_alloc(void **out, size_t bytes)
{
    *out = NULL;
    void *p = NULL;
    cudaError_t e = cudaMallocManaged(&p, bytes ? bytes : 1, cudaMemAttachGlobal);
    if (e != cudaSuccess)
        return pd_fail(PD_ERR_NOMEM, "cudaMallocManaged of %.1f MiB failed: %s (reduce the batch or the model)",
                       (double)bytes / 1048576.0, cudaGetErrorString(e));
    int device = 0;
    if (cudaGetDevice(&device) == cudaSuccess && bytes) {
        /* Start the pages on the GPU; host access migrates them on demand. Prefetching is a
         * hint: where it is unsupported the memory still works, so its error is dropped. */
        cudaMemLocation where = {};
        where.type = cudaMemLocationTypeDevice;
        where.id = device;
        if (cudaMemPrefetchAsync(p, bytes, where, 0, pdk::stream()) != cudaSuccess) (void)cudaGetLastError();
    }
    *out = p;
    return PD_OK;
}

extern "C" void pd_cuda_managed_free(void *p)
{
    if (!p) return;
    cudaStreamSynchronize(pdk::stream()); /* no kernel may still use it */
    cudaFree(p);
}

extern "C" int pd_cuda_pointer_on_device(const void *p)
{
    cudaPointerAttributes a;
    if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
        (void)cudaGetLastError(); /* plain host memory of older runtimes: not an error to keep */
        return 0;
    }
    return a.type == cudaMemoryTypeManaged || a.type == cudaMemoryTypeDevice;
}
