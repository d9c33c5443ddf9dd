/* ops_reduce.c — sum and mean over all elements or over one axis. Full reductions accumulate
 * in double in a fixed order (deterministic for any thread count). On a GPU graph
 * cuda/ops_rows.cu's fixed-order reductions run instead. */
#include "nn/ops.h"

#include <string.h>

#include "nn/ops_device.h"
#include "nn/ops_internal.h"

typedef struct reduce_saved { pd_real factor; int64_t outer, dim, inner; } reduce_saved;

static void reduce_all_backward(pd_graph *g, pd_node *n)
{
    const reduce_saved *s = n->saved;
    pd_real *gx = pd_grad(g, n->in[0]);
    if (!gx) return;
    int64_t N = n->in[0]->numel;
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        pd_graph_cuda_backward_done(g, pd_cuda_sum_backward(n->out->grad, gx, N, s->factor), n->op);
        return;
    }
#endif
    pd_real d = n->out->grad[0] * s->factor;
#pragma omp parallel for schedule(static) if (N > PD_OMP_MIN_WORK)
    for (int64_t i = 0; i < N; i++) gx[i] += d;
}

static pd_tensor *reduce_all(pd_graph *g, pd_tensor *x, int mean)
{
    if (!pd_graph_ok(g, x)) return NULL;
    pd_tensor *y = pd_tensor_new1(g, 1);
    if (!y) return NULL;
    pd_real factor = mean ? (pd_real)(1.0 / (double)(x->numel ? x->numel : 1)) : 1;
    int on_gpu = 0;
#if PD_NN_CUDA
    on_gpu = pd_graph_on_cuda(g);
    if (on_gpu) {
        pd_cuda_arena *work = pd_graph_cuda_work(g);
        if (!work) return NULL;
        size_t mark = work->used;
        pd_status st = pd_cuda_sum_forward(work, x->data, y->data, x->numel, mean);
        work->used = mark;
        if (!pd_graph_cuda_forward_done(g, st, mean ? "mean" : "sum")) return NULL;
    }
#endif
    if (!on_gpu) {
        double s = 0;
        for (int64_t i = 0; i < x->numel; i++) s += x->data[i];
        y->data[0] = (pd_real)(mean ? s / (double)(x->numel ? x->numel : 1) : s);
    }
    pd_node *n = pd_record(g, mean ? "mean" : "sum", reduce_all_backward, y, 1, (pd_tensor *[]){x});
#if PD_NN_CUDA
    if (on_gpu) pd_node_on_device(n);
#endif
    if (n) {
        reduce_saved *rs = pd_node_save(g, n, sizeof *rs);
        if (!rs) return NULL;
        rs->factor = factor;
    }
    return y;
}

pd_tensor *pd_sum(pd_graph *g, pd_tensor *x) { return reduce_all(g, x, 0); }
pd_tensor *pd_mean(pd_graph *g, pd_tensor *x) { return reduce_all(g, x, 1); }

static void reduce_axis_backward(pd_graph *g, pd_node *n)
{
    const reduce_saved *s = n->saved;
    pd_real *gx = pd_grad(g, n->in[0]);
    if (!gx) return;
    const pd_real *gy = n->out->grad;
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        pd_graph_cuda_backward_done(g, pd_cuda_sum_axis_backward(gy, gx, s->outer, s->dim, s->inner, s->factor), n->op);
        return;
    }
#endif
#pragma omp parallel for schedule(static) if (n->in[0]->numel > PD_OMP_MIN_WORK)
    for (int64_t o = 0; o < s->outer; o++)
        for (int64_t d = 0; d < s->dim; d++)
            for (int64_t i = 0; i < s->inner; i++)
                gx[(o * s->dim + d) * s->inner + i] += gy[o * s->inner + i] * s->factor;
}

static pd_tensor *reduce_axis(pd_graph *g, pd_tensor *x, int axis, int mean)
{
    if (!pd_graph_ok(g, x)) return NULL;
    int ax = pd_axis(x, axis);
    if (ax < 0) return pd_graph_fail(g, "%s: axis %d out of range for %s", mean ? "mean_axis" : "sum_axis", axis, pd_shape_of(x).s);
    int64_t outer, dim, inner;
    pd_split_dims(x, ax, &outer, &dim, &inner);
    int64_t shape[PD_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < x->ndim; i++)
        if (i != ax) shape[nd++] = x->shape[i];
    if (nd == 0) shape[nd++] = 1;
    pd_tensor *y = pd_tensor_new(g, nd, shape);
    if (!y) return NULL;
    pd_real factor = mean ? (pd_real)(1.0 / (double)(dim ? dim : 1)) : 1;
    int on_gpu = 0;
#if PD_NN_CUDA
    on_gpu = pd_graph_on_cuda(g);
    if (on_gpu && !pd_graph_cuda_forward_done(g, pd_cuda_sum_axis_forward(x->data, y->data, outer, dim, inner, factor),
                                              mean ? "mean_axis" : "sum_axis"))
        return NULL;
#endif
    if (!on_gpu) {
#pragma omp parallel for schedule(static) if (x->numel > PD_OMP_MIN_WORK)
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++) {
                pd_real s = 0;
                for (int64_t d = 0; d < dim; d++) s += x->data[(o * dim + d) * inner + i];
                y->data[o * inner + i] = s * factor;
            }
    }
    pd_node *n = pd_record(g, mean ? "mean_axis" : "sum_axis", reduce_axis_backward, y, 1, (pd_tensor *[]){x});
#if PD_NN_CUDA
    if (on_gpu) pd_node_on_device(n);
#endif
    if (n) {
        reduce_saved *rs = pd_node_save(g, n, sizeof *rs);
        if (!rs) return NULL;
        *rs = (reduce_saved){factor, outer, dim, inner};
    }
    return y;
}

pd_tensor *pd_sum_axis(pd_graph *g, pd_tensor *x, int axis) { return reduce_axis(g, x, axis, 0); }
pd_tensor *pd_mean_axis(pd_graph *g, pd_tensor *x, int axis) { return reduce_axis(g, x, axis, 1); }
