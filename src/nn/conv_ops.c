/* conv_ops.c — the tape ops of conv.h: shape checks against PyTorch's layouts, the output and
 * one node per call, and their CPU kernels (im2col + GEMM, conv_kernels.h) registered in
 * backend_cpu.c's table; on a device graph the backend's kernels run (op_run.h). */
#include "nn/conv.h"

#include "nn/arena.h"
#include "nn/backend_cpu.h"
#include "nn/conv_kernels.h"
#include "nn/kernel_desc.h"
#include "nn/op_run.h"
#include "nn/ops_internal.h"

/* ---- CPU kernels ---- */

/* The im2col columns of one kernel call come from the graph's arena (rewound after the call).
 * A malloc per call went back to the OS on free, so every convolution faulted its pages in
 * again: 8 % of a side-chain VAE step (perf, tools/bench/bench-sc-vae). */
static pd_status conv_run_cpu(const pd_conv_desc *d, int backward)
{
    pd_arena *arena = d->host_scratch;
    const pd_arena_mark mark = pd_arena_mark_here(arena);
    pd_real *work = pd_arena_alloc(arena, (size_t)pd_conv_work_numel(&d->shape) * sizeof(pd_real));
    if (!work) return pd_fail(PD_ERR_NOMEM, "no memory for the im2col columns");
    const pd_conv_shape *s = &d->shape;
    pd_status st;
    if (backward)
        st = s->transposed ? pd_conv_transpose_backward(s, d->x, d->w, d->gy, d->gx, d->gw, d->gbias, work)
                           : pd_conv_backward(s, d->x, d->w, d->gy, d->gx, d->gw, d->gbias, work);
    else
        st = s->transposed ? pd_conv_transpose_forward(s, d->x, d->w, d->bias, d->y, work)
                           : pd_conv_forward(s, d->x, d->w, d->bias, d->y, work);
    pd_arena_rewind(arena, mark);
    return st;
}

pd_status pd_cpu_conv_forward(const void *desc) { return conv_run_cpu(desc, 0); }
pd_status pd_cpu_conv_backward(const void *desc) { return conv_run_cpu(desc, 1); }

/* ---- ops ---- */

static void conv_backward(pd_graph *g, pd_node *n)
{
    pd_conv_desc d = *(const pd_conv_desc *)n->saved;
    d.gy = n->out->grad;
    d.gx = pd_grad(g, n->in[0]);
    d.gw = pd_grad(g, n->in[1]);
    d.gbias = pd_grad(g, n->in[2]);
    pd_op_backward(g, n, &d);
}

/* Run the forward for `shape`, record the node; returns y or NULL. */
static pd_tensor *conv_run(pd_graph *g, pd_op op, const pd_conv_shape *shape, pd_tensor *x, pd_tensor *w,
                           pd_tensor *b)
{
    if (b && (b->numel != shape->out_channels))
        return pd_graph_fail(g, "%s: bias %s must have %lld elements (one per output channel)", pd_op_name(op),
                             pd_shape_of(b).s, (long long)shape->out_channels);
    int64_t out_shape[5] = {shape->batch, shape->out_channels};
    const int sd = x->ndim - 2;
    for (int d = 0; d < sd; d++) out_shape[2 + d] = shape->out_size[3 - sd + d];
    pd_tensor *y = pd_tensor_new(g, x->ndim, out_shape);
    if (!y) return NULL;
    pd_conv_desc d = {.shape = *shape, .host_scratch = pd_graph_arena(g), .x = x->data, .w = w->data,
                      .bias = b ? b->data : NULL, .y = y->data};
    if (!pd_op_forward(g, op, &d)) return NULL;
    pd_node *n = pd_record_op(g, op, conv_backward, y, 3, (pd_tensor *[]){x, w, b});
    if (n) {
        pd_conv_desc *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        *s = d;
    }
    return y;
}

/* The weight must be [a, b, k, k(, k)] with as many k dims as x has spatial dims. */
static int weight_matches(const pd_tensor *x, const pd_tensor *w, int64_t a, int64_t b, int64_t k)
{
    if (w->ndim != x->ndim || w->shape[0] != a || w->shape[1] != b) return 0;
    for (int d = 2; d < w->ndim; d++)
        if (w->shape[d] != k) return 0;
    return 1;
}

