/* ops_gemm.c — linear and batched matmul, the GEMM-heavy ops: the op functions (shape checks,
 * output, one node) and their CPU kernels through pd_gemm (OpenBLAS), registered in
 * backend_cpu.c's table; on a device graph the backend's GEMMs run instead (op_run.h). */
#include "nn/ops.h"

#include <string.h>

#include "nn/backend_cpu.h"
#include "nn/kernel_desc.h"
#include "nn/op_run.h"
#include "nn/ops_internal.h"

/* ---- CPU kernels ---- */

pd_status pd_cpu_linear_forward(const void *desc)
{
    const pd_linear_desc *d = desc;
    const int64_t rows = d->rows, in = d->in, out = d->out;
    if (d->b) {
#pragma omp parallel for schedule(static) if (rows * out > PD_OMP_MIN_WORK)
        for (int64_t r = 0; r < rows; r++) memcpy(d->y + r * out, d->b, (size_t)out * sizeof(pd_real));
    }
    pd_gemm(0, 1, rows, out, in, 1, d->x, in, d->w, in, d->b ? 1 : 0, d->y, out);
    return PD_OK;
}

pd_status pd_cpu_linear_backward(const void *desc)
{
    const pd_linear_desc *d = desc;
    const int64_t rows = d->rows, in = d->in, out = d->out;
    const pd_real *gy = d->gy;
    if (d->gx) pd_gemm(0, 0, rows, in, out, 1, gy, out, d->w, in, 1, d->gx, in);
    if (d->gw) pd_gemm(1, 0, out, in, rows, 1, gy, out, d->x, in, 1, d->gw, in);
    if (d->gb) {
        pd_real *gb = d->gb;
#pragma omp parallel for schedule(static) if (rows * out > PD_OMP_MIN_WORK)
        for (int64_t j = 0; j < out; j++) {
            pd_real s = 0;
            for (int64_t r = 0; r < rows; r++) s += gy[r * out + j];
            gb[j] += s;
        }
    }
    return PD_OK;
}

pd_status pd_cpu_matmul_forward(const void *desc)
{
    const pd_matmul_desc *d = desc;
    const int64_t m = d->m, n = d->n, k = d->k;
    for (int64_t i = 0; i < d->batch; i++)
        pd_gemm(d->trans_a, d->trans_b, m, n, k, 1, d->a + i * m * k, d->trans_a ? m : k,
                d->b + (d->b_shared ? 0 : i * k * n), d->trans_b ? k : n, 0, d->c + i * m * n, n);
    return PD_OK;
}

pd_status pd_cpu_matmul_backward(const void *desc)
{
    const pd_matmul_desc *d = desc;
    const int64_t m = d->m, n = d->n, k = d->k;
    const int64_t lda = d->trans_a ? m : k, ldb = d->trans_b ? k : n;
    for (int64_t i = 0; i < d->batch; i++) {
        const pd_real *A = d->a + i * m * k, *B = d->b + (d->b_shared ? 0 : i * k * n);
        const pd_real *dC = d->gc + i * m * n;
        if (d->ga) {
            pd_real *dA = d->ga + i * m * k;
            if (!d->trans_a) pd_gemm(0, d->trans_b ? 0 : 1, m, k, n, 1, dC, n, B, ldb, 1, dA, lda);
            else pd_gemm(d->trans_b ? 1 : 0, 1, k, m, n, 1, B, ldb, dC, n, 1, dA, lda);
        }
        if (d->gb) {
            pd_real *dB = d->gb + (d->b_shared ? 0 : i * k * n);
            if (!d->trans_b) pd_gemm(d->trans_a ? 0 : 1, 0, k, n, m, 1, A, lda, dC, n, 1, dB, ldb);
            else pd_gemm(1, d->trans_a ? 1 : 0, n, k, m, 1, dC, n, A, lda, 1, dB, ldb);
        }
    }
    return PD_OK;
}

/* ---- linear ---- */

static void linear_backward(pd_graph *g, pd_node *n)
{
    pd_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2];
    pd_linear_desc d = {.rows = pd_tensor_rows(x), .in = w->shape[1], .out = w->shape[0], .x = x->data,
                        .w = w->data, .gy = n->out->grad, .gx = pd_grad(g, x), .gw = pd_grad(g, w),
                        .gb = pd_grad(g, b)};
    pd_op_backward(g, n, &d);
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
    pd_linear_desc d = {.rows = pd_tensor_rows(x), .in = w->shape[1], .out = w->shape[0], .x = x->data,
                        .w = w->data, .b = b ? b->data : NULL, .y = y->data};
    if (!pd_op_forward(g, PD_OP_LINEAR, &d)) return NULL;
    pd_record_op(g, PD_OP_LINEAR, linear_backward, y, 3, (pd_tensor *[]){x, w, b});
    return y;
}

/* ---- batched matmul ---- */

static void matmul_backward(pd_graph *g, pd_node *nd)
{
    pd_matmul_desc d = *(const pd_matmul_desc *)nd->saved;
    d.gc = nd->out->grad;
    d.ga = pd_grad(g, nd->in[0]);
    d.gb = pd_grad(g, nd->in[1]);
    pd_op_backward(g, nd, &d);
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
    pd_matmul_desc d = {.trans_a = trans_a, .trans_b = trans_b, .b_shared = b_shared,
                        .batch = pd_shape_numel(a->ndim - 2, a->shape), .m = m, .n = n, .k = k, .a = a->data,
                        .b = b->data, .c = c->data};
    if (!pd_op_forward(g, PD_OP_MATMUL, &d)) return NULL;
    pd_node *nd = pd_record_op(g, PD_OP_MATMUL, matmul_backward, c, 2, (pd_tensor *[]){a, b});
    if (nd) {
        pd_matmul_desc *s = pd_node_save(g, nd, sizeof *s);
        if (!s) return NULL;
        *s = d;
    }
    return c;
}
