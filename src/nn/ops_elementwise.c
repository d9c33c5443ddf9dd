/* ops_elementwise.c — add/sub/mul with NumPy broadcasting, scale, add-scalar and the adaLN
 * modulation x * (1 + scale) + shift: the op functions (shape, allocation, descriptor, record)
 * and their CPU kernels (backend_cpu.c's table). On a device graph the backend's kernels run
 * instead (op_run.h). Per-element formulas live in pointwise_ops.h, shared with CUDA. */
#include "nn/ops.h"

#include <string.h>

#include "nn/backend_cpu.h"
#include "nn/kernel_desc.h"
#include "nn/op_run.h"
#include "nn/ops_internal.h"
#include "nn/pointwise_ops.h"

/* ---- CPU kernels: binary ops over a broadcast layout ---- */

/* Offsets of a and b for output row `row` (all dims but the last). */
static void ew_row_offsets(const pd_broadcast_layout *L, int64_t row, int64_t *oa, int64_t *ob)
{
    int64_t a = 0, b = 0;
    for (int i = L->ndim - 2; i >= 0; i--) {
        int64_t idx = row % L->shape[i];
        row /= L->shape[i];
        a += idx * L->stride[0][i];
        b += idx * L->stride[1][i];
    }
    *oa = a;
    *ob = b;
}

pd_status pd_cpu_binary_forward(const void *desc)
{
    const pd_binary_desc *d = desc;
    const pd_broadcast_layout *L = &d->L;
    const pd_binary_kind kind = d->kind;
    const pd_real *A = d->a, *B = d->b;
    pd_real *Y = d->y;
    if (d->same) {
        int64_t N = L->numel;
#pragma omp parallel for schedule(static) if (N > PD_OMP_MIN_WORK)
        for (int64_t i = 0; i < N; i++) Y[i] = pd_binary_value(kind, A[i], B[i]);
    } else {
        int64_t cols = L->shape[L->ndim - 1], rows = L->numel / (cols ? cols : 1);
        int64_t ca = L->stride[0][L->ndim - 1], cb = L->stride[1][L->ndim - 1];
#pragma omp parallel for schedule(static) if (L->numel > PD_OMP_MIN_WORK)
        for (int64_t r = 0; r < rows; r++) {
            int64_t oa, ob;
            ew_row_offsets(L, r, &oa, &ob);
            for (int64_t c = 0; c < cols; c++) Y[r * cols + c] = pd_binary_value(kind, A[oa + c * ca], B[ob + c * cb]);
        }
    }
    return PD_OK;
}

pd_status pd_cpu_binary_backward(const void *desc)
{
    const pd_binary_desc *d = desc;
    const pd_broadcast_layout *L = &d->L;
    const pd_binary_kind kind = d->kind;
    const pd_real *gy = d->gy, *A = d->a, *B = d->b;
    pd_real *ga = d->ga, *gb = d->gb;
    if (d->same) {
        int64_t N = L->numel;
#pragma omp parallel for schedule(static) if (N > PD_OMP_MIN_WORK)
        for (int64_t i = 0; i < N; i++) {
            if (ga) ga[i] += pd_binary_grad_a(kind, gy[i], B[i]);
            if (gb) gb[i] += pd_binary_grad_b(kind, gy[i], A[i]);
        }
        return PD_OK;
    }
    int64_t cols = L->shape[L->ndim - 1], rows = L->numel / (cols ? cols : 1);
    int64_t ca = L->stride[0][L->ndim - 1], cb = L->stride[1][L->ndim - 1];
    /* An operand with the full output shape can be updated in parallel (disjoint rows); a
     * broadcast one is reduced serially, in a fixed order. */
    for (int pass = 0; pass < 2; pass++) {
        pd_real *gt = pass == 0 ? ga : gb;
        if (!gt) continue;
        int full = (pass == 0 ? d->a_numel : d->b_numel) == L->numel;
#pragma omp parallel for schedule(static) if (full && L->numel > PD_OMP_MIN_WORK)
        for (int64_t r = 0; r < rows; r++) {
            int64_t oa, ob;
            ew_row_offsets(L, r, &oa, &ob);
            const pd_real *gyr = gy + r * cols;
            for (int64_t c = 0; c < cols; c++) {
                pd_real v;
                if (pass == 0) {
                    v = pd_binary_grad_a(kind, gyr[c], B[ob + c * cb]);
                    gt[oa + c * ca] += v;
                } else {
                    v = pd_binary_grad_b(kind, gyr[c], A[oa + c * ca]);
                    gt[ob + c * cb] += v;
                }
            }
        }
    }
    return PD_OK;
}

