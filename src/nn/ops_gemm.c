/* ops_gemm.c — linear and batched matmul: the GEMM-heavy ops, forward and backward through
 * pd_gemm (OpenBLAS), or through cuBLAS (cuda/ops_gemm.cu) when the graph is on the GPU. */
#include "nn/ops.h"

#include <string.h>

#include "nn/ops_device.h"
#include "nn/ops_internal.h"

/* ---- linear ---- */

static void linear_backward(pd_graph *g, pd_node *n)
{
    pd_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2], *y = n->out;
    int64_t rows = pd_tensor_rows(x), in = w->shape[1], out = w->shape[0];
    const pd_real *gy = y->grad;
    pd_real *gx = pd_grad(g, x), *gw = pd_grad(g, w), *gb = pd_grad(g, b);
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        pd_cuda_arena *work = pd_graph_cuda_work(g);
        if (!work) return;
        size_t mark = work->used;
        pd_graph_cuda_backward_done(g, pd_cuda_linear_backward(work, pd_graph_cuda_precision(g), x->data, w->data, gy,
                                                               gx, gw, gb, rows, in, out), "linear");
        work->used = mark;
        return;
    }
#endif
    if (gx) pd_gemm(0, 0, rows, in, out, 1, gy, out, w->data, in, 1, gx, in);
    if (gw) pd_gemm(1, 0, out, in, rows, 1, gy, out, x->data, in, 1, gw, in);
    if (gb) {
#pragma omp parallel for schedule(static) if (rows * out > PD_OMP_MIN_WORK)
        for (int64_t j = 0; j < out; j++) {
            pd_real s = 0;
            for (int64_t r = 0; r < rows; r++) s += gy[r * out + j];
            gb[j] += s;
        }
    }
}

pd_tensor *pd_linear(pd_graph *g, pd_tensor *x, pd_tensor *w, pd_tensor *b)
{
    if (!pd_graph_ok(g, x) || !pd_graph_ok(g, w)) return NULL;
    if (w->ndim != 2 || x->ndim < 1 || x->shape[x->ndim - 1] != w->shape[1])
        return pd_graph_fail(g, "linear: input %s does not match weight %s (want [..., in] and [out, in])",
                             pd_shape_of(x).s, pd_shape_of(w).s);
    if (b && (b->ndim != 1 || b->shape[0] != w->shape[0]))
        return pd_graph_fail(g, "linear: bias %s does not match weight %s", pd_shape_of(b).s, pd_shape_of(w).s);
    int64_t shape[PD_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[x->ndim - 1] = w->shape[0];
    pd_tensor *y = pd_tensor_new(g, x->ndim, shape);
    if (!y) return NULL;
    int64_t rows = pd_tensor_rows(x), in = w->shape[1], out = w->shape[0];
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        pd_cuda_arena *work = pd_graph_cuda_work(g);
        if (!work) return NULL;
        size_t mark = work->used;
        pd_status st = pd_cuda_linear_forward(work, pd_graph_cuda_precision(g), x->data, w->data, NULL,
                                              b ? b->data : NULL, y->data, rows, in, out);
        work->used = mark;
        if (!pd_graph_cuda_forward_done(g, st, "linear")) return NULL;
        pd_node_on_device(pd_record(g, "linear", linear_backward, y, 3, (pd_tensor *[]){x, w, b}));
        return y;
    }
#endif
    if (b) {
#pragma omp parallel for schedule(static) if (rows * out > PD_OMP_MIN_WORK)
        for (int64_t r = 0; r < rows; r++) memcpy(y->data + r * out, b->data, (size_t)out * sizeof(pd_real));
    }
    pd_gemm(0, 1, rows, out, in, 1, x->data, in, w->data, in, b ? 1 : 0, y->data, out);
    pd_record(g, "linear", linear_backward, y, 3, (pd_tensor *[]){x, w, b});
    return y;
}

/* ---- batched matmul ---- */

typedef struct matmul_saved {
    int trans_a, trans_b, b_shared;
    int64_t batch, m, n, k;
} matmul_saved;

static void matmul_backward(pd_graph *g, pd_node *nd)
{
    const matmul_saved *s = nd->saved;
    pd_tensor *a = nd->in[0], *b = nd->in[1];
    int64_t m = s->m, n = s->n, k = s->k;
    const pd_real *gc = nd->out->grad;
    pd_real *ga = pd_grad(g, a), *gb = pd_grad(g, b);
    int64_t lda = s->trans_a ? m : k, ldb = s->trans_b ? k : n;
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        pd_cuda_arena *work = pd_graph_cuda_work(g);
        if (!work) return;
        size_t mark = work->used;
        pd_graph_cuda_backward_done(g, pd_cuda_matmul_backward(work, pd_graph_cuda_precision(g), a->data, b->data, gc,
                                                               ga, gb, s->batch, m, n, k, s->trans_a, s->trans_b,
                                                               s->b_shared), "matmul");
        work->used = mark;
        return;
    }
