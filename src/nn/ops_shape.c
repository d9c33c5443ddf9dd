/* ops_shape.c — reshape (shares data), permute/transpose, concat, slice and split (copies).
 * On a GPU graph the copies and their adjoints run cuda/ops_shape.cu's kernels. */
#include "nn/ops.h"

#include <string.h>

#include "nn/ops_device.h"
#include "nn/ops_internal.h"

/* ---- reshape ---- */

static void reshape_backward(pd_graph *g, pd_node *n)
{
    pd_real *gx = pd_grad(g, n->in[0]);
    if (!gx) return;
    const pd_real *gy = n->out->grad;
    int64_t N = n->out->numel;
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) { /* gx += 1·gy */
        pd_graph_cuda_backward_done(g, pd_cuda_affine_backward(gy, gx, N, 1.0f), "reshape");
        return;
    }
#endif
#pragma omp parallel for schedule(static) if (N > PD_OMP_MIN_WORK)
    for (int64_t i = 0; i < N; i++) gx[i] += gy[i];
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
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        pd_node_on_device(pd_record(g, "reshape", reshape_backward, y, 1, (pd_tensor *[]){x}));
        return y;
    }
#endif
    pd_record(g, "reshape", reshape_backward, y, 1, (pd_tensor *[]){x});
    return y;
}

/* ---- permute ---- */

typedef struct permute_saved { int perm[PD_MAX_DIMS]; } permute_saved;

/* in-offset stride for each output dim */
static void permute_strides(const pd_tensor *x, const int *perm, int64_t *stride_out_dim)
{
    int64_t in_stride[PD_MAX_DIMS];
    int64_t s = 1;
    for (int i = x->ndim - 1; i >= 0; i--) {
        in_stride[i] = s;
        s *= x->shape[i];
    }
    for (int i = 0; i < x->ndim; i++) stride_out_dim[i] = in_stride[perm[i]];
}

/* Offset in x of the first element of output row r (rows = all dims of y but the last). */
static int64_t permute_row_offset(const pd_tensor *y, const int64_t *st, int64_t r)
{
    int64_t off = 0;
    for (int i = y->ndim - 2; i >= 0; i--) {
        off += (r % y->shape[i]) * st[i];
        r /= y->shape[i];
    }
    return off;
}

/* y = permute(x) */
static void permute_gather(const pd_tensor *x, const pd_tensor *y, const int *perm, const pd_real *xs, pd_real *ys)
{
    int64_t st[PD_MAX_DIMS];
    permute_strides(x, perm, st);
    int64_t cols = y->shape[y->ndim - 1], rows = y->numel / (cols ? cols : 1), cs = st[y->ndim - 1];
#pragma omp parallel for schedule(static) if (y->numel > PD_OMP_MIN_WORK)
    for (int64_t r = 0; r < rows; r++) {
        int64_t off = permute_row_offset(y, st, r);
        for (int64_t c = 0; c < cols; c++) ys[r * cols + c] = xs[off + c * cs];
    }
}

/* gx += inverse-permute(gy); every x element is hit exactly once, so rows run in parallel. */
static void permute_scatter_add(const pd_tensor *x, const pd_tensor *y, const int *perm, pd_real *gx, const pd_real *gy)
{
    int64_t st[PD_MAX_DIMS];
    permute_strides(x, perm, st);
    int64_t cols = y->shape[y->ndim - 1], rows = y->numel / (cols ? cols : 1), cs = st[y->ndim - 1];
#pragma omp parallel for schedule(static) if (y->numel > PD_OMP_MIN_WORK)
    for (int64_t r = 0; r < rows; r++) {
        int64_t off = permute_row_offset(y, st, r);
        for (int64_t c = 0; c < cols; c++) gx[off + c * cs] += gy[r * cols + c];
    }
}

static void permute_backward(pd_graph *g, pd_node *n)
{
    const permute_saved *s = n->saved;
    pd_real *gx = pd_grad(g, n->in[0]);
    if (!gx) return;
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        pd_graph_cuda_backward_done(g, pd_cuda_permute_backward(n->out->grad, gx, n->in[0]->ndim, n->in[0]->shape,
                                                                s->perm), "permute");
        return;
    }
#endif
    permute_scatter_add(n->in[0], n->out, s->perm, gx, n->out->grad);
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
    int on_gpu = 0;
#if PD_NN_CUDA
    on_gpu = pd_graph_on_cuda(g);
    if (on_gpu && !pd_graph_cuda_forward_done(g, pd_cuda_permute_forward(x->data, y->data, x->ndim, x->shape, perm),
                                              "permute"))
        return NULL;
#endif
    if (!on_gpu && y->numel) permute_gather(x, y, perm, x->data, y->data);
    pd_node *n = pd_record(g, "permute", permute_backward, y, 1, (pd_tensor *[]){x});
#if PD_NN_CUDA
    if (on_gpu) pd_node_on_device(n);