/* ---- CPU kernels: y = alpha * x + c ---- */

pd_status pd_cpu_affine_forward(const void *desc)
{
    const pd_affine_desc *d = desc;
    const int64_t N = d->n;
    const pd_real al = d->alpha, cc = d->c;
#pragma omp parallel for schedule(static) if (N > PD_OMP_MIN_WORK)
    for (int64_t i = 0; i < N; i++) d->y[i] = al * d->x[i] + cc;
    return PD_OK;
}

pd_status pd_cpu_affine_backward(const void *desc)
{
    const pd_affine_desc *d = desc;
    const int64_t N = d->n;
    pd_real *gx = d->gx;
#pragma omp parallel for schedule(static) if (N > PD_OMP_MIN_WORK)
    for (int64_t i = 0; i < N; i++) gx[i] += d->alpha * d->gy[i];
    return PD_OK;
}

/* ---- CPU kernels: adaLN modulation ---- */

pd_status pd_cpu_modulate_forward(const void *desc)
{
    const pd_modulate_desc *d = desc;
    const int64_t rows = d->rows, D = d->D, per = d->rows_per_cond;
#pragma omp parallel for schedule(static) if (rows * D > PD_OMP_MIN_WORK)
    for (int64_t r = 0; r < rows; r++) {
        const pd_real *sh = d->shift + (r / per) * D, *sc = d->scale + (r / per) * D;
        for (int64_t j = 0; j < D; j++) d->y[r * D + j] = pd_modulate_value(d->x[r * D + j], sh[j], sc[j]);
    }
    return PD_OK;
}

pd_status pd_cpu_modulate_backward(const void *desc)
{
    const pd_modulate_desc *d = desc;
    const int64_t rows = d->rows, D = d->D, per = d->rows_per_cond;
    const pd_real *gy = d->gy;
    pd_real *gx = d->gx, *gsh = d->gshift, *gsc = d->gscale;
    /* Parallel over conditioning rows: each owns its shift/scale row, so no races. */
    int64_t n_cond = rows / per;
#pragma omp parallel for schedule(static) if (rows * D > PD_OMP_MIN_WORK)
    for (int64_t c = 0; c < n_cond; c++) {
        const pd_real *sc = d->scale + c * D;
        for (int64_t r = c * per; r < (c + 1) * per; r++) {
            const pd_real *gyr = gy + r * D, *xr = d->x + r * D;
            for (int64_t j = 0; j < D; j++) {
                if (gx) gx[r * D + j] += pd_modulate_grad_x(gyr[j], sc[j]);
                if (gsh) gsh[c * D + j] += gyr[j];
                if (gsc) gsc[c * D + j] += pd_modulate_grad_scale(gyr[j], xr[j]);
            }
        }
    }
    return PD_OK;
}

/* ---- ops ---- */

typedef struct ew_saved { pd_binary_kind kind; pd_broadcast_layout L; int same; } ew_saved;

static void ew_backward(pd_graph *g, pd_node *n)
{
    const ew_saved *s = n->saved;
    pd_tensor *a = n->in[0], *b = n->in[1], *y = n->out;
    pd_binary_desc d = {.kind = s->kind, .L = s->L, .same = s->same, .a_numel = a->numel, .b_numel = b->numel,
                        .a = a->data, .b = b->data, .gy = y->grad, .ga = pd_grad(g, a), .gb = pd_grad(g, b)};
    pd_op_backward(g, n, &d);
}

