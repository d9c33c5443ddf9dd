/* backend.h — what computes the ops: a backend is a table (which ops it supports, forward and
 * backward from a kernel descriptor, a per-graph workspace with mark/rewind, its memory and
 * stream, the optimizer's two device loops). The CPU backend (backend_cpu.c) is the reference
 * and supports every op; a device backend (cuda/backend.cu) registers its own table, and
 * backend.c is the one place that knows which exist in this build.
 *
 * How an op runs (op_run.h): the op function validates, infers the output shape, allocates the
 * output and fills the op's descriptor (kernel_desc.h); pd_op_forward hands the descriptor to
 * the graph's backend, or fails naming the op when that backend does not support it and the
 * op is not host-side (op.h); pd_record_op tags the node with the op, and the node's backward
 * goes back through the same backend (pd_op_backward). */
#ifndef PD_NN_BACKEND_H
#define PD_NN_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "nn/device.h"
#include "nn/op.h"
#include "nn/pointwise_optim.h"
#include "nn/real.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a kernel may use besides its descriptor. */
typedef struct pd_backend_ctx {
    void *work;                    /* the graph's workspace on this backend (NULL on the cpu) */
    pd_gemm_precision precision;   /* GEMM operands on a device (the cpu computes in fp32) */
} pd_backend_ctx;

typedef struct pd_backend {
    const char *name;   /* "cpu", "cuda" */
    pd_device device;
    /* 1 when forward/backward compute `op` (its kernel descriptor is kernel_desc.h's). */
    int (*supports)(pd_op op);
    /* Compute (device: queue) the op; backward ADDS into the gradients the descriptor names. */
    pd_status (*forward)(const pd_backend_ctx *ctx, pd_op op, const void *desc);
    pd_status (*backward)(const pd_backend_ctx *ctx, pd_op op, const void *desc);

    /* The per-graph workspace (temporary device memory; NULL members on the cpu, whose ops
     * take scratch from the graph's arena). mark/rewind free what was taken after the mark. */
    pd_status (*work_create)(void **work, size_t bytes);
    void (*work_destroy)(void *work);
    void *(*work_alloc)(void *work, size_t bytes);
    size_t (*work_mark)(const void *work);
    void (*work_rewind)(void *work, size_t mark);
    void (*work_reset)(void *work);

    /* Device memory and stream (NULL members on the cpu: host memory, nothing queued). */
    int (*device_count)(void);
    /* Bind this process to GPU `local_rank` and check what placement needs (message in err). */
    pd_status (*start)(int local_rank);
    pd_status (*alloc)(void **out, size_t bytes);   /* memory host and device may touch */
    void (*free)(void *p);
    pd_status (*zero)(void *p, size_t bytes);       /* queued */
    pd_status (*sync)(const char *what);            /* wait for everything queued */
    int (*pointer_on_device)(const void *p);
    void *(*compute_stream)(void);

    /* The optimizer's loops over flat buffers on the device (optim.c; NULL on the cpu). */
    pd_status (*adamw_step)(const pd_adamw_scalars *k, pd_real *p, pd_real *m, pd_real *v, const pd_real *grad, int64_t n,
                            const int64_t (*decay_segments)[2], int n_segments);
    pd_status (*grad_sumsq)(const pd_real *grad, int64_t n, double *host_sumsq);
} pd_backend;

/* The reference backend (always present). */
const pd_backend *pd_backend_cpu(void);
/* The backend of device d in this build, NULL when the build has none. */
const pd_backend *pd_backend_for(pd_device d);
/* The backends of this build, cpu first (listing, coverage). */
int pd_backend_count(void);
const pd_backend *pd_backend_at(int i);

#ifdef __cplusplus
}
#endif
#endif
