/* device.c — placement of tensors and flat buffers (see device.h): run-file keys, GPU bring-up,
 * and the allocation that puts memory on the host or in managed GPU memory. */
#include "nn/device.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#if PD_NN_CUDA
#include "../../cuda/device.h"
#include "../../cuda/ops.h"
#endif

#define HOST_ALIGN 64

static pd_placement default_placement = {PD_DEVICE_CPU, PD_GEMM_FP32, (size_t)512 << 20};

pd_placement pd_placement_default(void) { return default_placement; }
void pd_placement_set_default(const pd_placement *p) { default_placement = *p; }

const char *pd_device_name(pd_device d) { return d == PD_DEVICE_CUDA ? "cuda" : "cpu"; }

int pd_device_cuda_available(void)
{
#if PD_NN_CUDA
    return pd_cuda_device_count() > 0;
#else
    return 0;
#endif
}

pd_status pd_placement_from_config(const pd_config *cfg, pd_placement *out)
{
    memset(out, 0, sizeof *out);
    const char *device = pd_cfg_str(cfg, "run.device");
    const char *precision = pd_cfg_str(cfg, "run.precision");
    out->device = strcmp(device, "cuda") == 0 ? PD_DEVICE_CUDA : PD_DEVICE_CPU;
    out->precision = strcmp(precision, "bf16") == 0 ? PD_GEMM_BF16 : PD_GEMM_FP32;
    out->gpu_arena_bytes = (size_t)pd_cfg_int(cfg, "run.gpu_arena_mb") << 20;
    if (out->device == PD_DEVICE_CUDA && !PD_NN_CUDA)
        return pd_fail(PD_ERR_CONFIG, "run.device = \"cuda\" but this proteindiff was built without the CUDA backend; "
                       "reconfigure with --with-cuda (see docs/cuda.md) or set run.device = \"cpu\"");
    if (out->device == PD_DEVICE_CPU && out->precision == PD_GEMM_BF16)
        pd_warn("run.precision = \"bf16\" applies to run.device = \"cuda\" only; the CPU computes in fp32");
    return PD_OK;
}

pd_status pd_placement_start(const pd_placement *p, MPI_Comm world)
{
    if (p->device == PD_DEVICE_CUDA) {
#if PD_NN_CUDA
        MPI_Comm node;
        int local_rank = 0;
        if (MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) != MPI_SUCCESS)
            return pd_fail(PD_ERR, "MPI_Comm_split_type failed while finding this rank's GPU");
        MPI_Comm_rank(node, &local_rank);
        MPI_Comm_free(&node);
        char err[256];
        if (pd_cuda_init(local_rank, err, (int)sizeof err) != 0)
            return pd_fail(PD_ERR, "GPU set-up of node-local rank %d (run.device = \"cuda\"): %s", local_rank, err);
        PD_TRY(pd_cuda_managed_check());
#else
        (void)world;
        return pd_fail(PD_ERR_CONFIG, "run.device = \"cuda\" but this proteindiff was built without the CUDA "
                       "backend; reconfigure with --with-cuda");
#endif
    }
    pd_placement_set_default(p);
    return PD_OK;
}

void *pd_device_alloc(pd_device d, size_t bytes)
{
    void *p = NULL;
    if (d == PD_DEVICE_CUDA) {
#if PD_NN_CUDA
        if (pd_cuda_managed_alloc(&p, bytes) != PD_OK) return NULL;
        return p;
#else
        pd_fail(PD_ERR_UNSUPPORTED, "GPU memory requested in a build without the CUDA backend (run.device)");
        return NULL;
#endif
    }
    size_t rounded = (bytes + HOST_ALIGN - 1) / HOST_ALIGN * HOST_ALIGN;
    if (posix_memalign(&p, HOST_ALIGN, rounded ? rounded : HOST_ALIGN) != 0) {
        pd_fail(PD_ERR_NOMEM, "cannot allocate %zu bytes of host memory", bytes);
        return NULL;
    }
    return p;
}

void *pd_device_calloc(pd_device d, size_t bytes)
{
    void *p = pd_device_alloc(d, bytes);
    if (!p) return NULL;
    if (pd_device_zero(d, p, bytes) != PD_OK || pd_device_sync(d, "zeroing new memory") != PD_OK) {
        pd_device_free(d, p);
        return NULL;
    }
    return p;
}

void pd_device_free(pd_device d, void *p)
{
    if (!p) return;
#if PD_NN_CUDA
    if (d == PD_DEVICE_CUDA) {
        pd_cuda_managed_free(p);
        return;
    }
#endif
    (void)d;
    free(p);
}

pd_status pd_device_zero(pd_device d, void *p, size_t bytes)
{
#if PD_NN_CUDA
    if (d == PD_DEVICE_CUDA) return pd_cuda_memset_zero(p, bytes);
#endif
    (void)d;
    memset(p, 0, bytes);
    return PD_OK;
}

pd_status pd_device_sync(pd_device d, const char *what)
{
#if PD_NN_CUDA
    if (d == PD_DEVICE_CUDA) return pd_cuda_synchronize(what);
#endif
    (void)d;
    (void)what;
    return PD_OK;
}

pd_device pd_device_of_pointer(const void *p)
{
#if PD_NN_CUDA
    return p && pd_cuda_pointer_on_device(p) ? PD_DEVICE_CUDA : PD_DEVICE_CPU;
#else
    (void)p;
    return PD_DEVICE_CPU;
#endif
}

void *pd_device_compute_stream(void)
{
#if PD_NN_CUDA
    return pd_cuda_compute_stream();
#else
    return NULL;
#endif
}
