/* ops_loss.c — MSE and cross-entropy with masks, summed over valid elements and divided by a
 * normaliser: the local count (a mean) or a global count from the distributed engine, so that
 * 1 rank and N ranks compute the same gradient. On a GPU graph cuda/ops_rows.cu's kernels run
 * (masks and targets are copied into the graph's managed arena first). */
#include "nn/ops.h"

#include <string.h>

#include "nn/ops_device.h"
#include "nn/ops_internal.h"
#include "nn/pointwise_ops.h"

static const uint8_t *copy_mask(pd_graph *g, const uint8_t *m, int64_t n)
{
    if (!m) return NULL;
    uint8_t *c = pd_graph_alloc(g, (size_t)(n ? n : 1));
    if (c) memcpy(c, m, (size_t)n);
    return c;
}

/* ---- MSE ---- */

typedef struct mse_saved { const uint8_t *row_valid; pd_real inv_norm; double norm; } mse_saved;

static void mse_backward(pd_graph *g, pd_node *n)
{
    const mse_saved *s = n->saved;
    pd_tensor *p = n->in[0], *t = n->in[1];
    pd_real *gp = pd_grad(g, p), *gt = pd_grad(g, t);
    int64_t D = pd_tensor_cols(p), R = pd_tensor_rows(p);
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        pd_graph_cuda_backward_done(g, pd_cuda_mse_backward(p->data, t->data, s->row_valid, n->out->grad, gp, gt, R, D,
                                                            s->norm), "mse");
        return;
    }
#endif
    pd_real go = n->out->grad[0] * s->inv_norm * 2;
#pragma omp parallel for schedule(static) if (p->numel > PD_OMP_MIN_WORK)
    for (int64_t r = 0; r < R; r++) {
        if (s->row_valid && !s->row_valid[r]) continue;
        for (int64_t j = 0; j < D; j++) {
            pd_real d = pd_mse_grad(go, p->data[r * D + j], t->data[r * D + j]);
            if (gp) gp[r * D + j] += d;
            if (gt) gt[r * D + j] -= d;
        }
    }
}

pd_tensor *pd_mse(pd_graph *g, pd_tensor *pred, pd_tensor *target, const uint8_t *row_valid, double normaliser)
{
    if (!pd_graph_ok(g, pred) || !pd_graph_ok(g, target)) return NULL;
    if (!pd_shape_equal(pred, target))
        return pd_graph_fail(g, "mse: prediction %s and target %s differ", pd_shape_of(pred).s, pd_shape_of(target).s);
    int64_t D = pd_tensor_cols(pred), R = pd_tensor_rows(pred), valid = 0;
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        for (int64_t r = 0; r < R; r++) valid += (!row_valid || row_valid[r]) ? D : 0;
        double norm = normaliser > 0 ? normaliser : (double)(valid ? valid : 1);
        const uint8_t *mask = copy_mask(g, row_valid, R);
        pd_tensor *y = pd_tensor_new1(g, 1);
        pd_cuda_arena *work = pd_graph_cuda_work(g);
        if (!y || !work || (row_valid && !mask)) return NULL;
        size_t mark = work->used;
        pd_status st = pd_cuda_mse_forward(work, pred->data, target->data, mask, y->data, R, D, norm);
        work->used = mark;
        if (!pd_graph_cuda_forward_done(g, st, "mse")) return NULL;
        pd_node *nd = pd_record(g, "mse", mse_backward, y, 2, (pd_tensor *[]){pred, target});
        pd_node_on_device(nd);
        if (nd) {
            mse_saved *s = pd_node_save(g, nd, sizeof *s);
            if (!s) return NULL;
            *s = (mse_saved){mask, (pd_real)(1.0 / norm), norm};
        }
        return y;
    }
