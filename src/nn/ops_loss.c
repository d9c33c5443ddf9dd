/* ops_loss.c — MSE and cross-entropy with masks, summed over valid elements and divided by a
 * normaliser: the local count (a mean) or a global count from the distributed engine, so that
 * 1 rank and N ranks compute the same gradient. The op functions resolve the normaliser and
 * copy masks and targets into the graph's arena (device-visible on a GPU graph; MSE through
 * row_loss.h, shared with the KL); the CPU kernels are here (backend_cpu.c's table), a device
 * backend's run on a device graph. */
#include "nn/ops.h"

#include <string.h>

#include "nn/backend_cpu.h"
#include "nn/kernel_desc.h"
#include "nn/op_run.h"
#include "nn/ops_internal.h"
#include "nn/pointwise_ops.h"
#include "nn/row_loss.h"

/* ---- CPU kernels ---- */

static double mse_term(double a, double b)
{
    const double v = a - b;
    return v * v;
}

static void mse_grad(pd_real go, const pd_row_loss_desc *d, int64_t i)
{
    const pd_real v = pd_mse_grad(go, d->a[i], d->b[i]);
    if (d->ga) d->ga[i] += v;
    if (d->gb) d->gb[i] -= v;
}

pd_status pd_cpu_mse_forward(const void *desc)
{
    const pd_row_loss_desc *d = desc;
    d->y[0] = (pd_real)(pd_row_loss_sum(d, mse_term) / d->norm);
    return PD_OK;
}

pd_status pd_cpu_mse_backward(const void *desc)
{
    const pd_row_loss_desc *d = desc;
    pd_row_loss_grad(d, d->gy[0] * d->inv_norm * 2, mse_grad);
    return PD_OK;
}

pd_status pd_cpu_cross_entropy_forward(const void *desc)
{
    const pd_cross_entropy_desc *d = desc;
    const int64_t R = d->rows, C = d->C;
    double total = 0;
    for (int64_t r = 0; r < R; r++) {
        const pd_real *xr = d->x + r * C;
        pd_real mx = xr[0];
        for (int64_t c = 1; c < C; c++) mx = xr[c] > mx ? xr[c] : mx;
        pd_real sum = 0;
        for (int64_t c = 0; c < C; c++) sum += pd_exp(xr[c] - mx);
        d->lse[r] = pd_log_sum_exp(mx, sum);
        if (d->target[r] != d->ignore_index) total += (double)d->lse[r] - (double)xr[d->target[r]];
    }
    d->y[0] = (pd_real)(total / d->norm);
    return PD_OK;
}

pd_status pd_cpu_cross_entropy_backward(const void *desc)
{
    const pd_cross_entropy_desc *d = desc;
    const int64_t R = d->rows, C = d->C;
    pd_real *gx = d->gx;
    pd_real go = d->gy[0] * d->inv_norm;
#pragma omp parallel for schedule(static) if (R * C > PD_OMP_MIN_WORK)
    for (int64_t r = 0; r < R; r++) {
        int32_t t = d->target[r];
        if (t == d->ignore_index) continue;
        const pd_real *xr = d->x + r * C;
        for (int64_t c = 0; c < C; c++) gx[r * C + c] += pd_cross_entropy_grad(go, xr[c], d->lse[r], c == t);
    }
    return PD_OK;
}

/* ---- MSE ---- */

pd_tensor *pd_mse(pd_graph *g, pd_tensor *pred, pd_tensor *target, const uint8_t *row_valid, double normaliser)
{
    if (!pd_graph_ok(g, pred) || !pd_graph_ok(g, target)) return NULL;
    if (!pd_shape_equal(pred, target))
        return pd_graph_fail(g, "mse: prediction %s and target %s differ", pd_shape_of(pred).s, pd_shape_of(target).s);
    return pd_row_loss_op(g, PD_OP_MSE, pred, target, row_valid, normaliser, pd_tensor_cols(pred));
}

/* ---- cross-entropy ---- */

typedef struct ce_saved {
    const int32_t *target;
    int ignore_index;
    pd_real *lse;
    pd_real inv_norm;
    double norm;
} ce_saved;

static void ce_backward(pd_graph *g, pd_node *n)
{
    const ce_saved *s = n->saved;
    pd_tensor *x = n->in[0];
    pd_real *gx = pd_grad(g, x);
    if (!gx) return;
    pd_cross_entropy_desc d = {.rows = pd_tensor_rows(x), .C = pd_tensor_cols(x), .target = s->target,
                               .ignore_index = s->ignore_index, .lse = s->lse, .norm = s->norm,
                               .inv_norm = s->inv_norm, .x = x->data, .gy = n->out->grad, .gx = gx};
    pd_op_backward(g, n, &d);
}

pd_tensor *pd_cross_entropy(pd_graph *g, pd_tensor *logits, const int32_t *target, int ignore_index, double normaliser)
{
    if (!pd_graph_ok(g, logits)) return NULL;
    int64_t C = pd_tensor_cols(logits), R = pd_tensor_rows(logits), valid = 0;
    for (int64_t r = 0; r < R; r++) {
        if (target[r] == ignore_index) continue;
        if (target[r] < 0 || target[r] >= C)
            return pd_graph_fail(g, "cross_entropy: target %d at row %lld is not a class of %s (ignore_index %d)",
                                 target[r], (long long)r, pd_shape_of(logits).s, ignore_index);
        valid++;
    }
    double norm = normaliser > 0 ? normaliser : (double)(valid ? valid : 1);
    pd_real *lse = pd_graph_alloc(g, (size_t)(R + 1) * sizeof(pd_real));
    int32_t *t = pd_graph_alloc(g, (size_t)(R + 1) * sizeof(int32_t));
    pd_tensor *y = pd_tensor_new1(g, 1);
    if (!lse || !t || !y) return NULL;
    memcpy(t, target, (size_t)R * sizeof(int32_t));
    pd_cross_entropy_desc d = {.rows = R, .C = C, .target = t, .ignore_index = ignore_index, .lse = lse, .norm = norm,
                               .inv_norm = (pd_real)(1.0 / norm), .x = logits->data, .y = y->data};
    if (!pd_op_forward(g, PD_OP_CROSS_ENTROPY, &d)) return NULL;
    pd_node *n = pd_record_op(g, PD_OP_CROSS_ENTROPY, ce_backward, y, 1, (pd_tensor *[]){logits});
    if (n) {
        ce_saved *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        *s = (ce_saved){t, ignore_index, lse, d.inv_norm, norm};
    }
    return y;
}