pd_tensor *pd_conv_k2(pd_graph *g, pd_tensor *x, pd_tensor *w, pd_tensor *b, int stride)
{
    if (!pd_graph_ok(g, x) || !pd_graph_ok(g, w)) return NULL;
    const pd_op id = x->ndim == 4 ? PD_OP_CONV2D_K2 : PD_OP_CONV3D_K2;
    const char *op = pd_op_name(id);
    if (x->ndim != 4 && x->ndim != 5)
        return pd_graph_fail(g, "conv k2: input %s must be [N, C, H, W] or [N, C, D, H, W]", pd_shape_of(x).s);
    if (!weight_matches(x, w, w->shape[0], x->shape[1], 2))
        return pd_graph_fail(g, "%s: weight %s must be [Cout, %lld%s] for input %s", op, pd_shape_of(w).s,
                             (long long)x->shape[1], x->ndim == 4 ? ", 2, 2" : ", 2, 2, 2", pd_shape_of(x).s);
    pd_conv_shape shape;
    if (pd_conv_shape_k2(&shape, x->ndim - 2, x->shape[0], x->shape[1], w->shape[0], x->shape + 2, stride) != PD_OK)
        return pd_graph_fail(g, "%s on %s: %s", op, pd_shape_of(x).s, pd_last_error());
    return conv_run(g, id, &shape, x, w, b);
}

pd_tensor *pd_conv_transpose_k2(pd_graph *g, pd_tensor *x, pd_tensor *w, pd_tensor *b)
{
    if (!pd_graph_ok(g, x) || !pd_graph_ok(g, w)) return NULL;
    const pd_op id = x->ndim == 4 ? PD_OP_CONV_TRANSPOSE2D_K2 : PD_OP_CONV_TRANSPOSE3D_K2;
    const char *op = pd_op_name(id);
    if (x->ndim != 4 && x->ndim != 5)
        return pd_graph_fail(g, "conv transpose k2: input %s must be [N, C, H, W] or [N, C, D, H, W]",
                             pd_shape_of(x).s);
    if (!weight_matches(x, w, x->shape[1], w->shape[1], 2))
        return pd_graph_fail(g, "%s: weight %s must be [%lld, Cout%s] for input %s", op, pd_shape_of(w).s,
                             (long long)x->shape[1], x->ndim == 4 ? ", 2, 2" : ", 2, 2, 2", pd_shape_of(x).s);
    pd_conv_shape shape;
    if (pd_conv_transpose_shape_k2(&shape, x->ndim - 2, x->shape[0], x->shape[1], w->shape[1], x->shape + 2) != PD_OK)
        return pd_graph_fail(g, "%s on %s: %s", op, pd_shape_of(x).s, pd_last_error());
    return conv_run(g, id, &shape, x, w, b);
}

pd_tensor *pd_conv_pointwise(pd_graph *g, pd_tensor *x, pd_tensor *w, pd_tensor *b)
{
    if (!pd_graph_ok(g, x) || !pd_graph_ok(g, w)) return NULL;
    if (x->ndim < 3 || x->ndim > 5)
        return pd_graph_fail(g, "conv 1x1: input %s must be [N, C, spatial...] with 1 to 3 spatial dims",
                             pd_shape_of(x).s);
    int ok = w->ndim >= 2 && w->shape[1] == x->shape[1] && w->numel == w->shape[0] * x->shape[1];
    if (!ok || (w->ndim > 2 && !weight_matches(x, w, w->shape[0], x->shape[1], 1)))
        return pd_graph_fail(g, "conv 1x1: weight %s must be [Cout, %lld] or [Cout, %lld, 1, ...] for input %s",
                             pd_shape_of(w).s, (long long)x->shape[1], (long long)x->shape[1], pd_shape_of(x).s);
    /* 1 or 2 spatial dims run as 2-D (a 1-D signal is a 1×L image), 3 as 3-D. */
    int64_t size[3] = {1, 1, 1};
    const int sd = x->ndim - 2, dims = sd == 3 ? 3 : 2;
    for (int d = 0; d < sd; d++) size[dims - sd + d] = x->shape[2 + d];
    pd_conv_shape shape;
    if (pd_conv_shape_pointwise(&shape, dims, x->shape[0], x->shape[1], w->shape[0], size) != PD_OK)
        return pd_graph_fail(g, "conv 1x1 on %s: %s", pd_shape_of(x).s, pd_last_error());
    return conv_run(g, PD_OP_CONV_1X1, &shape, x, w, b);
}
