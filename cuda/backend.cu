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

static pd_cuda_arena *work_of(const pd_backend_ctx *ctx) { return (pd_cuda_arena *)ctx->work; }

static pd_cuda_precision precision_of(const pd_backend_ctx *ctx)
{
    return ctx->precision == PD_GEMM_BF16 ? PD_CUDA_BF16 : PD_CUDA_FP32;
}

/* An index op's forward through its index plan (in the op's slot when a backward will run). */
static pd_status index_forward(const pd_backend_ctx *ctx, pd_op op, const pd_index_desc *d)
{
    pd_cuda_index_plan local;
    pd_cuda_index_plan *plan = d->plan ? d->plan : &local;
    pd_status st = pd_cuda_index_plan_create(work_of(ctx), d->idx, d->n_idx, d->n_dst, plan);
    if (st != PD_OK) return st;
    return op == PD_OP_SCATTER_ADD_ROWS ? pd_cuda_scatter_add_rows_forward(plan, d->x, d->y, d->D)
                                        : pd_cuda_gather_rows_forward(plan, d->x, d->y, d->D);
}

/* Concat's inputs (forward) or their gradients (backward, accumulate) as row copies. */
static pd_status concat_copies(const pd_concat_desc *d, int backward)
{
    pd_status st = PD_OK;
    int64_t start = 0;
    for (int k = 0; k < d->n && st == PD_OK; k++) {
        const int64_t dk = d->sizes[k], dst_stride = d->dim * d->inner, width = dk * d->inner;
        if (!backward)
            st = pd_cuda_copy_rows(d->xs[k], width, d->y + start * d->inner, dst_stride, d->outer, width, 0);
        else if (d->gxs[k])
            st = pd_cuda_copy_rows(d->gy + start * d->inner, dst_stride, d->gxs[k], width, d->outer, width, 1);
        start += dk;
    }
    return st;
}

static pd_status not_in_table(pd_op op)
{
    return pd_fail(PD_ERR_UNSUPPORTED, "op '%s' is not dispatched through the cuda backend's table",
                   pd_op_name(op) ? pd_op_name(op) : "?");
}

