/* ops_reduce.c — sum and mean over all elements or over one axis: the op functions and their
 * CPU kernels (backend_cpu.c's table). Full reductions accumulate in double in a fixed order
 * (deterministic for any thread count). On a device graph the backend's fixed-order
 * reductions run instead (op_run.h). */
#include "nn/ops.h"

#include <string.h>

#include "nn/backend_cpu.h"
#include "nn/kernel_desc.h"
#include "nn/op_run.h"
#include "nn/ops_internal.h"

/* ---- CPU kernels ---- */

pd_status pd_cpu_sum_forward(const void *desc)
{
    const pd_sum_desc *d = desc;
    double s = 0;
    for (int64_t i = 0; i < d->n; i++) s += d->x[i];
    d->y[0] = (pd_real)(d->mean ? s / (double)(d->n ? d->n : 1) : s);
    return PD_OK;
}

pd_status pd_cpu_sum_backward(const void *desc)
{
    const pd_sum_desc *d = desc;
    const int64_t N = d->n;
    pd_real *gx = d->gx;
    pd_real v = d->gy[0] * d->factor;
#pragma omp parallel for schedule(static) if (N > PD_OMP_MIN_WORK)
    for (int64_t i = 0; i < N; i++) gx[i] += v;
    return PD_OK;
}

pd_status pd_cpu_sum_axis_forward(const void *desc)
{
    const pd_sum_axis_desc *d = desc;
    const int64_t outer = d->outer, dim = d->dim, inner = d->inner;
#pragma omp parallel for schedule(static) if (outer * dim * inner > PD_OMP_MIN_WORK)
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            pd_real s = 0;
            for (int64_t k = 0; k < dim; k++) s += d->x[(o * dim + k) * inner + i];
            d->y[o * inner + i] = s * d->factor;
        }
    return PD_OK;
}

pd_status pd_cpu_sum_axis_backward(const void *desc)
{
    const pd_sum_axis_desc *d = desc;
    const int64_t outer = d->outer, dim = d->dim, inner = d->inner;
    pd_real *gx = d->gx;
#pragma omp parallel for schedule(static) if (outer * dim * inner > PD_OMP_MIN_WORK)
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < dim; k++)
            for (int64_t i = 0; i < inner; i++) gx[(o * dim + k) * inner + i] += d->gy[o * inner + i] * d->factor;
    return PD_OK;
}

/* ---- ops ---- */

typedef struct reduce_saved { pd_real factor; int64_t outer, dim, inner; } reduce_saved;

static void reduce_all_backward(pd_graph *g, pd_node *n)
{
    const reduce_saved *s = n->saved;
    pd_real *gx = pd_grad(g, n->in[0]);
    if (!gx) return;
    pd_sum_desc d = {.mean = n->op_id == PD_OP_MEAN, .n = n->in[0]->numel, .factor = s->factor, .gy = n->out->grad,
                     .gx = gx};
    pd_op_backward(g, n, &d);
}

static pd_tensor *reduce_all(pd_graph *g, pd_tensor *x, int mean)
{
    if (!pd_graph_ok(g, x)) return NULL;
    pd_tensor *y = pd_tensor_new1(g, 1);
    if (!y) return NULL;
    const pd_op op = mean ? PD_OP_MEAN : PD_OP_SUM;
    pd_sum_desc d = {.mean = mean, .n = x->numel, .factor = mean ? (pd_real)(1.0 / (double)(x->numel ? x->numel : 1)) : 1,
                     .x = x->data, .y = y->data};
    if (!pd_op_forward(g, op, &d)) return NULL;
    pd_node *n = pd_record_op(g, op, reduce_all_backward, y, 1, (pd_tensor *[]){x});
    if (n) {
        reduce_saved *rs = pd_node_save(g, n, sizeof *rs);
        if (!rs) return NULL;
        rs->factor = d.factor;
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
    pd_sum_axis_desc d = {.outer = s->outer, .dim = s->dim, .inner = s->inner, .factor = s->factor,
                          .gy = n->out->grad, .gx = gx};
    pd_op_backward(g, n, &d);
}

static pd_tensor *reduce_axis(pd_graph *g, pd_tensor *x, int axis, int mean)
{
    if (!pd_graph_ok(g, x)) return NULL;
    const pd_op op = mean ? PD_OP_MEAN_AXIS : PD_OP_SUM_AXIS;
    int ax = pd_axis(x, axis);
    if (ax < 0) return pd_graph_fail(g, "%s: axis %d out of range for %s", pd_op_name(op), axis, pd_shape_of(x).s);
    int64_t outer, dim, inner;
    pd_split_dims(x, ax, &outer, &dim, &inner);
    int64_t shape[PD_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < x->ndim; i++)
        if (i != ax) shape[nd++] = x->shape[i];
    if (nd == 0) shape[nd++] = 1;
    pd_tensor *y = pd_tensor_new(g, nd, shape);
    if (!y) return NULL;
    pd_sum_axis_desc d = {.outer = outer, .dim = dim, .inner = inner,
                          .factor = mean ? (pd_real)(1.0 / (double)(dim ? dim : 1)) : 1, .x = x->data, .y = y->data};
    if (!pd_op_forward(g, op, &d)) return NULL;
    pd_node *n = pd_record_op(g, op, reduce_axis_backward, y, 1, (pd_tensor *[]){x});
    if (n) {
        reduce_saved *rs = pd_node_save(g, n, sizeof *rs);
        if (!rs) return NULL;
        *rs = (reduce_saved){d.factor, outer, dim, inner};
    }
    return y;
}

pd_tensor *pd_sum_axis(pd_graph *g, pd_tensor *x, int axis) { return reduce_axis(g, x, axis, 0); }
pd_tensor *pd_mean_axis(pd_graph *g, pd_tensor *x, int axis) { return reduce_axis(g, x, axis, 1); }
