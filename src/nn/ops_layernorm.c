/* ops_layernorm.c — LayerNorm over the last dim, with optional weight and bias
 * (torch.nn.LayerNorm(D, elementwise_affine=..., bias=...)). Statistics are saved per row.
 * On a GPU graph cuda/ops_rows.cu's kernels run (same formulas, pointwise_norm.h). */
#include "nn/ops.h"

#include <string.h>

#include "nn/ops_device.h"
#include "nn/ops_internal.h"
#include "nn/pointwise_norm.h"

typedef struct layernorm_saved { pd_real *mean, *rstd; } layernorm_saved;

static void layernorm_backward(pd_graph *g, pd_node *n)
{
    const layernorm_saved *s = n->saved;
    pd_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2], *y = n->out;
    int64_t D = pd_tensor_cols(x), R = pd_tensor_rows(x);
    const pd_real *gy = y->grad;
    pd_real *gx = pd_grad(g, x), *gw = pd_grad(g, w), *gb = pd_grad(g, b);
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        pd_graph_cuda_backward_done(g, pd_cuda_layernorm_backward(x->data, w ? w->data : NULL, s->mean, s->rstd, gy, gx,
                                                                  gw, gb, R, D), "layernorm");
        return;
    }
#endif
    if (gx) {
#pragma omp parallel for schedule(static) if (x->numel > PD_OMP_MIN_WORK)
        for (int64_t r = 0; r < R; r++) {
            const pd_real *xr = x->data + r * D, *gyr = gy + r * D;
            pd_real mu = s->mean[r], rs = s->rstd[r];
            pd_real sum_d = 0, sum_dx = 0;
            for (int64_t j = 0; j < D; j++) {
                pd_real d = gyr[j] * (w ? w->data[j] : 1);
                sum_d += d;
                sum_dx += d * (xr[j] - mu) * rs;
            }
            sum_d /= (pd_real)D;
            sum_dx /= (pd_real)D;
            for (int64_t j = 0; j < D; j++) {
                pd_real d = gyr[j] * (w ? w->data[j] : 1);
                pd_real xh = (xr[j] - mu) * rs;
                gx[r * D + j] += pd_layernorm_grad_x(rs, d, sum_d, xh, sum_dx);
            }
        }
    }
    if (gw || gb) {
        /* Column blocks: each weight element is summed over rows by one thread, in row order. */
        const int64_t block = 16;
        int64_t n_blocks = (D + block - 1) / block;
#pragma omp parallel for schedule(static) if (x->numel > PD_OMP_MIN_WORK && n_blocks > 1)
        for (int64_t cb = 0; cb < n_blocks; cb++) {
            int64_t c0 = cb * block, c1 = c0 + block < D ? c0 + block : D;
            pd_real accw[16] = {0}, accb[16] = {0};
            for (int64_t r = 0; r < R; r++) {
                const pd_real *xr = x->data + r * D, *gyr = gy + r * D;
                for (int64_t j = c0; j < c1; j++) {
                    accw[j - c0] += pd_layernorm_grad_w_term(gyr[j], xr[j], s->mean[r], s->rstd[r]);
                    accb[j - c0] += gyr[j];
                }
            }
            for (int64_t j = c0; j < c1; j++) {
                if (gw) gw[j] += accw[j - c0];
                if (gb) gb[j] += accb[j - c0];
            }
        }
    }
}

pd_tensor *pd_layernorm(pd_graph *g, pd_tensor *x, pd_tensor *weight, pd_tensor *bias, double eps)
{
    if (!pd_graph_ok(g, x)) return NULL;
    int64_t D = pd_tensor_cols(x), R = pd_tensor_rows(x);
    if ((weight && (weight->ndim != 1 || weight->shape[0] != D)) || (bias && (bias->ndim != 1 || bias->shape[0] != D)))
        return pd_graph_fail(g, "layernorm: input %s with weight %s and bias %s: both must be [%lld]",
                             pd_shape_of(x).s, pd_shape_of(weight).s, pd_shape_of(bias).s, (long long)D);
    pd_tensor *y = pd_tensor_new_like(g, x);
    if (!y) return NULL;
    int record = pd_graph_grad_enabled(g) &&
                 (x->requires_grad || (weight && weight->requires_grad) || (bias && bias->requires_grad));
    pd_real *mean = record ? pd_graph_alloc(g, (size_t)R * sizeof(pd_real)) : NULL;
    pd_real *rstd = record ? pd_graph_alloc(g, (size_t)R * sizeof(pd_real)) : NULL;
    if (record && (!mean || !rstd)) return NULL;
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        if (!mean) { /* the kernel writes the statistics either way */
            mean = pd_graph_alloc(g, (size_t)R * sizeof(pd_real));
            rstd = pd_graph_alloc(g, (size_t)R * sizeof(pd_real));
            if (!mean || !rstd) return NULL;
        }
        if (!pd_graph_cuda_forward_done(g, pd_cuda_layernorm_forward(x->data, weight ? weight->data : NULL,
                                                                     bias ? bias->data : NULL, y->data, mean, rstd, R, D,
                                                                     (float)eps), "layernorm"))
            return NULL;
        pd_node *nd = pd_record(g, "layernorm", layernorm_backward, y, 3, (pd_tensor *[]){x, weight, bias});
        pd_node_on_device(nd);
        if (nd) {
            layernorm_saved *s = pd_node_save(g, nd, sizeof *s);
            if (!s) return NULL;
            s->mean = mean;
            s->rstd = rstd;
        }
        return y;
    }
#endif
#pragma omp parallel for schedule(static) if (x->numel > PD_OMP_MIN_WORK)
    for (int64_t r = 0; r < R; r++) {
        const pd_real *xr = x->data + r * D;
        pd_real *yr = y->data + r * D;
        pd_real mu = 0, var = 0;
        for (int64_t j = 0; j < D; j++) mu += xr[j];
        mu /= (pd_real)D;
        for (int64_t j = 0; j < D; j++) var += (xr[j] - mu) * (xr[j] - mu);
        var /= (pd_real)D;
        pd_real rs = pd_layernorm_rstd(var, (pd_real)eps);
        for (int64_t j = 0; j < D; j++) {
            yr[j] = pd_layernorm_value(xr[j], mu, rs, weight != NULL, weight ? weight->data[j] : 0, bias != NULL,
                                       bias ? bias->data[j] : 0);
        }
        if (mean) {
            mean[r] = mu;
            rstd[r] = rs;
        }
    }
    pd_node *n = pd_record(g, "layernorm", layernorm_backward, y, 3, (pd_tensor *[]){x, weight, bias});
    if (n) {
        layernorm_saved *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        s->mean = mean;
        s->rstd = rstd;
    }
    return y;
}
