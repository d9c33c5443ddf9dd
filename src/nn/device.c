/* device.c — placement of tensors and flat buffers (see device.h): run-file keys, GPU bring-up,
 * and the allocation that puts memory on the host or in managed GPU memory. */
#include "nn/device.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "nn/backend.h"

#define HOST_ALIGN 64

static pd_placement default_placement = {PD_DEVICE_CPU, PD_GEMM_FP32, (size_t)512 << 20};

pd_placement pd_placement_default(void) { return default_placement; }
void pd_placement_set_default(const pd_placement *p) { default_placement = *p; }

const char *pd_device_name(pd_device d) { return d == PD_DEVICE_CUDA ? "cuda" : "cpu"; }

/* The device backend of d, NULL for the cpu or when this build has none. */
static const pd_backend *device_backend(pd_device d)
{
    return d == PD_DEVICE_CPU ? NULL : pd_backend_for(d);
}

int pd_device_cuda_available(void)
{
    const pd_backend *b = device_backend(PD_DEVICE_CUDA);
    return b && b->device_count() > 0;
}

pd_status pd_placement_from_config(const pd_config *cfg, pd_placement *out)
{
    memset(out, 0, sizeof *out);
    const char *device = pd_cfg_str(cfg, "run.device");
    const char *precision = pd_cfg_str(cfg, "run.precision");
    out->device = strcmp(device, "cuda") == 0 ? PD_DEVICE_CUDA : PD_DEVICE_CPU;
    out->precision = strcmp(precision, "bf16") == 0 ? PD_GEMM_BF16 : PD_GEMM_FP32;
    out->gpu_arena_bytes = (size_t)pd_cfg_int(cfg, "run.gpu_arena_mb") << 20;
    if (out->device == PD_DEVICE_CUDA && !device_backend(PD_DEVICE_CUDA))
        return pd_fail(PD_ERR_CONFIG, "run.device = \"cuda\" but this proteindiff was built without the CUDA backend; "
                       "reconfigure with --with-cuda (see docs/cuda.md) or set run.device = \"cpu\"");
    if (out->device == PD_DEVICE_CPU && out->precision == PD_GEMM_BF16)
        pd_warn("run.precision = \"bf16\" applies to run.device = \"cuda\" only; the CPU computes in fp32");
    return PD_OK;
}

pd_status pd_placement_start(const pd_placement *p, MPI_Comm world)
{
    if (p->device != PD_DEVICE_CPU) {
        const pd_backend *b = device_backend(p->device);
        if (!b)
            return pd_fail(PD_ERR_CONFIG, "run.device = \"%s\" but this proteindiff was built without that "
                           "backend; reconfigure with --with-cuda", pd_device_name(p->device));
        MPI_Comm node;
        int local_rank = 0;
        if (MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) != MPI_SUCCESS)
            return pd_fail(PD_ERR, "MPI_Comm_split_type failed while finding this rank's GPU");
        MPI_Comm_rank(node, &local_rank);
        MPI_Comm_free(&node);
        PD_TRY(b->start(local_rank));
    }
    pd_placement_set_default(p);
    return PD_OK;
}

void *pd_device_alloc(pd_device d, size_t bytes)
{
    void *p = NULL;
    if (d != PD_DEVICE_CPU) {
        const pd_backend *b = device_backend(d);
        if (!b) {
            pd_fail(PD_ERR_UNSUPPORTED, "GPU memory requested in a build without the CUDA backend (run.device)");
            return NULL;
        }
        return b->alloc(&p, bytes) == PD_OK ? p : NULL;
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
    const pd_backend *b = device_backend(d);
    if (b) b->free(p);
    else free(p);
}

pd_status pd_device_zero(pd_device d, void *p, size_t bytes)
{
    const pd_backend *b = device_backend(d);
    if (b) return b->zero(p, bytes);
    memset(p, 0, bytes);
    return PD_OK;
}

pd_status pd_device_sync(pd_device d, const char *what)
{
    const pd_backend *b = device_backend(d);
    return b ? b->sync(what) : PD_OK;
}

pd_device pd_device_of_pointer(const void *p)
{
    for (int i = 0; p && i < pd_backend_count(); i++) {
        const pd_backend *b = pd_backend_at(i);
        if (b->pointer_on_device && b->pointer_on_device(p)) return b->device;
    }
    return PD_DEVICE_CPU;
}

void *pd_device_compute_stream(void)
{
    const pd_backend *b = device_backend(PD_DEVICE_CUDA);
    return b && b->compute_stream ? b->compute_stream() : NULL;
}
