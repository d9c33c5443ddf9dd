/* ops_shape.c — reshape (shares data), permute/transpose, concat, slice and split (copies): the
 * op functions (shape checks, output, one node) and the CPU kernels of the copies and their
 * adjoints, registered in backend_cpu.c's table; on a device graph the backend's kernels run
 * (op_run.h). */
#include "nn/ops.h"

#include <string.h>

#include "nn/backend_cpu.h"
#include "nn/kernel_desc.h"
#include "nn/op_run.h"
#include "nn/ops_internal.h"

_Static_assert(PD_MAX_DIMS <= PD_DESC_MAX_DIMS, "pd_permute_desc holds PD_MAX_DIMS dims");
_Static_assert(PD_NODE_MAX_INPUTS <= PD_DESC_MAX_INPUTS, "pd_concat_desc holds PD_NODE_MAX_INPUTS inputs");

/* ---- CPU kernels: permute ---- */

/* y's shape and, for each of its dims, the stride of x it walks. */
static void permute_layout(const pd_permute_desc *d, int64_t *y_shape, int64_t *stride_out_dim)
{
    int64_t in_stride[PD_DESC_MAX_DIMS];
    int64_t s = 1;
    for (int i = d->ndim - 1; i >= 0; i--) {
        in_stride[i] = s;
        s *= d->x_shape[i];
    }
    for (int i = 0; i < d->ndim; i++) {
        stride_out_dim[i] = in_stride[d->perm[i]];
        y_shape[i] = d->x_shape[d->perm[i]];
    }
}

/* Offset in x of the first element of output row r (rows = all dims of y but the last). */
static int64_t permute_row_offset(int ndim, const int64_t *y_shape, const int64_t *st, int64_t r)
{
    int64_t off = 0;
    for (int i = ndim - 2; i >= 0; i--) {
        off += (r % y_shape[i]) * st[i];
        r /= y_shape[i];
    }
    return off;
}

/* y = permute(x) (scatter = 0), or gx += inverse-permute(gy) (scatter = 1): every x element is
 * hit exactly once, so rows run in parallel. */
static void permute_copy(const pd_permute_desc *d, int scatter)
{
    int64_t st[PD_DESC_MAX_DIMS], y_shape[PD_DESC_MAX_DIMS];
    permute_layout(d, y_shape, st);
    int64_t numel = 1;
    for (int i = 0; i < d->ndim; i++) numel *= y_shape[i];
    if (!numel) return;
    int64_t cols = y_shape[d->ndim - 1], rows = numel / (cols ? cols : 1), cs = st[d->ndim - 1];
    if (scatter) {
        const pd_real *gy = d->gy;
        pd_real *gx = d->gx;
#pragma omp parallel for schedule(static) if (numel > PD_OMP_MIN_WORK)
        for (int64_t r = 0; r < rows; r++) {
            int64_t off = permute_row_offset(d->ndim, y_shape, st, r);
            for (int64_t c = 0; c < cols; c++) gx[off + c * cs] += gy[r * cols + c];
        }
    } else {
        const pd_real *xs = d->x;
        pd_real *ys = d->y;
#pragma omp parallel for schedule(static) if (numel > PD_OMP_MIN_WORK)
        for (int64_t r = 0; r < rows; r++) {
            int64_t off = permute_row_offset(d->ndim, y_shape, st, r);
            for (int64_t c = 0; c < cols; c++) ys[r * cols + c] = xs[off + c * cs];
        }
    }
}

pd_status pd_cpu_permute_forward(const void *desc)
{
    permute_copy(desc, 0);
    return PD_OK;
}

pd_status pd_cpu_permute_backward(const void *desc)
{
    permute_copy(desc, 1);
    return PD_OK;
}

/* ---- CPU kernels: concat, slice ---- */

pd_status pd_cpu_concat_forward(const void *desc)
{
    const pd_concat_desc *d = desc;
    const int64_t outer = d->outer, dim = d->dim, inner = d->inner;
    int64_t start = 0;
    for (int k = 0; k < d->n; k++) {
        const int64_t dk = d->sizes[k];
        const pd_real *x = d->xs[k];
#pragma omp parallel for schedule(static) if (outer * dk * inner > PD_OMP_MIN_WORK)
        for (int64_t o = 0; o < outer; o++)
            memcpy(d->y + (o * dim + start) * inner, x + o * dk * inner, (size_t)(dk * inner) * sizeof(pd_real));
        start += dk;
    }
    return PD_OK;
}

pd_status pd_cpu_concat_backward(const void *desc)
{
    const pd_concat_desc *d = desc;
    const int64_t outer = d->outer, dim = d->dim, inner = d->inner;
    int64_t start = 0;
    for (int k = 0; k < d->n; k++) {
        const int64_t dk = d->sizes[k];
        pd_real *gx = d->gxs[k];
        if (gx) {
#pragma omp parallel for schedule(static) if (outer * dk * inner > PD_OMP_MIN_WORK)
            for (int64_t o = 0; o < outer; o++) {
                const pd_real *src = d->gy + (o * dim + start) * inner;
                pd_real *dst = gx + o * dk * inner;
                for (int64_t i = 0; i < dk * inner; i++) dst[i] += src[i];
            }
        }
        start += dk;
    }
    return PD_OK;
}

