/* device.h — placement: whether a graph's activations and a parameter store's buffers live on
 * the CPU or on this rank's GPU (run.device), the GEMM precision there (run.precision) and the
 * GPU workspace size (run.gpu_arena_mb). GPU placement uses managed memory (docs/cuda.md). */
#ifndef PD_NN_DEVICE_H
#define PD_NN_DEVICE_H

#include <mpi.h>
#include <stddef.h>

#include "config.h"
#include "core/config.h"
#include "core/error.h"

typedef enum pd_device { PD_DEVICE_CPU = 0, PD_DEVICE_CUDA = 1 } pd_device;
typedef enum pd_gemm_precision { PD_GEMM_FP32 = 0, PD_GEMM_BF16 = 1 } pd_gemm_precision;

typedef struct pd_placement {
    pd_device device;
    pd_gemm_precision precision;   /* GEMM operands on the GPU; the CPU always computes in fp32 */
    size_t gpu_arena_bytes;   /* per-graph GPU workspace (cuda/ops.h's pd_cuda_arena) */
} pd_placement;

/* run.device / run.precision / run.gpu_arena_mb. Fails, naming run.device, when "cuda" is
 * asked of a build without the CUDA backend (before any work starts). */
pd_status pd_placement_from_config(const pd_config *cfg, pd_placement *out);
/* Bring the placement up on this rank: for cuda, select the GPU by node-local rank within
 * `world` (pd_cuda_init) and check that it supports managed memory. Then make `p` the
 * default for every graph and parameter store created afterwards in this process. */
pd_status pd_placement_start(const pd_placement *p, MPI_Comm world);
/* The process default (cpu, fp32, until pd_placement_start or pd_placement_set_default). */
pd_placement pd_placement_default(void);
void pd_placement_set_default(const pd_placement *p);
const char *pd_device_name(pd_device d);
/* 1 when this build has the CUDA backend and at least one GPU is visible. */
int pd_device_cuda_available(void);

/* Memory for tensors and flat buffers on device d: 64-byte aligned host memory (cpu) or
 * managed memory (cuda). pd_device_calloc zeroes it (and waits for that on the GPU). NULL
 * with a message on failure. */
void *pd_device_alloc(pd_device d, size_t bytes);
void *pd_device_calloc(pd_device d, size_t bytes);
void pd_device_free(pd_device d, void *p);
/* Zero `bytes` at p: memset (cpu) or a memset queued on the compute stream (cuda). */
pd_status pd_device_zero(pd_device d, void *p, size_t bytes);
/* The GPU compute stream (a cudaStream_t) the op set queues on, for ordering collectives
 * after it; NULL on the cpu or before pd_placement_start. */
void *pd_device_compute_stream(void);
/* Where p points: PD_DEVICE_CUDA for managed or device memory, else PD_DEVICE_CPU. */
pd_device pd_device_of_pointer(const void *p);
/* Wait for the GPU work queued so far (no-op on the cpu); `what` names it in errors. */
pd_status pd_device_sync(pd_device d, const char *what);

#endif
