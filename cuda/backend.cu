/* backend.cu — the CUDA backend's table (src/nn/backend.h), registered by src/nn/backend.c in
 * a --with-cuda build: which ops it supports, forward/backward from the ops' kernel
 * descriptors (src/nn/kernel_desc.h) onto the kernels of ops.h, the per-graph workspace
 * (pd_cuda_arena), managed memory, the compute stream and the optimizer's device loops. */
#include <stdlib.h>

#include "ops.h" /* first: it includes core/error.h as C */
#include "device.h"
#include "nn/backend.h"
#include "nn/kernel_desc.h"

/* Every op of the enum has a CUDA kernel except these (the pair-bias attention has none yet;
 * the VQ commitment loss is host-side). */
static int cuda_supports(pd_op op)
{
    if (op < 0 || op >= PD_OP_COUNT) return 0;
    return op != PD_OP_ATTENTION_BIASED && op != PD_OP_VQ_COMMITMENT;
}

static pd_status not_in_table(pd_op op)
{
    return pd_fail(PD_ERR_UNSUPPORTED, "op '%s' is not dispatched through the cuda backend's table",
                   pd_op_name(op) ? pd_op_name(op) : "?");
}

static pd_status cuda_forward(const pd_backend_ctx *ctx, pd_op op, const void *desc)
{
    (void)ctx;
    switch (op) {
    case PD_OP_GELU: case PD_OP_GELU_TANH: case PD_OP_SILU: case PD_OP_RELU: case PD_OP_SIGMOID: {
        const pd_activation_desc *d = (const pd_activation_desc *)desc;
        return pd_cuda_activation_forward(d->kind, d->x, d->y, d->n);
    }
    case PD_OP_SOFTMAX: case PD_OP_LOG_SOFTMAX: {
        const pd_softmax_desc *d = (const pd_softmax_desc *)desc;
        return pd_cuda_softmax_forward(d->x, d->y, d->rows, d->cols, d->take_log);
    }
    default:
        return not_in_table(op);
    }
}

static pd_status cuda_backward(const pd_backend_ctx *ctx, pd_op op, const void *desc)
{
    (void)ctx;
    switch (op) {
    case PD_OP_GELU: case PD_OP_GELU_TANH: case PD_OP_SILU: case PD_OP_RELU: case PD_OP_SIGMOID: {
        const pd_activation_desc *d = (const pd_activation_desc *)desc;
        return pd_cuda_activation_backward(d->kind, d->x, d->y, d->gy, d->gx, d->n);
    }
    case PD_OP_SOFTMAX: case PD_OP_LOG_SOFTMAX: {
        const pd_softmax_desc *d = (const pd_softmax_desc *)desc;
        return pd_cuda_softmax_backward(d->y, d->gy, d->gx, d->rows, d->cols, d->take_log);
    }
    default:
        return not_in_table(op);
    }
}

/* ---- workspace ---- */

static pd_status work_create(void **out, size_t bytes)
{
    pd_cuda_arena *a = (pd_cuda_arena *)calloc(1, sizeof *a);
    if (!a) return pd_fail(PD_ERR_NOMEM, "cannot allocate the GPU workspace descriptor");
    pd_status st = pd_cuda_arena_create(a, bytes);
    if (st != PD_OK) {
        free(a);
        return st;
    }
    *out = a;
    return PD_OK;
}

static void work_destroy(void *w)
{
    pd_cuda_arena_destroy((pd_cuda_arena *)w);
    free(w);
}

static void *work_alloc(void *w, size_t bytes) { return pd_cuda_arena_alloc((pd_cuda_arena *)w, bytes); }
static size_t work_mark(const void *w) { return ((const pd_cuda_arena *)w)->used; }
static void work_rewind(void *w, size_t mark) { ((pd_cuda_arena *)w)->used = mark; }
static void work_reset(void *w) { pd_cuda_arena_reset((pd_cuda_arena *)w); }

/* ---- device ---- */

static pd_status start(int local_rank)
{
    char err[256];
    if (pd_cuda_init(local_rank, err, (int)sizeof err) != 0)
        return pd_fail(PD_ERR, "GPU set-up of node-local rank %d (run.device = \"cuda\"): %s", local_rank, err);
    return pd_cuda_managed_check();
}

static pd_status managed_alloc(void **out, size_t bytes) { return pd_cuda_managed_alloc(out, bytes); }

/* ---- optimizer ---- */

static pd_status adamw_step(const pd_adamw_scalars *k, pd_real *p, pd_real *m, pd_real *v, const pd_real *grad,
                            int64_t n, const int64_t (*segs)[2], int n_segs)
{
    return pd_cuda_adamw_step(k, p, m, v, grad, NULL, n, segs, n_segs);
}

/* Fixed-order tree in double on the GPU, partials in a small workspace of its own. */
static pd_status grad_sumsq(const pd_real *grad, int64_t n, double *host_sumsq)
{
    pd_cuda_arena work;
    pd_status st = pd_cuda_synchronize("gradients before their norm");
    if (st == PD_OK) st = pd_cuda_arena_create(&work, (size_t)64 << 10);
    if (st == PD_OK) {
        st = pd_cuda_grad_sumsq(&work, grad, n, host_sumsq);
        pd_cuda_arena_destroy(&work);
    }
    return st;
}

extern "C" const pd_backend pd_cuda_backend = {
    "cuda",
    PD_DEVICE_CUDA,
    cuda_supports,
    cuda_forward,
    cuda_backward,
    work_create,
    work_destroy,
    work_alloc,
    work_mark,
    work_rewind,
    work_reset,
    pd_cuda_device_count,
    start,
    managed_alloc,
    pd_cuda_managed_free,
    pd_cuda_memset_zero,
    pd_cuda_synchronize,
    pd_cuda_pointer_on_device,
    pd_cuda_compute_stream,
    adamw_step,
    grad_sumsq,
};