pd_status pd_cpu_slice_forward(const void *desc)
{
    const pd_slice_desc *d = desc;
    const int64_t outer = d->outer, dim = d->dim, inner = d->inner, len = d->len;
#pragma omp parallel for schedule(static) if (outer * len * inner > PD_OMP_MIN_WORK)
    for (int64_t o = 0; o < outer; o++)
        memcpy(d->y + o * len * inner, d->x + (o * dim + d->start) * inner, (size_t)(len * inner) * sizeof(pd_real));
    return PD_OK;
}

pd_status pd_cpu_slice_backward(const void *desc)
{
    const pd_slice_desc *d = desc;
    const int64_t outer = d->outer, dim = d->dim, inner = d->inner, len = d->len;
    pd_real *gx = d->gx;
#pragma omp parallel for schedule(static) if (outer * len * inner > PD_OMP_MIN_WORK)
    for (int64_t o = 0; o < outer; o++) {
        pd_real *dst = gx + (o * dim + d->start) * inner;
        const pd_real *src = d->gy + o * len * inner;
        for (int64_t i = 0; i < len * inner; i++) dst[i] += src[i];
    }
    return PD_OK;
}

/* Reshape's forward is a view: nothing to compute (its backward is the affine kernel, α = 1). */
pd_status pd_cpu_view_forward(const void *desc)
{
    (void)desc;
    return PD_OK;
}

/* ---- reshape ---- */

static void reshape_backward(pd_graph *g, pd_node *n)
{
    pd_real *gx = pd_grad(g, n->in[0]);
    if (!gx) return;
    pd_affine_desc d = {.n = n->out->numel, .alpha = 1, .gy = n->out->grad, .gx = gx};
    pd_op_backward(g, n, &d);
}

pd_tensor *pd_reshape(pd_graph *g, pd_tensor *x, int ndim, const int64_t *shape)
{
    if (!pd_graph_ok(g, x)) return NULL;
    if (ndim < 1 || ndim > PD_MAX_DIMS) return pd_graph_fail(g, "reshape: %d dims requested", ndim);
    int64_t s[PD_MAX_DIMS], known = 1;
    int infer = -1;
    for (int i = 0; i < ndim; i++) {
        s[i] = shape[i];
        if (s[i] == -1) {
            if (infer >= 0) return pd_graph_fail(g, "reshape: more than one -1 dim");
            infer = i;
        } else {
            known *= s[i];
        }
    }
    if (infer >= 0) s[infer] = known ? x->numel / known : 0;
    if (pd_shape_numel(ndim, s) != x->numel)
        return pd_graph_fail(g, "reshape: %s has %lld elements, the new shape has %lld", pd_shape_of(x).s,
                             (long long)x->numel, (long long)pd_shape_numel(ndim, s));
    pd_tensor *y = pd_tensor_wrap(g, ndim, s, x->data);
    if (!y) return NULL;
    /* A view: no forward kernel runs (a device backend would only wait for its stream). */
    pd_record_op(g, PD_OP_RESHAPE, reshape_backward, y, 1, (pd_tensor *[]){x});
    return y;
}

/* ---- permute ---- */

static void permute_backward(pd_graph *g, pd_node *n)
{
    pd_real *gx = pd_grad(g, n->in[0]);
    if (!gx) return;
    pd_permute_desc d = *(const pd_permute_desc *)n->saved;
    d.gy = n->out->grad;
    d.gx = gx;
    pd_op_backward(g, n, &d);
}

pd_tensor *pd_permute(pd_graph *g, pd_tensor *x, const int *perm)
{
    if (!pd_graph_ok(g, x)) return NULL;
    int seen[PD_MAX_DIMS] = {0};
    int64_t shape[PD_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) {
        if (perm[i] < 0 || perm[i] >= x->ndim || seen[perm[i]])
            return pd_graph_fail(g, "permute: not a permutation of the %d dims of %s", x->ndim, pd_shape_of(x).s);
        seen[perm[i]] = 1;
        shape[i] = x->shape[perm[i]];
    }
    pd_tensor *y = pd_tensor_new(g, x->ndim, shape);
    if (!y) return NULL;
    pd_permute_desc d = {.ndim = x->ndim, .x = x->data, .y = y->data};
    memcpy(d.x_shape, x->shape, (size_t)x->ndim * sizeof(int64_t));
    memcpy(d.perm, perm, (size_t)x->ndim * sizeof(int));
    if (!pd_op_forward(g, PD_OP_PERMUTE, &d)) return NULL;
    pd_node *n = pd_record_op(g, PD_OP_PERMUTE, permute_backward, y, 1, (pd_tensor *[]){x});
    if (n) {
        pd_permute_desc *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        *s = d;
    }
    return y;
}

