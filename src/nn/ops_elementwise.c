/* ops_elementwise.c — add/sub/mul with NumPy broadcasting, scale, add-scalar and the adaLN
 * modulation x * (1 + scale) + shift. On a GPU graph they run cuda/ops_elementwise.cu's kernels. */
#include "nn/ops.h"

#include <string.h>

#include "nn/ops_device.h"
#include "nn/ops_internal.h"
#include "nn/pointwise_ops.h"

/* Per-element formulas (value and gradients) live in pointwise_ops.h, shared with CUDA. */

/* How a and b map onto the broadcast output: per output dim, the stride of each operand
 * (0 where it is broadcast). Rows are the output's last dim. */
typedef struct ew_layout {
    int ndim;
    int64_t shape[PD_MAX_DIMS];
    int64_t sa[PD_MAX_DIMS], sb[PD_MAX_DIMS];
    int same;          /* a, b and out all have the same shape */
} ew_layout;

static int ew_make_layout(const pd_tensor *a, const pd_tensor *b, ew_layout *L)
{
    memset(L, 0, sizeof *L);
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    if (nd == 0) nd = 1;
    L->ndim = nd;
    int64_t stride_a = 1, stride_b = 1;
    for (int i = nd - 1; i >= 0; i--) {
        int ia = i - (nd - a->ndim), ib = i - (nd - b->ndim);
        int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
        if (da != db && da != 1 && db != 1) return 0;
        L->shape[i] = da == 1 ? db : da;
        L->sa[i] = (da == 1 && L->shape[i] != 1) ? 0 : stride_a;
        L->sb[i] = (db == 1 && L->shape[i] != 1) ? 0 : stride_b;
        stride_a *= da;
        stride_b *= db;
    }
    L->same = pd_shape_equal(a, b);
    return 1;
}

/* Offsets of a and b for output row `row` (all dims but the last). */
static void ew_row_offsets(const ew_layout *L, int64_t row, int64_t *oa, int64_t *ob)
{
    int64_t a = 0, b = 0;
    for (int i = L->ndim - 2; i >= 0; i--) {
        int64_t idx = row % L->shape[i];
        row /= L->shape[i];
        a += idx * L->sa[i];
        b += idx * L->sb[i];
    }
    *oa = a;
    *ob = b;
}

typedef struct ew_saved { pd_binary_kind kind; ew_layout L; } ew_saved;

static int operand_is_full(const ew_layout *L, const pd_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < L->ndim; i++) n *= L->shape[i];
    return t->numel == n;
}

static void ew_backward(pd_graph *g, pd_node *n)
{
    const ew_saved *s = n->saved;
    const ew_layout *L = &s->L;
    pd_tensor *a = n->in[0], *b = n->in[1], *y = n->out;
    const pd_real *gy = y->grad;
    pd_real *ga = pd_grad(g, a), *gb = pd_grad(g, b);
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        pd_broadcast_layout BL;
        pd_broadcast_layout_make(a->ndim, a->shape, b->ndim, b->shape, &BL);
        pd_graph_cuda_backward_done(g, pd_cuda_binary_backward(s->kind, &BL, a->data, b->data, gy, ga, gb, a->numel,
                                                               b->numel), n->op);
        return;
    }
#endif
    if (L->same) {
        int64_t N = y->numel;
#pragma omp parallel for schedule(static) if (N > PD_OMP_MIN_WORK)
        for (int64_t i = 0; i < N; i++) {
            if (ga) ga[i] += pd_binary_grad_a(s->kind, gy[i], b->data[i]);
            if (gb) gb[i] += pd_binary_grad_b(s->kind, gy[i], a->data[i]);
        }
        return;
    }
    int64_t cols = L->shape[L->ndim - 1], rows = y->numel / (cols ? cols : 1);
    int64_t ca = L->sa[L->ndim - 1], cb = L->sb[L->ndim - 1];
    /* An operand with the full output shape can be updated in parallel (disjoint rows); a
     * broadcast one is reduced serially, in a fixed order. */
    for (int pass = 0; pass < 2; pass++) {
        pd_real *gt = pass == 0 ? ga : gb;
        if (!gt) continue;
        int full = operand_is_full(L, pass == 0 ? a : b);
#pragma omp parallel for schedule(static) if (full && y->numel > PD_OMP_MIN_WORK)
        for (int64_t r = 0; r < rows; r++) {
            int64_t oa, ob;
            ew_row_offsets(L, r, &oa, &ob);
            const pd_real *gyr = gy + r * cols;
            for (int64_t c = 0; c < cols; c++) {
                pd_real d;
                if (pass == 0) {
                    d = pd_binary_grad_a(s->kind, gyr[c], b->data[ob + c * cb]);
                    gt[oa + c * ca] += d;
                } else {
                    d = pd_binary_grad_b(s->kind, gyr[c], a->data[oa + c * ca]);
                    gt[ob + c * cb] += d;
                }
            }
        }
    }
}