static pd_tensor *elementwise(pd_graph *g, pd_binary_kind kind, pd_op op, pd_tensor *a, pd_tensor *b)
{
    if (!pd_graph_ok(g, a) || !pd_graph_ok(g, b)) return NULL;
    pd_binary_desc d = {.kind = kind, .same = pd_shape_equal(a, b), .a_numel = a->numel, .b_numel = b->numel,
                        .a = a->data, .b = b->data};
    if (!pd_broadcast_layout_make(a->ndim, a->shape, b->ndim, b->shape, &d.L))
        return pd_graph_fail(g, "%s: shapes %s and %s do not broadcast", pd_op_name(op), pd_shape_of(a).s,
                             pd_shape_of(b).s);
    pd_tensor *y = pd_tensor_new(g, d.L.ndim, d.L.shape);
    if (!y) return NULL;
    d.y = y->data;
    if (!pd_op_forward(g, op, &d)) return NULL;
    pd_node *n = pd_record_op(g, op, ew_backward, y, 2, (pd_tensor *[]){a, b});
    if (n) {
        ew_saved *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        s->kind = kind;
        s->L = d.L;
        s->same = d.same;
    }
    return y;
}

pd_tensor *pd_add(pd_graph *g, pd_tensor *a, pd_tensor *b) { return elementwise(g, PD_BINARY_ADD, PD_OP_ADD, a, b); }
pd_tensor *pd_sub(pd_graph *g, pd_tensor *a, pd_tensor *b) { return elementwise(g, PD_BINARY_SUB, PD_OP_SUB, a, b); }
pd_tensor *pd_mul(pd_graph *g, pd_tensor *a, pd_tensor *b) { return elementwise(g, PD_BINARY_MUL, PD_OP_MUL, a, b); }

typedef struct affine_saved { pd_real alpha; } affine_saved;

static void affine_backward(pd_graph *g, pd_node *n)
{
    const affine_saved *s = n->saved;
    pd_real *gx = pd_grad(g, n->in[0]);
    if (!gx) return;
    pd_affine_desc d = {.n = n->out->numel, .alpha = s->alpha, .gy = n->out->grad, .gx = gx};
    pd_op_backward(g, n, &d);
}

static pd_tensor *affine(pd_graph *g, pd_op op, pd_tensor *x, double alpha, double c)
{
    if (!pd_graph_ok(g, x)) return NULL;
    pd_tensor *y = pd_tensor_new_like(g, x);
    if (!y) return NULL;
    pd_affine_desc d = {.n = x->numel, .alpha = (pd_real)alpha, .c = (pd_real)c, .x = x->data, .y = y->data};
    if (!pd_op_forward(g, op, &d)) return NULL;
    pd_node *n = pd_record_op(g, op, affine_backward, y, 1, (pd_tensor *[]){x});
    if (n) {
        affine_saved *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        s->alpha = d.alpha;
    }
    return y;
}

pd_tensor *pd_scale(pd_graph *g, pd_tensor *x, double alpha) { return affine(g, PD_OP_SCALE, x, alpha, 0); }
pd_tensor *pd_add_scalar(pd_graph *g, pd_tensor *x, double c) { return affine(g, PD_OP_ADD_SCALAR, x, 1, c); }

typedef struct modulate_saved { int64_t rows_per_cond; } modulate_saved;

static void modulate_backward(pd_graph *g, pd_node *n)
{
    const modulate_saved *s = n->saved;
    pd_tensor *x = n->in[0], *shift = n->in[1], *scale = n->in[2], *y = n->out;
    pd_modulate_desc d = {.rows = pd_tensor_rows(x), .D = pd_tensor_cols(x), .rows_per_cond = s->rows_per_cond,
                          .x = x->data, .shift = shift->data, .scale = scale->data, .gy = y->grad,
                          .gx = pd_grad(g, x), .gshift = pd_grad(g, shift), .gscale = pd_grad(g, scale)};
    pd_op_backward(g, n, &d);
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
    pd_modulate_desc d = {.rows = pd_tensor_rows(x), .D = pd_tensor_cols(x), .rows_per_cond = per, .x = x->data,
                          .shift = shift->data, .scale = scale->data, .y = y->data};
    if (!pd_op_forward(g, PD_OP_MODULATE, &d)) return NULL;
    pd_node *n = pd_record_op(g, PD_OP_MODULATE, modulate_backward, y, 3, (pd_tensor *[]){x, shift, scale});
    if (n) {
        modulate_saved *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        s->rows_per_cond = per;
    }
    return y;
}
