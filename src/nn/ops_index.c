/* ops_index.c — row gather, row scatter-add (message passing over neighbour lists) and
 * embedding lookup: the op functions (index checks, the op's copy of the indices, one node)
 * and their CPU kernels, registered in backend_cpu.c's table. Scatter-adds split the work by
 * columns, so every destination element is summed by one thread in index order:
 * deterministic for any thread count. On a device graph the backend's kernels run (op_run.h);
 * it keeps an index plan per node from forward to backward (kernel_desc.h's pd_index_desc). */
#include "nn/ops.h"

#include <string.h>

#include "nn/backend_cpu.h"
#include "nn/kernel_desc.h"
#include "nn/op_run.h"
#include "nn/ops_internal.h"

/* ---- CPU kernels ---- */

/* dst[idx[i], :] += src[i, :] for i < n_idx (idx < 0 skipped), row width D. */
static void scatter_add(pd_real *dst, int64_t n_dst, const pd_real *src, const int32_t *idx, int64_t n_idx, int64_t D)
{
    const int64_t block = 16;
    int64_t n_blocks = (D + block - 1) / block;
#pragma omp parallel for schedule(static) if (n_idx * D > PD_OMP_MIN_WORK && n_blocks > 1)
    for (int64_t cb = 0; cb < n_blocks; cb++) {
        int64_t c0 = cb * block, c1 = c0 + block < D ? c0 + block : D;
        for (int64_t i = 0; i < n_idx; i++) {
            int64_t t = idx[i];
            if (t < 0 || t >= n_dst) continue;
            for (int64_t c = c0; c < c1; c++) dst[t * D + c] += src[i * D + c];
        }
    }
}

/* dst[i, :] = src[idx[i], :] (zero row for idx < 0) */
static void gather(pd_real *dst, const pd_real *src, const int32_t *idx, int64_t n_idx, int64_t D)
{
#pragma omp parallel for schedule(static) if (n_idx * D > PD_OMP_MIN_WORK)
    for (int64_t i = 0; i < n_idx; i++) {
        if (idx[i] < 0) memset(dst + i * D, 0, (size_t)D * sizeof(pd_real));
        else memcpy(dst + i * D, src + (int64_t)idx[i] * D, (size_t)D * sizeof(pd_real));
    }
}

pd_status pd_cpu_gather_forward(const void *desc)
{
    const pd_index_desc *d = desc;
    gather(d->y, d->x, d->idx, d->n_idx, d->D);
    return PD_OK;
}

pd_status pd_cpu_gather_backward(const void *desc)
{
    const pd_index_desc *d = desc;
    scatter_add(d->gx, d->n_dst, d->gy, d->idx, d->n_idx, d->D);
    return PD_OK;
}

pd_status pd_cpu_scatter_add_forward(const void *desc)
{
    const pd_index_desc *d = desc;
    memset(d->y, 0, (size_t)(d->n_dst * d->D) * sizeof(pd_real));
    scatter_add(d->y, d->n_dst, d->x, d->idx, d->n_idx, d->D);
    return PD_OK;
}

pd_status pd_cpu_scatter_add_backward(const void *desc)
{
    const pd_index_desc *d = desc;
    const int64_t D = d->D;
    pd_real *gx = d->gx;
#pragma omp parallel for schedule(static) if (d->n_idx * D > PD_OMP_MIN_WORK)
    for (int64_t i = 0; i < d->n_idx; i++) {
        if (d->idx[i] < 0) continue;
        const pd_real *src = d->gy + (int64_t)d->idx[i] * D;
        for (int64_t c = 0; c < D; c++) gx[i * D + c] += src[c];
    }
    return PD_OK;
}

/* ---- ops ---- */

static int64_t row_width(const pd_tensor *x) { return x->ndim ? x->numel / (x->shape[0] ? x->shape[0] : 1) : 1; }

/* Gather (incl. embedding) and scatter-add share their backward: the saved descriptor, the
 * gradients filled in. */