#endif
    if (n) {
        permute_saved *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        memcpy(s->perm, perm, (size_t)x->ndim * sizeof(int));
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

typedef struct concat_saved { int axis; } concat_saved;

static void concat_backward(pd_graph *g, pd_node *n)
{
    const concat_saved *s = n->saved;
    int64_t outer, dim, inner;
    pd_split_dims(n->out, s->axis, &outer, &dim, &inner);
    int64_t start = 0;
    for (int k = 0; k < n->n_in; k++) {
        pd_tensor *x = n->in[k];
        int64_t dk = x->shape[s->axis];
        pd_real *gx = pd_grad(g, x);
#if PD_NN_CUDA
        if (gx && pd_graph_on_cuda(g)) {
            pd_graph_cuda_backward_done(g, pd_cuda_copy_rows(n->out->grad + start * inner, dim * inner, gx, dk * inner,
                                                             outer, dk * inner, 1), "concat");
            gx = NULL;
        }
#endif
        if (gx) {
#pragma omp parallel for schedule(static) if (x->numel > PD_OMP_MIN_WORK)
            for (int64_t o = 0; o < outer; o++) {
                const pd_real *src = n->out->grad + (o * dim + start) * inner;
                pd_real *dst = gx + o * dk * inner;
                for (int64_t i = 0; i < dk * inner; i++) dst[i] += src[i];
            }
        }
        start += dk;
    }
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
    int64_t outer, dim, inner;
    pd_split_dims(y, ax, &outer, &dim, &inner);
    int64_t start = 0;
    int on_gpu = 0;
#if PD_NN_CUDA
    on_gpu = pd_graph_on_cuda(g);
    if (on_gpu) {
        pd_status st = PD_OK;
        for (int k = 0; k < n && st == PD_OK; k++) {
            int64_t dk = xs[k]->shape[ax];
            st = pd_cuda_copy_rows(xs[k]->data, dk * inner, y->data + start * inner, dim * inner, outer, dk * inner, 0);
            start += dk;
        }
        if (!pd_graph_cuda_forward_done(g, st, "concat")) return NULL;
    }
#endif
    for (int k = 0; !on_gpu && k < n; k++) {
        int64_t dk = xs[k]->shape[ax];
#pragma omp parallel for schedule(static) if (xs[k]->numel > PD_OMP_MIN_WORK)
        for (int64_t o = 0; o < outer; o++)
            memcpy(y->data + (o * dim + start) * inner, xs[k]->data + o * dk * inner, (size_t)(dk * inner) * sizeof(pd_real));
        start += dk;
    }
    pd_node *nd = pd_record(g, "concat", concat_backward, y, n, xs);
#if PD_NN_CUDA
    if (on_gpu) pd_node_on_device(nd);
#endif
    if (nd) {
        concat_saved *s = pd_node_save(g, nd, sizeof *s);
        if (!s) return NULL;
        s->axis = ax;
    }
    return y;
}

/* ---- slice / split ---- */

typedef struct slice_saved { int axis; int64_t start; } slice_saved;

static void slice_backward(pd_graph *g, pd_node *n)
{
    const slice_saved *s = n->saved;
    pd_tensor *x = n->in[0], *y = n->out;
    pd_real *gx = pd_grad(g, x);
    if (!gx) return;
    int64_t outer, dim, inner;
    pd_split_dims(x, s->axis, &outer, &dim, &inner);
    int64_t len = y->shape[s->axis];
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        pd_graph_cuda_backward_done(g, pd_cuda_copy_rows(y->grad, len * inner, gx + s->start * inner, dim * inner, outer,
                                                         len * inner, 1), "slice");
        return;
    }
#endif
#pragma omp parallel for schedule(static) if (y->numel > PD_OMP_MIN_WORK)
    for (int64_t o = 0; o < outer; o++) {
        pd_real *dst = gx + (o * dim + s->start) * inner;
        const pd_real *src = y->grad + o * len * inner;
        for (int64_t i = 0; i < len * inner; i++) dst[i] += src[i];
    }
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
    int64_t outer, dim, inner;
    pd_split_dims(x, ax, &outer, &dim, &inner);
    int on_gpu = 0;
#if PD_NN_CUDA
    on_gpu = pd_graph_on_cuda(g);
    if (on_gpu && !pd_graph_cuda_forward_done(g, pd_cuda_copy_rows(x->data + start * inner, dim * inner, y->data,
                                                                   len * inner, outer, len * inner, 0), "slice"))
        return NULL;
#endif
    if (!on_gpu) {
#pragma omp parallel for schedule(static) if (y->numel > PD_OMP_MIN_WORK)
        for (int64_t o = 0; o < outer; o++)
            memcpy(y->data + o * len * inner, x->data + (o * dim + start) * inner, (size_t)(len * inner) * sizeof(pd_real));
    }
    pd_node *n = pd_record(g, "slice", slice_backward, y, 1, (pd_tensor *[]){x});
#if PD_NN_CUDA
    if (on_gpu) pd_node_on_device(n);
#endif
    if (n) {
        slice_saved *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        s->axis = ax;
        s->start = start;
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
