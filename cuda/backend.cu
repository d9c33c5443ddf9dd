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

static size_t work_mark(const void *w);
static void work_rewind(void *w, size_t mark);

static pd_status not_in_table(pd_op op)
{
    return pd_fail(PD_ERR_UNSUPPORTED, "op '%s' is not dispatched through the cuda backend's table",
                   pd_op_name(op) ? pd_op_name(op) : "?");
}

static pd_status cuda_forward(const pd_backend_ctx *ctx, pd_op op, const void *desc)
{
    switch (op) {
    case PD_OP_LAYERNORM: {
        const pd_layernorm_desc *d = (const pd_layernorm_desc *)desc;
        return pd_cuda_layernorm_forward(d->x, d->weight, d->bias, d->y, d->mean, d->rstd, d->rows, d->D,
                                         (float)d->eps);
    }
    case PD_OP_UPSAMPLE_BILINEAR: {
        const pd_upsample_desc *d = (const pd_upsample_desc *)desc;
        return pd_cuda_upsample_bilinear_forward(d->x, d->y, d->planes, d->H, d->W, d->Ho, d->Wo, d->ratio_h,
                                                 d->ratio_w);
    }
    case PD_OP_MSE: case PD_OP_KL_NORMAL: case PD_OP_CROSS_ENTROPY: {
        pd_cuda_arena *work = (pd_cuda_arena *)ctx->work;
        const size_t mark = work_mark(work); /* the sum's partials are temporary */
        pd_status st;
        if (op == PD_OP_CROSS_ENTROPY) {
            const pd_cross_entropy_desc *d = (const pd_cross_entropy_desc *)desc;
            st = pd_cuda_cross_entropy_forward(work, d->x, d->target, d->ignore_index, d->lse, d->y, d->rows, d->C,
                                               d->norm);
        } else {
            const pd_row_loss_desc *d = (const pd_row_loss_desc *)desc;
            st = op == PD_OP_MSE ? pd_cuda_mse_forward(work, d->a, d->b, d->row_valid, d->y, d->rows, d->D, d->norm)
                                 : pd_cuda_kl_normal_forward(work, d->a, d->b, d->row_valid, d->y, d->rows, d->D,
                                                             d->norm);
        }
        work_rewind(work, mark);
        return st;
    }
    case PD_OP_REPARAMETERIZE: {
        const pd_reparam_desc *d = (const pd_reparam_desc *)desc;
        return pd_cuda_reparam_forward(d->mu, d->logvar, d->eps, d->z, d->n);
    }
    case PD_OP_SUM: case PD_OP_MEAN: {
        const pd_sum_desc *d = (const pd_sum_desc *)desc;
        const size_t mark = work_mark(ctx->work); /* the tree's partials are temporary */
        pd_status st = pd_cuda_sum_forward((pd_cuda_arena *)ctx->work, d->x, d->y, d->n, d->mean);
        work_rewind(ctx->work, mark);
        return st;
    }
    case PD_OP_SUM_AXIS: case PD_OP_MEAN_AXIS: {
        const pd_sum_axis_desc *d = (const pd_sum_axis_desc *)desc;
        return pd_cuda_sum_axis_forward(d->x, d->y, d->outer, d->dim, d->inner, d->factor);
    }
    case PD_OP_ADD: case PD_OP_SUB: case PD_OP_MUL: {
        const pd_binary_desc *d = (const pd_binary_desc *)desc;
        return pd_cuda_binary_forward(d->kind, &d->L, d->a, d->b, d->y, d->a_numel, d->b_numel);
    }
    case PD_OP_SCALE: case PD_OP_ADD_SCALAR: {
        const pd_affine_desc *d = (const pd_affine_desc *)desc;
        return pd_cuda_affine_forward(d->x, d->y, d->n, d->alpha, d->c);
    }
    case PD_OP_MODULATE: {
        const pd_modulate_desc *d = (const pd_modulate_desc *)desc;
        return pd_cuda_modulate_forward(d->x, d->shift, d->scale, d->y, d->rows, d->D, d->rows_per_cond);
    }
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
    switch (op) {
    case PD_OP_LAYERNORM: {
        const pd_layernorm_desc *d = (const pd_layernorm_desc *)desc;
        return pd_cuda_layernorm_backward(d->x, d->weight, d->mean, d->rstd, d->gy, d->gx, d->gweight, d->gbias,
                                          d->rows, d->D);
    }
    case PD_OP_UPSAMPLE_BILINEAR: {
        const pd_upsample_desc *d = (const pd_upsample_desc *)desc;
        pd_cuda_arena *work = (pd_cuda_arena *)ctx->work;
        const size_t mark = work_mark(work);
        pd_status st = pd_cuda_upsample_bilinear_backward(work, d->gy, d->gx, d->planes, d->H, d->W, d->Ho, d->Wo,
                                                          d->ratio_h, d->ratio_w);
        work_rewind(work, mark);
        return st;
    }
    case PD_OP_MSE: {
        const pd_row_loss_desc *d = (const pd_row_loss_desc *)desc;
        return pd_cuda_mse_backward(d->a, d->b, d->row_valid, d->gy, d->ga, d->gb, d->rows, d->D, d->norm);
    }
    case PD_OP_KL_NORMAL: {
        const pd_row_loss_desc *d = (const pd_row_loss_desc *)desc;
        return pd_cuda_kl_normal_backward(d->a, d->b, d->row_valid, d->gy, d->ga, d->gb, d->rows, d->D, d->norm);
    }
    case PD_OP_CROSS_ENTROPY: {
        const pd_cross_entropy_desc *d = (const pd_cross_entropy_desc *)desc;
        return pd_cuda_cross_entropy_backward(d->x, d->target, d->ignore_index, d->lse, d->gy, d->gx, d->rows, d->C,
                                              d->norm);
    }
    case PD_OP_REPARAMETERIZE: {
        const pd_reparam_desc *d = (const pd_reparam_desc *)desc;
        return pd_cuda_reparam_backward(d->logvar, d->eps, d->gz, d->gmu, d->glogvar, d->geps, d->n);
    }
    case PD_OP_SUM: case PD_OP_MEAN: {
        const pd_sum_desc *d = (const pd_sum_desc *)desc;
        return pd_cuda_sum_backward(d->gy, d->gx, d->n, d->factor);
    }
    case PD_OP_SUM_AXIS: case PD_OP_MEAN_AXIS: {
        const pd_sum_axis_desc *d = (const pd_sum_axis_desc *)desc;
        return pd_cuda_sum_axis_backward(d->gy, d->gx, d->outer, d->dim, d->inner, d->factor);
    }
    case PD_OP_ADD: case PD_OP_SUB: case PD_OP_MUL: {
        const pd_binary_desc *d = (const pd_binary_desc *)desc;
        return pd_cuda_binary_backward(d->kind, &d->L, d->a, d->b, d->gy, d->ga, d->gb, d->a_numel, d->b_numel);
    }
    case PD_OP_SCALE: case PD_OP_ADD_SCALAR: {
        const pd_affine_desc *d = (const pd_affine_desc *)desc;
        return pd_cuda_affine_backward(d->gy, d->gx, d->n, d->alpha);
    }
    case PD_OP_MODULATE: {
        const pd_modulate_desc *d = (const pd_modulate_desc *)desc;
        return pd_cuda_modulate_backward(d->x, d->scale, d->gy, d->gx, d->gshift, d->gscale, d->rows, d->D,
                                         d->rows_per_cond);
    }
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