pd_tensor *pd_transpose(pd_graph *g, pd_tensor *x, int axis0, int axis1)
{
    if (!pd_graph_ok(g, x)) return NULL;
    int a0 = pd_axis(x, axis0), a1 = pd_axis(x, axis1);
    if (a0 < 0 || a1 < 0) return pd_graph_fail(g, "transpose: axes %d, %d out of range for %s", axis0, axis1, pd_shape_of(x).s);
    int perm[PD_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) perm[i] = i;
    perm[a0] = a1;
    perm[a1] = a0;
    return pd_permute(g, x, perm);
}

/* ---- concat ---- */

static void concat_backward(pd_graph *g, pd_node *n)
{
    pd_concat_desc d = *(const pd_concat_desc *)n->saved;
    d.gy = n->out->grad;
    for (int k = 0; k < n->n_in; k++) d.gxs[k] = pd_grad(g, n->in[k]);
    pd_op_backward(g, n, &d);
}

pd_tensor *pd_concat(pd_graph *g, int n, pd_tensor *const *xs, int axis)
{
    if (n < 1 || n > PD_NODE_MAX_INPUTS) return pd_graph_fail(g, "concat: %d inputs (1..%d supported)", n, PD_NODE_MAX_INPUTS);
    for (int k = 0; k < n; k++)
        if (!pd_graph_ok(g, xs[k])) return NULL;
    int ax = pd_axis(xs[0], axis);
    if (ax < 0) return pd_graph_fail(g, "concat: axis %d out of range for %s", axis, pd_shape_of(xs[0]).s);
    int64_t shape[PD_MAX_DIMS];
    memcpy(shape, xs[0]->shape, sizeof shape);
    shape[ax] = 0;
    for (int k = 0; k < n; k++) {
        int ok = xs[k]->ndim == xs[0]->ndim;
        for (int i = 0; ok && i < xs[0]->ndim; i++) ok = i == ax || xs[k]->shape[i] == xs[0]->shape[i];
        if (!ok)
            return pd_graph_fail(g, "concat along %d: input %d %s does not match input 0 %s", ax, k,
                                 pd_shape_of(xs[k]).s, pd_shape_of(xs[0]).s);
        shape[ax] += xs[k]->shape[ax];
    }
    pd_tensor *y = pd_tensor_new(g, xs[0]->ndim, shape);
    if (!y) return NULL;
    pd_concat_desc d = {.n = n, .y = y->data};
    pd_split_dims(y, ax, &d.outer, &d.dim, &d.inner);
    for (int k = 0; k < n; k++) {
        d.sizes[k] = xs[k]->shape[ax];
        d.xs[k] = xs[k]->data;
    }
    if (!pd_op_forward(g, PD_OP_CONCAT, &d)) return NULL;
    pd_node *nd = pd_record_op(g, PD_OP_CONCAT, concat_backward, y, n, xs);
    if (nd) {
        pd_concat_desc *s = pd_node_save(g, nd, sizeof *s);
        if (!s) return NULL;
        *s = d;
    }
    return y;
}

/* ---- slice / split ---- */

static void slice_backward(pd_graph *g, pd_node *n)
{
    pd_real *gx = pd_grad(g, n->in[0]);
    if (!gx) return;
    pd_slice_desc d = *(const pd_slice_desc *)n->saved;
    d.gy = n->out->grad;
    d.gx = gx;
    pd_op_backward(g, n, &d);
}

pd_tensor *pd_slice(pd_graph *g, pd_tensor *x, int axis, int64_t start, int64_t len)
{
    if (!pd_graph_ok(g, x)) return NULL;
    int ax = pd_axis(x, axis);
    if (ax < 0 || start < 0 || len < 0 || start + len > x->shape[ax])
        return pd_graph_fail(g, "slice: [%lld, %lld) along axis %d is outside %s", (long long)start,
                             (long long)(start + len), axis, pd_shape_of(x).s);
    int64_t shape[PD_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[ax] = len;
    pd_tensor *y = pd_tensor_new(g, x->ndim, shape);
    if (!y) return NULL;
    pd_slice_desc d = {.start = start, .len = len, .x = x->data, .y = y->data};
    pd_split_dims(x, ax, &d.outer, &d.dim, &d.inner);
    if (!pd_op_forward(g, PD_OP_SLICE, &d)) return NULL;
    pd_node *n = pd_record_op(g, PD_OP_SLICE, slice_backward, y, 1, (pd_tensor *[]){x});
    if (n) {
        pd_slice_desc *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        *s = d;
    }
    return y;
}

pd_status pd_split(pd_graph *g, pd_tensor *x, int axis, int n, const int64_t *sizes, pd_tensor **out)
{
    if (!pd_graph_ok(g, x)) return pd_graph_status(g);
    int ax = pd_axis(x, axis);
    int64_t total = 0;
    for (int k = 0; k < n; k++) total += sizes[k];
    if (ax < 0 || total != x->shape[ax]) {
        pd_graph_fail(g, "split: sizes sum to %lld but axis %d of %s has %lld", (long long)total, axis,
                      pd_shape_of(x).s, ax < 0 ? -1LL : (long long)x->shape[ax]);
        return pd_graph_status(g);
    }
    int64_t start = 0;
    for (int k = 0; k < n; k++) {
        out[k] = pd_slice(g, x, ax, start, sizes[k]);
        start += sizes[k];
    }
    return pd_graph_status(g);
}