#endif
    double total = 0;
    for (int64_t r = 0; r < R; r++) {
        if (row_valid && !row_valid[r]) continue;
        valid += D;
        for (int64_t j = 0; j < D; j++) {
            double d = (double)pred->data[r * D + j] - (double)target->data[r * D + j];
            total += d * d;
        }
    }
    double norm = normaliser > 0 ? normaliser : (double)(valid ? valid : 1);
    pd_tensor *y = pd_tensor_new1(g, 1);
    if (!y) return NULL;
    y->data[0] = (pd_real)(total / norm);
    pd_node *n = pd_record(g, "mse", mse_backward, y, 2, (pd_tensor *[]){pred, target});
    if (n) {
        mse_saved *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        s->row_valid = copy_mask(g, row_valid, R);
        s->inv_norm = (pd_real)(1.0 / norm);
        s->norm = norm;
    }
    return y;
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
    int64_t C = pd_tensor_cols(x), R = pd_tensor_rows(x);
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        pd_graph_cuda_backward_done(g, pd_cuda_cross_entropy_backward(x->data, s->target, s->ignore_index, s->lse,
                                                                      n->out->grad, gx, R, C, s->norm), "cross_entropy");
        return;
    }
#endif
    pd_real go = n->out->grad[0] * s->inv_norm;
#pragma omp parallel for schedule(static) if (x->numel > PD_OMP_MIN_WORK)
    for (int64_t r = 0; r < R; r++) {
        int32_t t = s->target[r];
        if (t == s->ignore_index) continue;
        const pd_real *xr = x->data + r * C;
        for (int64_t c = 0; c < C; c++) gx[r * C + c] += pd_cross_entropy_grad(go, xr[c], s->lse[r], c == t);
    }
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
    pd_real *lse = pd_graph_alloc(g, (size_t)(R + 1) * sizeof(pd_real));
    if (!lse) return NULL;
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        double norm = normaliser > 0 ? normaliser : (double)(valid ? valid : 1);
        int32_t *t = pd_graph_alloc(g, (size_t)(R + 1) * sizeof(int32_t));
        pd_tensor *y = pd_tensor_new1(g, 1);
        pd_cuda_arena *work = pd_graph_cuda_work(g);
        if (!t || !y || !work) return NULL;
        memcpy(t, target, (size_t)R * sizeof(int32_t));
        size_t mark = work->used;
        pd_status st = pd_cuda_cross_entropy_forward(work, logits->data, t, ignore_index, lse, y->data, R, C, norm);
        work->used = mark;
        if (!pd_graph_cuda_forward_done(g, st, "cross_entropy")) return NULL;
        pd_node *nd = pd_record(g, "cross_entropy", ce_backward, y, 1, (pd_tensor *[]){logits});
        pd_node_on_device(nd);
        if (nd) {
            ce_saved *s = pd_node_save(g, nd, sizeof *s);
            if (!s) return NULL;
            *s = (ce_saved){t, ignore_index, lse, (pd_real)(1.0 / norm), norm};
        }
        return y;
    }
#endif
    double total = 0;
    for (int64_t r = 0; r < R; r++) {
        const pd_real *xr = logits->data + r * C;
        pd_real mx = xr[0];
        for (int64_t c = 1; c < C; c++) mx = xr[c] > mx ? xr[c] : mx;
        pd_real sum = 0;
        for (int64_t c = 0; c < C; c++) sum += pd_exp(xr[c] - mx);
        lse[r] = pd_log_sum_exp(mx, sum);
        if (target[r] != ignore_index) total += (double)lse[r] - (double)xr[target[r]];
    }
    double norm = normaliser > 0 ? normaliser : (double)(valid ? valid : 1);
    pd_tensor *y = pd_tensor_new1(g, 1);
    if (!y) return NULL;
    y->data[0] = (pd_real)(total / norm);
    pd_node *n = pd_record(g, "cross_entropy", ce_backward, y, 1, (pd_tensor *[]){logits});
    if (n) {
        ce_saved *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        int32_t *t = pd_graph_alloc(g, (size_t)(R + 1) * sizeof(int32_t));
        if (!t) return NULL;
        memcpy(t, target, (size_t)R * sizeof(int32_t));
        *s = (ce_saved){t, ignore_index, lse, (pd_real)(1.0 / norm), norm};
    }
    return y;
}
