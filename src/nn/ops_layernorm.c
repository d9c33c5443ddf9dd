/* ops_layernorm.c — LayerNorm over the last dim, with optional weight and bias
 * (torch.nn.LayerNorm(D, elementwise_affine=..., bias=...)): the op and its CPU kernels
 * (backend_cpu.c's table). Statistics are saved per row. On a device graph the backend's
 * kernels run (same formulas, pointwise_norm.h). */
#include "nn/ops.h"

#include <string.h>

#include "nn/backend_cpu.h"
#include "nn/kernel_desc.h"
#include "nn/op_run.h"
#include "nn/ops_internal.h"
#include "nn/pointwise_norm.h"

pd_status pd_cpu_layernorm_forward(const void *desc)
{
    const pd_layernorm_desc *d = desc;
    const int64_t R = d->rows, D = d->D;
    const pd_real *weight = d->weight, *bias = d->bias;
    pd_real *mean = d->mean, *rstd = d->rstd;
#pragma omp parallel for schedule(static) if (R * D > PD_OMP_MIN_WORK)
    for (int64_t r = 0; r < R; r++) {
        const pd_real *xr = d->x + r * D;
        pd_real *yr = d->y + r * D;
        pd_real mu = 0, var = 0;
        for (int64_t j = 0; j < D; j++) mu += xr[j];
        mu /= (pd_real)D;
        for (int64_t j = 0; j < D; j++) var += (xr[j] - mu) * (xr[j] - mu);
        var /= (pd_real)D;
        pd_real rs = pd_layernorm_rstd(var, (pd_real)d->eps);
        for (int64_t j = 0; j < D; j++) {
            yr[j] = pd_layernorm_value(xr[j], mu, rs, weight != NULL, weight ? weight[j] : 0, bias != NULL,
                                       bias ? bias[j] : 0);
        }
        if (mean) {
            mean[r] = mu;
            rstd[r] = rs;
        }
    }
    return PD_OK;
}

pd_status pd_cpu_layernorm_backward(const void *desc)
{
    const pd_layernorm_desc *d = desc;
    const int64_t D = d->D, R = d->rows;
    const pd_real *gy = d->gy, *w = d->weight, *X = d->x, *mean = d->mean, *rstd = d->rstd;
    pd_real *gx = d->gx, *gw = d->gweight, *gb = d->gbias;
    if (gx) {
#pragma omp parallel for schedule(static) if (R * D > PD_OMP_MIN_WORK)
        for (int64_t r = 0; r < R; r++) {
            const pd_real *xr = X + r * D, *gyr = gy + r * D;
            pd_real mu = mean[r], rs = rstd[r];
            pd_real sum_d = 0, sum_dx = 0;
            for (int64_t j = 0; j < D; j++) {
                pd_real v = gyr[j] * (w ? w[j] : 1);
                sum_d += v;
                sum_dx += v * (xr[j] - mu) * rs;
            }
            sum_d /= (pd_real)D;
            sum_dx /= (pd_real)D;
            for (int64_t j = 0; j < D; j++) {
                pd_real v = gyr[j] * (w ? w[j] : 1);
                pd_real xh = (xr[j] - mu) * rs;
                gx[r * D + j] += pd_layernorm_grad_x(rs, v, sum_d, xh, sum_dx);
            }
        }
    }
    if (gw || gb) {
        /* Column blocks: each weight element is summed over rows by one thread, in row order. */
        const int64_t block = 16;
        int64_t n_blocks = (D + block - 1) / block;
#pragma omp parallel for schedule(static) if (R * D > PD_OMP_MIN_WORK && n_blocks > 1)
        for (int64_t cb = 0; cb < n_blocks; cb++) {
            int64_t c0 = cb * block, c1 = c0 + block < D ? c0 + block : D;
            pd_real accw[16] = {0}, accb[16] = {0};
            for (int64_t r = 0; r < R; r++) {
                const pd_real *xr = X + r * D, *gyr = gy + r * D;
                for (int64_t j = c0; j < c1; j++) {
                    accw[j - c0] += pd_layernorm_grad_w_term(gyr[j], xr[j], mean[r], rstd[r]);
                    accb[j - c0] += gyr[j];
                }
            }
            for (int64_t j = c0; j < c1; j++) {
                if (gw) gw[j] += accw[j - c0];
                if (gb) gb[j] += accb[j - c0];
            }
        }
    }
    return PD_OK;
}

typedef struct layernorm_saved { pd_real *mean, *rstd; } layernorm_saved;

static void layernorm_backward(pd_graph *g, pd_node *n)
{
    const layernorm_saved *s = n->saved;
    pd_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2], *y = n->out;
    pd_layernorm_desc d = {.rows = pd_tensor_rows(x), .D = pd_tensor_cols(x), .x = x->data,
                           .weight = w ? w->data : NULL, .mean = s->mean, .rstd = s->rstd, .gy = y->grad,
                           .gx = pd_grad(g, x), .gweight = pd_grad(g, w), .gbias = pd_grad(g, b)};
    pd_op_backward(g, n, &d);
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
    /* the statistics are kept for the backward; a device kernel writes them either way */
    int stats = record || pd_graph_device(g) != PD_DEVICE_CPU;
    pd_real *mean = stats ? pd_graph_alloc(g, (size_t)R * sizeof(pd_real)) : NULL;
    pd_real *rstd = stats ? pd_graph_alloc(g, (size_t)R * sizeof(pd_real)) : NULL;
    if (stats && (!mean || !rstd)) return NULL;
    pd_layernorm_desc d = {.rows = R, .D = D, .eps = eps, .x = x->data, .weight = weight ? weight->data : NULL,
                           .bias = bias ? bias->data : NULL, .y = y->data, .mean = mean, .rstd = rstd};
    if (!pd_op_forward(g, PD_OP_LAYERNORM, &d)) return NULL;
    pd_node *n = pd_record_op(g, PD_OP_LAYERNORM, layernorm_backward, y, 3, (pd_tensor *[]){x, weight, bias});
    if (n) {
        layernorm_saved *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        s->mean = mean;
        s->rstd = rstd;
    }
    return y;
}