static pd_status forward_op(const pd_backend_ctx *ctx, pd_op op, const void *desc)
{
    switch (op) {
    case PD_OP_LINEAR: {
        const pd_linear_desc *d = (const pd_linear_desc *)desc;
        return pd_cuda_linear_forward(work_of(ctx), precision_of(ctx), d->x, d->w, NULL, d->b, d->y, d->rows, d->in,
                                      d->out);
    }
    case PD_OP_MATMUL: {
        const pd_matmul_desc *d = (const pd_matmul_desc *)desc;
        return pd_cuda_matmul_forward(work_of(ctx), precision_of(ctx), d->a, d->b, d->c, d->batch, d->m, d->n, d->k,
                                      d->trans_a, d->trans_b, d->b_shared);
    }
    case PD_OP_CONV2D_K2: case PD_OP_CONV3D_K2: case PD_OP_CONV_TRANSPOSE2D_K2: case PD_OP_CONV_TRANSPOSE3D_K2:
    case PD_OP_CONV_1X1: {
        const pd_conv_desc *d = (const pd_conv_desc *)desc;
        return pd_cuda_conv_forward(work_of(ctx), precision_of(ctx), &d->shape, d->x, d->w, d->bias, d->y);
    }
    case PD_OP_GROUPNORM: {
        const pd_norm_desc *d = (const pd_norm_desc *)desc;
        return pd_cuda_groupnorm_forward(d->x, d->gamma, d->beta, d->y, d->mean, d->rstd, d->N, d->C, d->S, d->groups,
                                         d->eps);
    }
    case PD_OP_BATCHNORM: {
        const pd_norm_desc *d = (const pd_norm_desc *)desc;
        return pd_cuda_batchnorm_forward(d->x, d->gamma, d->beta, d->running_mean, d->running_var, d->y, d->mean,
                                         d->rstd, d->N, d->C, d->S, d->momentum, d->eps, d->training);
    }
    case PD_OP_GATHER_ROWS: case PD_OP_EMBEDDING: case PD_OP_SCATTER_ADD_ROWS:
        return index_forward(ctx, op, (const pd_index_desc *)desc);
    case PD_OP_RESHAPE:
        return PD_OK; /* a view */
    case PD_OP_PERMUTE: {
        const pd_permute_desc *d = (const pd_permute_desc *)desc;
        return pd_cuda_permute_forward(d->x, d->y, d->ndim, d->x_shape, d->perm);
    }
    case PD_OP_CONCAT:
        return concat_copies((const pd_concat_desc *)desc, 0);
    case PD_OP_SLICE: {
        const pd_slice_desc *d = (const pd_slice_desc *)desc;
        return pd_cuda_copy_rows(d->x + d->start * d->inner, d->dim * d->inner, d->y, d->len * d->inner, d->outer,
                                 d->len * d->inner, 0);
    }
    case PD_OP_VQ_STRAIGHT_THROUGH: {
        const pd_vq_desc *d = (const pd_vq_desc *)desc;
        return pd_cuda_vq_nearest(work_of(ctx), d->embed, d->K, d->D, d->x, d->N, d->P, d->index, d->q);
    }
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
        pd_cuda_arena *work = work_of(ctx);
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
        return st;
    }
    case PD_OP_REPARAMETERIZE: {
        const pd_reparam_desc *d = (const pd_reparam_desc *)desc;
        return pd_cuda_reparam_forward(d->mu, d->logvar, d->eps, d->z, d->n);
    }
    case PD_OP_SUM: case PD_OP_MEAN: {
        const pd_sum_desc *d = (const pd_sum_desc *)desc;
        return pd_cuda_sum_forward(work_of(ctx), d->x, d->y, d->n, d->mean);
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
    case PD_OP_ROPE: {
        const pd_rope_desc *d = (const pd_rope_desc *)desc;
        const pd_cuda_rope_tables t = {(float *)d->cos_t, (float *)d->sin_t, d->rows, d->rope_dim / 2};
        return pd_cuda_rope_forward(&t, d->x, d->y, d->rows, d->n_heads, d->head_dim, d->rope_dim);
    }
    case PD_OP_ATTENTION: {
        const pd_attention_desc *d = (const pd_attention_desc *)desc;
        return pd_cuda_attention_forward(work_of(ctx), precision_of(ctx), d->q, d->k, d->v, d->key_valid, d->probs,
                                         d->o, d->B, d->Lq, d->Lk, d->n_heads, d->head_dim, d->scale);
    }
    default:
        return not_in_table(op);
    }
}

