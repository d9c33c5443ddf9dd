/* conv_ops.c — the tape ops of conv.h: shape checks against PyTorch's layouts, the kernel
 * call, and a backward that calls the matching gradient kernel (cuda/ops_conv.cu's on a GPU
 * graph: im2col/col2im + cuBLAS in the CPU's layout, at run.precision). */
#include "nn/conv.h"

#include "nn/conv_kernels.h"
#include "nn/ops_device.h"
#include "nn/ops_internal.h"

typedef struct conv_saved { pd_conv_shape shape; } conv_saved;

/* The im2col columns of one kernel call, from the graph's arena (rewound after the call).
 * A malloc per call went back to the OS on free, so every convolution faulted its pages in
 * again: 8 % of a side-chain VAE step (perf, tools/bench/bench-sc-vae). */
static pd_real *conv_work(pd_graph *g, const pd_conv_shape *shape, pd_arena_mark *mark)
{
    *mark = pd_arena_mark_here(pd_graph_arena(g));
    return pd_arena_alloc(pd_graph_arena(g), (size_t)pd_conv_work_numel(shape) * sizeof(pd_real));
}

static void conv_backward(pd_graph *g, pd_node *n)
{
    const conv_saved *s = n->saved;
    pd_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2];
    pd_real *gx = pd_grad(g, x), *gw = pd_grad(g, w), *gb = pd_grad(g, b);
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        pd_cuda_arena *work = pd_graph_cuda_work(g);
        if (!work) return;
        size_t mark = work->used;
        pd_graph_cuda_backward_done(g, pd_cuda_conv_backward(work, pd_graph_cuda_precision(g), &s->shape, x->data,
                                                             w->data, n->out->grad, gx, gw, gb), n->op);
        work->used = mark;
        return;
    }
#endif
    pd_arena_mark mark;
    pd_real *work = conv_work(g, &s->shape, &mark);
    if (!work) {
        pd_graph_set_status(g, PD_ERR_NOMEM);
        return;
    }
    pd_status st = s->shape.transposed
                       ? pd_conv_transpose_backward(&s->shape, x->data, w->data, n->out->grad, gx, gw, gb, work)
                       : pd_conv_backward(&s->shape, x->data, w->data, n->out->grad, gx, gw, gb, work);
    pd_arena_rewind(pd_graph_arena(g), mark);
    if (st != PD_OK) pd_graph_set_status(g, st);
}

/* Run the forward for `shape`, record the node; returns y or NULL. */
static pd_tensor *conv_run(pd_graph *g, const char *op, const pd_conv_shape *shape, pd_tensor *x, pd_tensor *w,
                           pd_tensor *b)
{
    if (b && (b->numel != shape->out_channels))
        return pd_graph_fail(g, "%s: bias %s must have %lld elements (one per output channel)", op,
                             pd_shape_of(b).s, (long long)shape->out_channels);
    int64_t out_shape[5] = {shape->batch, shape->out_channels};
    const int sd = x->ndim - 2;
    for (int d = 0; d < sd; d++) out_shape[2 + d] = shape->out_size[3 - sd + d];
    pd_tensor *y = pd_tensor_new(g, x->ndim, out_shape);
    if (!y) return NULL;
    int on_gpu = 0;
#if PD_NN_CUDA
    on_gpu = pd_graph_on_cuda(g);
    if (on_gpu) {
        pd_cuda_arena *work = pd_graph_cuda_work(g);
        if (!work) return NULL;
        size_t mark = work->used;
        pd_status launched = pd_cuda_conv_forward(work, pd_graph_cuda_precision(g), shape, x->data, w->data,
                                                  b ? b->data : NULL, y->data);
        work->used = mark;
        if (!pd_graph_cuda_forward_done(g, launched, op)) return NULL;
    }
#endif
    if (!on_gpu) {
        pd_arena_mark mark;
        pd_real *work = conv_work(g, shape, &mark);
        if (!work) return pd_graph_fail(g, "%s: no memory for the im2col columns", op);
        pd_status st = shape->transposed
                           ? pd_conv_transpose_forward(shape, x->data, w->data, b ? b->data : NULL, y->data, work)
                           : pd_conv_forward(shape, x->data, w->data, b ? b->data : NULL, y->data, work);
        pd_arena_rewind(pd_graph_arena(g), mark);
        if (st != PD_OK) {
            pd_error_context("%s", op);
            pd_graph_set_status(g, st);
            return NULL;
        }
    }
    pd_node *n = pd_record(g, op, conv_backward, y, 3, (pd_tensor *[]){x, w, b});
#if PD_NN_CUDA
    if (on_gpu) pd_node_on_device(n);
#endif
    if (n) {
        conv_saved *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        s->shape = *shape;
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
    const char *op = x->ndim == 4 ? "conv2d k2" : "conv3d k2";
    if (x->ndim != 4 && x->ndim != 5)
        return pd_graph_fail(g, "conv k2: input %s must be [N, C, H, W] or [N, C, D, H, W]", pd_shape_of(x).s);
    if (!weight_matches(x, w, w->shape[0], x->shape[1], 2))
        return pd_graph_fail(g, "%s: weight %s must be [Cout, %lld%s] for input %s", op, pd_shape_of(w).s,
                             (long long)x->shape[1], x->ndim == 4 ? ", 2, 2" : ", 2, 2, 2", pd_shape_of(x).s);
    pd_conv_shape shape;
    if (pd_conv_shape_k2(&shape, x->ndim - 2, x->shape[0], x->shape[1], w->shape[0], x->shape + 2, stride) != PD_OK)
        return pd_graph_fail(g, "%s on %s: %s", op, pd_shape_of(x).s, pd_last_error());
    return conv_run(g, op, &shape, x, w, b);
}

pd_tensor *pd_conv_transpose_k2(pd_graph *g, pd_tensor *x, pd_tensor *w, pd_tensor *b)
{
    if (!pd_graph_ok(g, x) || !pd_graph_ok(g, w)) return NULL;
    const char *op = x->ndim == 4 ? "conv_transpose2d k2" : "conv_transpose3d k2";
    if (x->ndim != 4 && x->ndim != 5)
        return pd_graph_fail(g, "conv transpose k2: input %s must be [N, C, H, W] or [N, C, D, H, W]",
                             pd_shape_of(x).s);
    if (!weight_matches(x, w, x->shape[1], w->shape[1], 2))
        return pd_graph_fail(g, "%s: weight %s must be [%lld, Cout%s] for input %s", op, pd_shape_of(w).s,
                             (long long)x->shape[1], x->ndim == 4 ? ", 2, 2" : ", 2, 2, 2", pd_shape_of(x).s);
    pd_conv_shape shape;
    if (pd_conv_transpose_shape_k2(&shape, x->ndim - 2, x->shape[0], x->shape[1], w->shape[1], x->shape + 2) != PD_OK)
        return pd_graph_fail(g, "%s on %s: %s", op, pd_shape_of(x).s, pd_last_error());
    return conv_run(g, op, &shape, x, w, b);
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
    return conv_run(g, "conv 1x1", &shape, x, w, b);
}