static pd_tensor *elementwise(pd_graph *g, pd_binary_kind kind, const char *name, pd_tensor *a, pd_tensor *b)
{
    if (!pd_graph_ok(g, a) || !pd_graph_ok(g, b)) return NULL;
    ew_layout L;
    if (!ew_make_layout(a, b, &L))
        return pd_graph_fail(g, "%s: shapes %s and %s do not broadcast", name, pd_shape_of(a).s, pd_shape_of(b).s);
    pd_tensor *y = pd_tensor_new(g, L.ndim, L.shape);
    if (!y) return NULL;
    int on_gpu = 0;
#if PD_NN_CUDA
    on_gpu = pd_graph_on_cuda(g);
    if (on_gpu) {
        pd_broadcast_layout BL;
        if (!pd_broadcast_layout_make(a->ndim, a->shape, b->ndim, b->shape, &BL))
            return pd_graph_fail(g, "%s: shapes %s and %s do not broadcast", name, pd_shape_of(a).s, pd_shape_of(b).s);
        if (!pd_graph_cuda_forward_done(g, pd_cuda_binary_forward(kind, &BL, a->data, b->data, y->data, a->numel,
                                                                  b->numel), name))
            return NULL;
    }
#endif
    if (on_gpu) {
        /* computed above */
    } else if (L.same) {
        int64_t N = y->numel;
#pragma omp parallel for schedule(static) if (N > PD_OMP_MIN_WORK)
        for (int64_t i = 0; i < N; i++) y->data[i] = pd_binary_value(kind, a->data[i], b->data[i]);
    } else {
        int64_t cols = L.shape[L.ndim - 1], rows = y->numel / (cols ? cols : 1);
        int64_t ca = L.sa[L.ndim - 1], cb = L.sb[L.ndim - 1];
#pragma omp parallel for schedule(static) if (y->numel > PD_OMP_MIN_WORK)
        for (int64_t r = 0; r < rows; r++) {
            int64_t oa, ob;
            ew_row_offsets(&L, r, &oa, &ob);
            for (int64_t c = 0; c < cols; c++)
                y->data[r * cols + c] = pd_binary_value(kind, a->data[oa + c * ca], b->data[ob + c * cb]);
        }
    }
    pd_node *n = pd_record(g, name, ew_backward, y, 2, (pd_tensor *[]){a, b});
#if PD_NN_CUDA
    if (on_gpu) pd_node_on_device(n);
#endif
    if (n) {
        ew_saved *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        s->kind = kind;
        s->L = L;
    }
    return y;
}

pd_tensor *pd_add(pd_graph *g, pd_tensor *a, pd_tensor *b) { return elementwise(g, PD_BINARY_ADD, "add", a, b); }
pd_tensor *pd_sub(pd_graph *g, pd_tensor *a, pd_tensor *b) { return elementwise(g, PD_BINARY_SUB, "sub", a, b); }
pd_tensor *pd_mul(pd_graph *g, pd_tensor *a, pd_tensor *b) { return elementwise(g, PD_BINARY_MUL, "mul", a, b); }

/* ---- y = alpha * x + c ---- */

typedef struct affine_saved { pd_real alpha; } affine_saved;

static void affine_backward(pd_graph *g, pd_node *n)
{
    const affine_saved *s = n->saved;
    pd_real *gx = pd_grad(g, n->in[0]);
    if (!gx) return;
    const pd_real *gy = n->out->grad;
    int64_t N = n->out->numel;
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        pd_graph_cuda_backward_done(g, pd_cuda_affine_backward(gy, gx, N, s->alpha), n->op);
        return;
    }
#endif
#pragma omp parallel for schedule(static) if (N > PD_OMP_MIN_WORK)
    for (int64_t i = 0; i < N; i++) gx[i] += s->alpha * gy[i];
}

static pd_tensor *affine(pd_graph *g, const char *name, pd_tensor *x, double alpha, double c)
{
    if (!pd_graph_ok(g, x)) return NULL;
    pd_tensor *y = pd_tensor_new_like(g, x);
    if (!y) return NULL;
    pd_real al = (pd_real)alpha, cc = (pd_real)c;
    int64_t N = x->numel;
    int on_gpu = 0;
#if PD_NN_CUDA
    on_gpu = pd_graph_on_cuda(g);
    if (on_gpu && !pd_graph_cuda_forward_done(g, pd_cuda_affine_forward(x->data, y->data, N, al, cc), name))
        return NULL;
#endif
    if (!on_gpu) {
#pragma omp parallel for schedule(static) if (N > PD_OMP_MIN_WORK)
        for (int64_t i = 0; i < N; i++) y->data[i] = al * x->data[i] + cc;
    }
    pd_node *n = pd_record(g, name, affine_backward, y, 1, (pd_tensor *[]){x});
#if PD_NN_CUDA
    if (on_gpu) pd_node_on_device(n);
#endif
    if (n) {
        affine_saved *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        s->alpha = al;
    }
    return y;
}