static void index_backward(pd_graph *g, pd_node *n)
{
    pd_real *gx = pd_grad(g, n->in[0]);
    if (!gx) return;
    pd_index_desc d = *(const pd_index_desc *)n->saved;
    d.gy = n->out->grad;
    d.gx = gx;
    pd_op_backward(g, n, &d);
}

/* Copy the indices into graph memory (the backend reads them; the backward too), run op's
 * forward from x into y and record the node. */
static pd_tensor *index_run(pd_graph *g, pd_op op, pd_tensor *x, pd_tensor *y, const int32_t *idx, int64_t n_idx,
                            int64_t n_dst)
{
    int32_t *copy = pd_graph_alloc(g, (size_t)(n_idx ? n_idx : 1) * sizeof(int32_t));
    if (!copy) return NULL;
    if (n_idx) memcpy(copy, idx, (size_t)n_idx * sizeof(int32_t));
    /* A device backend keeps its index plan for the backward only when there will be one. */
    const int backward = pd_graph_grad_enabled(g) && x->requires_grad;
    pd_index_plan *plan = backward ? pd_graph_alloc(g, sizeof *plan) : NULL;
    if (backward && !plan) return NULL;
    pd_index_desc d = {.n_idx = n_idx, .n_dst = n_dst, .D = row_width(x), .idx = copy, .plan = plan, .x = x->data,
                       .y = y->data};
    if (!pd_op_forward(g, op, &d)) return NULL;
    pd_node *n = pd_record_op(g, op, index_backward, y, 1, (pd_tensor *[]){x});
    if (n) {
        pd_index_desc *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        *s = d;
    }
    return y;
}

/* ---- gather rows / embedding (backward: scatter-add into the source) ---- */

static pd_tensor *gather_op(pd_graph *g, pd_op op, pd_tensor *x, const int32_t *idx, int64_t n_idx, int allow_negative)
{
    const char *name = pd_op_name(op);
    if (!pd_graph_ok(g, x)) return NULL;
    if (x->ndim < 1) return pd_graph_fail(g, "%s: source must have a row dim", name);
    for (int64_t i = 0; i < n_idx; i++)
        if (idx[i] >= x->shape[0] || (idx[i] < 0 && !allow_negative))
            return pd_graph_fail(g, "%s: index %lld at position %lld is outside the %lld rows of %s", name,
                                 (long long)idx[i], (long long)i, (long long)x->shape[0], pd_shape_of(x).s);
    int64_t shape[PD_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[0] = n_idx;
    pd_tensor *y = pd_tensor_new(g, x->ndim, shape);
    if (!y) return NULL;
    return index_run(g, op, x, y, idx, n_idx, x->shape[0]);
}

pd_tensor *pd_gather_rows(pd_graph *g, pd_tensor *x, const int32_t *idx, int64_t n_idx)
{
    return gather_op(g, PD_OP_GATHER_ROWS, x, idx, n_idx, 0);
}

pd_tensor *pd_embedding(pd_graph *g, pd_tensor *table, const int32_t *idx, int64_t n_idx)
{
    if (table && table->ndim != 2) return pd_graph_fail(g, "embedding: table must be [V, D], got %s", pd_shape_of(table).s);
    return gather_op(g, PD_OP_EMBEDDING, table, idx, n_idx, 1);
}

/* ---- scatter-add rows ---- */

pd_tensor *pd_scatter_add_rows(pd_graph *g, pd_tensor *x, const int32_t *idx, int64_t n_out)
{
    if (!pd_graph_ok(g, x)) return NULL;
    if (x->ndim < 1) return pd_graph_fail(g, "scatter_add_rows: source must have a row dim");
    int64_t n_idx = x->shape[0];
    for (int64_t i = 0; i < n_idx; i++)
        if (idx[i] >= n_out)
            return pd_graph_fail(g, "scatter_add_rows: index %lld at row %lld is outside the %lld output rows",
                                 (long long)idx[i], (long long)i, (long long)n_out);
    int64_t shape[PD_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[0] = n_out;
    pd_tensor *y = pd_tensor_new(g, x->ndim, shape); /* the kernels write every row */
    if (!y) return NULL;
    return index_run(g, PD_OP_SCATTER_ADD_ROWS, x, y, idx, n_idx, n_out);
}
