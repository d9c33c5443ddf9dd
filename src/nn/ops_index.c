/* ops_index.c — row gather, row scatter-add (message passing over neighbour lists) and
 * embedding lookup. Scatter-adds split the work by columns, so every destination element is
 * summed by one thread in index order: deterministic for any thread count. On a GPU graph an
 * index plan (the indices and their CSR by destination, uploaded into the graph's GPU workspace,
 * kept until the step's reset) drives cuda/ops_shape.cu's gather and segment-sum kernels. */
#include "nn/ops.h"

#include <string.h>

#include "nn/ops_device.h"
#include "nn/ops_internal.h"

typedef struct index_saved {
    const int32_t *idx;
    int64_t n_idx;
#if PD_NN_CUDA
    pd_cuda_index_plan plan;   /* GPU graphs: the device copy of idx and its CSR */
#endif
} index_saved;

static int64_t row_width(const pd_tensor *x) { return x->ndim ? x->numel / (x->shape[0] ? x->shape[0] : 1) : 1; }

#if PD_NN_CUDA
/* Build the index plan of idx (n_idx indices into n_dst rows) in the graph's GPU workspace.
 * 1 on success; on failure the graph is failed (naming op) and 0 is returned. */
static int index_plan_build(pd_graph *g, const char *op, const int32_t *idx, int64_t n_idx, int64_t n_dst,
                            pd_cuda_index_plan *plan)
{
    pd_cuda_arena *work = pd_graph_cuda_work(g);
    if (!work) return 0;
    pd_status st = pd_cuda_index_plan_create(work, idx, n_idx, n_dst, plan);
    if (st != PD_OK) {
        pd_error_context("%s: index plan of %lld indices on the GPU", op, (long long)n_idx);
        pd_graph_set_status(g, st);
        return 0;
    }
    return 1;
}

/* The forward of a gather/embedding (scatter = 0) or scatter-add (scatter = 1) on the GPU,
 * recording the node with its plan; y is allocated by the caller (zeroed not needed). */
static pd_tensor *index_op_on_gpu(pd_graph *g, const char *op, pd_backward_fn backward, pd_tensor *x, pd_tensor *y,
                                  const int32_t *idx, int64_t n_idx, int64_t n_dst, int scatter)
{
    pd_cuda_arena *work = pd_graph_cuda_work(g);
    if (!work) return NULL;
    size_t mark = work->used;
    pd_cuda_index_plan plan;
    if (!index_plan_build(g, op, idx, n_idx, n_dst, &plan)) return NULL;
    int64_t D = row_width(x);
    pd_status st = scatter ? pd_cuda_scatter_add_rows_forward(&plan, x->data, y->data, D)
                           : pd_cuda_gather_rows_forward(&plan, x->data, y->data, D);
    if (!pd_graph_cuda_forward_done(g, st, op)) return NULL;
    pd_node *n = pd_record(g, op, backward, y, 1, (pd_tensor *[]){x});
    if (!n) {
        work->used = mark;   /* nothing will replay the plan */
        return y;
    }
    pd_node_on_device(n);
    index_saved *s = pd_node_save(g, n, sizeof *s);
    if (!s) return NULL;
    s->idx = plan.idx;
    s->n_idx = n_idx;
    s->plan = plan;
    return y;
}
#endif

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

static const int32_t *copy_index(pd_graph *g, const int32_t *idx, int64_t n)
{
    int32_t *c = pd_graph_alloc(g, (size_t)(n ? n : 1) * sizeof(int32_t));
    if (c && n) memcpy(c, idx, (size_t)n * sizeof(int32_t));
    return c;
}

/* ---- gather rows / embedding (same backward: scatter-add into the source) ---- */

static void gather_backward(pd_graph *g, pd_node *n)
{
    const index_saved *s = n->saved;
    pd_tensor *x = n->in[0];
    pd_real *gx = pd_grad(g, x);
    if (!gx) return;
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        pd_graph_cuda_backward_done(g, pd_cuda_gather_rows_backward(&s->plan, n->out->grad, gx, row_width(x)), n->op);
        return;
    }
#endif
    scatter_add(gx, x->shape[0], n->out->grad, s->idx, s->n_idx, row_width(x));
}

static pd_tensor *gather_op(pd_graph *g, const char *name, pd_tensor *x, const int32_t *idx, int64_t n_idx,
                            int allow_negative)
{
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
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) return index_op_on_gpu(g, name, gather_backward, x, y, idx, n_idx, x->shape[0], 0);
#endif
    int64_t D = row_width(x);
    gather(y->data, x->data, idx, n_idx, D);
    pd_node *n = pd_record(g, name, gather_backward, y, 1, (pd_tensor *[]){x});
    if (n) {
        index_saved *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        s->idx = copy_index(g, idx, n_idx);
        s->n_idx = n_idx;
        if (!s->idx) return NULL;
    }
    return y;
}

pd_tensor *pd_gather_rows(pd_graph *g, pd_tensor *x, const int32_t *idx, int64_t n_idx)
{
    return gather_op(g, "gather_rows", x, idx, n_idx, 0);
}

pd_tensor *pd_embedding(pd_graph *g, pd_tensor *table, const int32_t *idx, int64_t n_idx)
{
    if (table && table->ndim != 2) return pd_graph_fail(g, "embedding: table must be [V, D], got %s", pd_shape_of(table).s);
    return gather_op(g, "embedding", table, idx, n_idx, 1);
}

/* ---- scatter-add rows ---- */

static void scatter_backward(pd_graph *g, pd_node *n)
{
    const index_saved *s = n->saved;
    pd_tensor *x = n->in[0];
    pd_real *gx = pd_grad(g, x);
    if (!gx) return;
    int64_t D = row_width(x);
    const pd_real *gy = n->out->grad;
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        pd_graph_cuda_backward_done(g, pd_cuda_scatter_add_rows_backward(&s->plan, gy, gx, D), "scatter_add_rows");
        return;
    }
#endif
#pragma omp parallel for schedule(static) if (x->numel > PD_OMP_MIN_WORK)
    for (int64_t i = 0; i < s->n_idx; i++) {
        if (s->idx[i] < 0) continue;
        const pd_real *src = gy + (int64_t)s->idx[i] * D;
        for (int64_t c = 0; c < D; c++) gx[i * D + c] += src[c];
    }
}

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
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) { /* the segment sums assign every output row: no zeroing */
        pd_tensor *yg = pd_tensor_new(g, x->ndim, shape);
        if (!yg) return NULL;
        return index_op_on_gpu(g, "scatter_add_rows", scatter_backward, x, yg, idx, n_idx, n_out, 1);
    }
#endif
    pd_tensor *y = pd_tensor_zeros(g, x->ndim, shape);
    if (!y) return NULL;
    scatter_add(y->data, n_out, x->data, idx, n_idx, row_width(x));
    pd_node *n = pd_record(g, "scatter_add_rows", scatter_backward, y, 1, (pd_tensor *[]){x});
    if (n) {
        index_saved *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        s->idx = copy_index(g, idx, n_idx);
        s->n_idx = n_idx;
        if (!s->idx) return NULL;
    }
    return y;
}