pd_tensor *pd_scale(pd_graph *g, pd_tensor *x, double alpha) { return affine(g, "scale", x, alpha, 0); }
pd_tensor *pd_add_scalar(pd_graph *g, pd_tensor *x, double c) { return affine(g, "add_scalar", x, 1, c); }

/* ---- adaLN modulation ---- */

typedef struct modulate_saved { int64_t rows_per_cond; } modulate_saved;

static void modulate_backward(pd_graph *g, pd_node *n)
{
    const modulate_saved *s = n->saved;
    pd_tensor *x = n->in[0], *shift = n->in[1], *scale = n->in[2], *y = n->out;
    int64_t D = pd_tensor_cols(x), rows = pd_tensor_rows(x), per = s->rows_per_cond;
    const pd_real *gy = y->grad;
    pd_real *gx = pd_grad(g, x), *gsh = pd_grad(g, shift), *gsc = pd_grad(g, scale);
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        pd_graph_cuda_backward_done(g, pd_cuda_modulate_backward(x->data, scale->data, gy, gx, gsh, gsc, rows, D, per),
                                    "modulate");
        return;
    }
#endif
    /* Parallel over conditioning rows: each owns its shift/scale row, so no races. */
    int64_t n_cond = rows / per;
#pragma omp parallel for schedule(static) if (x->numel > PD_OMP_MIN_WORK)
    for (int64_t c = 0; c < n_cond; c++) {
        const pd_real *sc = scale->data + c * D;
        for (int64_t r = c * per; r < (c + 1) * per; r++) {
            const pd_real *gyr = gy + r * D, *xr = x->data + r * D;
            for (int64_t j = 0; j < D; j++) {
                if (gx) gx[r * D + j] += pd_modulate_grad_x(gyr[j], sc[j]);
                if (gsh) gsh[c * D + j] += gyr[j];
                if (gsc) gsc[c * D + j] += pd_modulate_grad_scale(gyr[j], xr[j]);
            }
        }
    }
}

pd_tensor *pd_modulate(pd_graph *g, pd_tensor *x, pd_tensor *shift, pd_tensor *scale)
{
    if (!pd_graph_ok(g, x) || !pd_graph_ok(g, shift) || !pd_graph_ok(g, scale)) return NULL;
    int64_t per = 0;
    if (pd_shape_equal(shift, x) && pd_shape_equal(scale, x)) per = 1;
    else if (x->ndim == 3 && shift->ndim == 2 && pd_shape_equal(shift, scale) && shift->shape[0] == x->shape[0] &&
             shift->shape[1] == x->shape[2])
        per = x->shape[1];
    if (!per)
        return pd_graph_fail(g, "modulate: x %s with shift %s and scale %s: want both like x, or [B, D] for x [B, L, D]",
                             pd_shape_of(x).s, pd_shape_of(shift).s, pd_shape_of(scale).s);
    pd_tensor *y = pd_tensor_new_like(g, x);
    if (!y) return NULL;
    int64_t D = pd_tensor_cols(x), rows = pd_tensor_rows(x);
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        if (!pd_graph_cuda_forward_done(g, pd_cuda_modulate_forward(x->data, shift->data, scale->data, y->data, rows, D,
                                                                    per), "modulate"))
            return NULL;
        pd_node *nd = pd_record(g, "modulate", modulate_backward, y, 3, (pd_tensor *[]){x, shift, scale});
        pd_node_on_device(nd);
        if (nd) {
            modulate_saved *s = pd_node_save(g, nd, sizeof *s);
            if (!s) return NULL;
            s->rows_per_cond = per;
        }
        return y;
    }
#endif
#pragma omp parallel for schedule(static) if (x->numel > PD_OMP_MIN_WORK)
    for (int64_t r = 0; r < rows; r++) {
        const pd_real *sh = shift->data + (r / per) * D, *sc = scale->data + (r / per) * D;
        for (int64_t j = 0; j < D; j++) y->data[r * D + j] = pd_modulate_value(x->data[r * D + j], sh[j], sc[j]);
    }
    pd_node *n = pd_record(g, "modulate", modulate_backward, y, 3, (pd_tensor *[]){x, shift, scale});
    if (n) {
        modulate_saved *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        s->rows_per_cond = per;
    }
    return y;
}