static pd_status backward_op(const pd_backend_ctx *ctx, pd_op op, const void *desc)
{
    switch (op) {
    case PD_OP_LINEAR: {
        const pd_linear_desc *d = (const pd_linear_desc *)desc;
        return pd_cuda_linear_backward(work_of(ctx), precision_of(ctx), d->x, d->w, d->gy, d->gx, d->gw, d->gb, d->rows,
                                       d->in, d->out);
    }
    case PD_OP_MATMUL: {
        const pd_matmul_desc *d = (const pd_matmul_desc *)desc;
        return pd_cuda_matmul_backward(work_of(ctx), precision_of(ctx), d->a, d->b, d->gc, d->ga, d->gb, d->batch, d->m,
                                       d->n, d->k, d->trans_a, d->trans_b, d->b_shared);
    }
    case PD_OP_CONV2D_K2: case PD_OP_CONV3D_K2: case PD_OP_CONV_TRANSPOSE2D_K2: case PD_OP_CONV_TRANSPOSE3D_K2:
    case PD_OP_CONV_1X1: {
        const pd_conv_desc *d = (const pd_conv_desc *)desc;
        return pd_cuda_conv_backward(work_of(ctx), precision_of(ctx), &d->shape, d->x, d->w, d->gy, d->gx, d->gw,
                                     d->gbias);
    }
    case PD_OP_GROUPNORM: {
        const pd_norm_desc *d = (const pd_norm_desc *)desc;
        return pd_cuda_groupnorm_backward(d->x, d->gamma, d->mean, d->rstd, d->gy, d->gx, d->ggamma, d->gbeta, d->N,
                                          d->C, d->S, d->groups);
    }
    case PD_OP_BATCHNORM: {
        const pd_norm_desc *d = (const pd_norm_desc *)desc;
        return pd_cuda_batchnorm_backward(d->x, d->gamma, d->mean, d->rstd, d->gy, d->gx, d->ggamma, d->gbeta, d->N,
                                          d->C, d->S, d->training);
    }
    case PD_OP_GATHER_ROWS: case PD_OP_EMBEDDING: case PD_OP_SCATTER_ADD_ROWS: {
        const pd_index_desc *d = (const pd_index_desc *)desc;
        if (!d->plan) return pd_fail(PD_ERR, "backward of %s without the forward's index plan", pd_op_name(op));
        return op == PD_OP_SCATTER_ADD_ROWS ? pd_cuda_scatter_add_rows_backward(d->plan, d->gy, d->gx, d->D)
                                            : pd_cuda_gather_rows_backward(d->plan, d->gy, d->gx, d->D);
    }
    case PD_OP_RESHAPE: {
        const pd_affine_desc *d = (const pd_affine_desc *)desc;
        return pd_cuda_affine_backward(d->gy, d->gx, d->n, d->alpha);
    }
    case PD_OP_PERMUTE: {
        const pd_permute_desc *d = (const pd_permute_desc *)desc;
        return pd_cuda_permute_backward(d->gy, d->gx, d->ndim, d->x_shape, d->perm);
    }
    case PD_OP_CONCAT:
        return concat_copies((const pd_concat_desc *)desc, 1);
    case PD_OP_SLICE: {
        const pd_slice_desc *d = (const pd_slice_desc *)desc;
        return pd_cuda_copy_rows(d->gy, d->len * d->inner, d->gx + d->start * d->inner, d->dim * d->inner, d->outer,
                                 d->len * d->inner, 1);
    }
    case PD_OP_VQ_STRAIGHT_THROUGH: { /* gx += 1·gq */
        const pd_vq_desc *d = (const pd_vq_desc *)desc;
        return pd_cuda_affine_backward(d->gq, d->gx, d->n, 1.0f);
    }
    case PD_OP_LAYERNORM: {
        const pd_layernorm_desc *d = (const pd_layernorm_desc *)desc;
        return pd_cuda_layernorm_backward(d->x, d->weight, d->mean, d->rstd, d->gy, d->gx, d->gweight, d->gbias,
                                          d->rows, d->D);
    }
    case PD_OP_UPSAMPLE_BILINEAR: {
        const pd_upsample_desc *d = (const pd_upsample_desc *)desc;
        return pd_cuda_upsample_bilinear_backward(work_of(ctx), d->gy, d->gx, d->planes, d->H, d->W, d->Ho, d->Wo,
                                                  d->ratio_h, d->ratio_w);
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
    case PD_OP_ROPE: {
        const pd_rope_desc *d = (const pd_rope_desc *)desc;
        const pd_cuda_rope_tables t = {(float *)d->cos_t, (float *)d->sin_t, d->rows, d->rope_dim / 2};
        return pd_cuda_rope_backward(&t, d->gy, d->gx, d->rows, d->n_heads, d->head_dim, d->rope_dim);
    }
    case PD_OP_ATTENTION: {
        const pd_attention_desc *d = (const pd_attention_desc *)desc;
        return pd_cuda_attention_backward(work_of(ctx), precision_of(ctx), d->q, d->k, d->v, d->probs, d->go, d->gq,
                                          d->gk, d->gv, d->B, d->Lq, d->Lk, d->n_heads, d->head_dim, d->scale);
    }
    default:
        return not_in_table(op);
    }
}

/* What an op's kernels take from the workspace is temporary (queued kernels run in stream
 * order, so it is rewound once they are queued), except the index plan a forward keeps in its
 * op's slot for the backward (there until the step's reset). */
static int keeps_workspace(pd_op op, const void *desc)
{
    return (op == PD_OP_GATHER_ROWS || op == PD_OP_EMBEDDING || op == PD_OP_SCATTER_ADD_ROWS) &&
           ((const pd_index_desc *)desc)->plan != NULL;
}

static pd_status cuda_forward(const pd_backend_ctx *ctx, pd_op op, const void *desc)
{
    const size_t mark = work_mark(ctx->work);
    pd_status st = forward_op(ctx, op, desc);
    if (!keeps_workspace(op, desc)) work_rewind(ctx->work, mark);
    return st;
}

static pd_status cuda_backward(const pd_backend_ctx *ctx, pd_op op, const void *desc)
{
    const size_t mark = work_mark(ctx->work);
    pd_status st = backward_op(ctx, op, desc);
    work_rewind(ctx->work, mark);
    return st;
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