#endif
    for (int64_t i = 0; i < s->batch; i++) {
        const pd_real *A = a->data + i * m * k, *B = b->data + (s->b_shared ? 0 : i * k * n);
        const pd_real *dC = gc + i * m * n;
        if (ga) {
            pd_real *dA = ga + i * m * k;
            if (!s->trans_a) pd_gemm(0, s->trans_b ? 0 : 1, m, k, n, 1, dC, n, B, ldb, 1, dA, lda);
            else pd_gemm(s->trans_b ? 1 : 0, 1, k, m, n, 1, B, ldb, dC, n, 1, dA, lda);
        }
        if (gb) {
            pd_real *dB = gb + (s->b_shared ? 0 : i * k * n);
            if (!s->trans_b) pd_gemm(s->trans_a ? 0 : 1, 0, k, n, m, 1, A, lda, dC, n, 1, dB, ldb);
            else pd_gemm(1, s->trans_a ? 1 : 0, n, k, m, 1, dC, n, A, lda, 1, dB, ldb);
        }
    }
}

pd_tensor *pd_matmul(pd_graph *g, pd_tensor *a, pd_tensor *b, int trans_a, int trans_b)
{
    if (!pd_graph_ok(g, a) || !pd_graph_ok(g, b)) return NULL;
    if (a->ndim < 2 || b->ndim < 2)
        return pd_graph_fail(g, "matmul: operands need at least 2 dims, got %s and %s", pd_shape_of(a).s,
                             pd_shape_of(b).s);
    int b_shared = b->ndim == 2 && a->ndim > 2;
    if (!b_shared) {
        int ok = a->ndim == b->ndim;
        for (int i = 0; ok && i < a->ndim - 2; i++) ok = a->shape[i] == b->shape[i];
        if (!ok)
            return pd_graph_fail(g, "matmul: leading dims of %s and %s differ (they must be equal, or b 2-D)",
                                 pd_shape_of(a).s, pd_shape_of(b).s);
    }
    int64_t ar = a->shape[a->ndim - 2], ac = a->shape[a->ndim - 1];
    int64_t br = b->shape[b->ndim - 2], bc = b->shape[b->ndim - 1];
    int64_t m = trans_a ? ac : ar, k = trans_a ? ar : ac;
    int64_t kb = trans_b ? bc : br, n = trans_b ? br : bc;
    if (k != kb)
        return pd_graph_fail(g, "matmul: inner dims differ: %s%s x %s%s", pd_shape_of(a).s, trans_a ? "^T" : "",
                             pd_shape_of(b).s, trans_b ? "^T" : "");
    int64_t shape[PD_MAX_DIMS];
    memcpy(shape, a->shape, sizeof shape);
    shape[a->ndim - 2] = m;
    shape[a->ndim - 1] = n;
    pd_tensor *c = pd_tensor_new(g, a->ndim, shape);
    if (!c) return NULL;
    int64_t batch = pd_shape_numel(a->ndim - 2, a->shape);
    int on_gpu = 0;
#if PD_NN_CUDA
    on_gpu = pd_graph_on_cuda(g);
    if (on_gpu) {
        pd_cuda_arena *work = pd_graph_cuda_work(g);
        if (!work) return NULL;
        size_t mark = work->used;
        pd_status st = pd_cuda_matmul_forward(work, pd_graph_cuda_precision(g), a->data, b->data, c->data, batch, m, n,
                                              k, trans_a, trans_b, b_shared);
        work->used = mark;
        if (!pd_graph_cuda_forward_done(g, st, "matmul")) return NULL;
    }
#endif
    for (int64_t i = 0; !on_gpu && i < batch; i++)
        pd_gemm(trans_a, trans_b, m, n, k, 1, a->data + i * m * k, trans_a ? m : k,
                b->data + (b_shared ? 0 : i * k * n), trans_b ? k : n, 0, c->data + i * m * n, n);
    pd_node *nd = pd_record(g, "matmul", matmul_backward, c, 2, (pd_tensor *[]){a, b});
#if PD_NN_CUDA
    if (on_gpu) pd_node_on_device(nd);
#endif
    if (nd) {
        matmul_saved *s = pd_node_save(g, nd, sizeof *s);
        if (!s) return NULL;
        *s = (matmul_saved){trans_a, trans_b, b_shared, batch, m, n, k};
    }
    return c;
}
