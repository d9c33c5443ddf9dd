/* ops_activation.c — GELU (exact and tanh), SiLU, ReLU, sigmoid, softmax and log-softmax over
 * the last dim: the op functions (shape, allocation, descriptor, record) and their CPU kernels
 * (backend_cpu.c's table). Per-element formulas come from pointwise_ops.h (shared with CUDA);
 * on a device graph the backend's kernels run instead (op_run.h). */
#include "nn/ops.h"

#include "nn/backend_cpu.h"
#include "nn/kernel_desc.h"
#include "nn/op_run.h"
#include "nn/ops_internal.h"
#include "nn/pointwise_kernels.h"

/* ---- CPU kernels ---- */

pd_status pd_cpu_activation_forward(const void *desc)
{
    const pd_activation_desc *d = desc;
    pd_act_forward(d->kind, d->x, d->y, d->n);   /* vectorised loops (pointwise_kernels.c) */
    return PD_OK;
}

/* Values and derivatives are pd_act_value / pd_act_derivative (pointwise_ops.h, shared with CUDA),
 * in the vectorised loops of pointwise_kernels.c. */
pd_status pd_cpu_activation_backward(const void *desc)
{
    const pd_activation_desc *d = desc;
    pd_act_backward(d->kind, d->x, d->y, d->gy, d->gx, d->n);
    return PD_OK;
}

pd_status pd_cpu_softmax_forward(const void *desc)
{
    const pd_softmax_desc *d = desc;
    const int64_t R = d->rows, C = d->cols;
#pragma omp parallel for schedule(static) if (R * C > PD_OMP_MIN_WORK)
    for (int64_t r = 0; r < R; r++) {
        const pd_real *xr = d->x + r * C;
        pd_real *yr = d->y + r * C;
        pd_real mx = xr[0];
        for (int64_t c = 1; c < C; c++) mx = xr[c] > mx ? xr[c] : mx;
        pd_real sum = 0;
        for (int64_t c = 0; c < C; c++) sum += pd_exp(xr[c] - mx);
        if (d->take_log) {
            pd_real lse = pd_log_sum_exp(mx, sum);
            for (int64_t c = 0; c < C; c++) yr[c] = xr[c] - lse;
        } else {
            pd_real inv = 1 / sum;
            for (int64_t c = 0; c < C; c++) yr[c] = pd_softmax_value(xr[c], mx, inv);
        }
    }
    return PD_OK;
}

pd_status pd_cpu_softmax_backward(const void *desc)
{
    const pd_softmax_desc *d = desc;
    const int64_t R = d->rows, C = d->cols;
    pd_real *gx = d->gx;
#pragma omp parallel for schedule(static) if (R * C > PD_OMP_MIN_WORK)
    for (int64_t r = 0; r < R; r++) {
        const pd_real *yr = d->y + r * C, *gyr = d->gy + r * C;
        if (d->take_log) {
            pd_real sum = 0;
            for (int64_t c = 0; c < C; c++) sum += gyr[c];
            for (int64_t c = 0; c < C; c++) gx[r * C + c] += pd_log_softmax_grad(yr[c], gyr[c], sum);
        } else {
            pd_real dot = 0;
            for (int64_t c = 0; c < C; c++) dot += yr[c] * gyr[c];
            for (int64_t c = 0; c < C; c++) gx[r * C + c] += pd_softmax_grad(yr[c], gyr[c], dot);
        }
    }
    return PD_OK;
}

/* ---- ops ---- */

typedef struct act_saved { pd_act_kind kind; } act_saved;

static void act_backward(pd_graph *g, pd_node *n)
{
    const act_saved *s = n->saved;
    pd_tensor *x = n->in[0], *y = n->out;
    pd_real *gx = pd_grad(g, x);
    if (!gx) return;
    pd_activation_desc d = {.kind = s->kind, .n = x->numel, .x = x->data, .y = y->data, .gy = y->grad, .gx = gx};
    pd_op_backward(g, n, &d);
}

static pd_tensor *activation(pd_graph *g, pd_act_kind kind, pd_op op, pd_tensor *x)
{
    if (!pd_graph_ok(g, x)) return NULL;
    pd_tensor *y = pd_tensor_new_like(g, x);
    if (!y) return NULL;
    pd_activation_desc d = {.kind = kind, .n = x->numel, .x = x->data, .y = y->data};
    if (!pd_op_forward(g, op, &d)) return NULL;
    pd_node *n = pd_record_op(g, op, act_backward, y, 1, (pd_tensor *[]){x});
    if (n) {
        act_saved *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        s->kind = kind;
    }
    return y;
}

pd_tensor *pd_gelu(pd_graph *g, pd_tensor *x) { return activation(g, PD_ACT_GELU, PD_OP_GELU, x); }
pd_tensor *pd_gelu_tanh(pd_graph *g, pd_tensor *x) { return activation(g, PD_ACT_GELU_TANH, PD_OP_GELU_TANH, x); }
pd_tensor *pd_silu(pd_graph *g, pd_tensor *x) { return activation(g, PD_ACT_SILU, PD_OP_SILU, x); }
pd_tensor *pd_relu(pd_graph *g, pd_tensor *x) { return activation(g, PD_ACT_RELU, PD_OP_RELU, x); }
pd_tensor *pd_sigmoid(pd_graph *g, pd_tensor *x) { return activation(g, PD_ACT_SIGMOID, PD_OP_SIGMOID, x); }

/* ---- softmax / log-softmax over the last dim ---- */

static void softmax_backward(pd_graph *g, pd_node *n)
{
    pd_tensor *x = n->in[0], *y = n->out;
    pd_real *gx = pd_grad(g, x);
    if (!gx) return;
    pd_softmax_desc d = {.take_log = n->op_id == PD_OP_LOG_SOFTMAX, .rows = pd_tensor_rows(x),
                         .cols = pd_tensor_cols(x), .x = x->data, .y = y->data, .gy = y->grad, .gx = gx};
    pd_op_backward(g, n, &d);
}

static pd_tensor *softmax_like(pd_graph *g, pd_tensor *x, int take_log)
{
    if (!pd_graph_ok(g, x)) return NULL;
    pd_tensor *y = pd_tensor_new_like(g, x);
    if (!y) return NULL;
    const pd_op op = take_log ? PD_OP_LOG_SOFTMAX : PD_OP_SOFTMAX;
    pd_softmax_desc d = {.take_log = take_log, .rows = pd_tensor_rows(x), .cols = pd_tensor_cols(x),
                         .x = x->data, .y = y->data};
    if (!pd_op_forward(g, op, &d)) return NULL;
    pd_record_op(g, op, softmax_backward, y, 1, (pd_tensor *[]){x});
    return y;
}

pd_tensor *pd_softmax(pd_graph *g, pd_tensor *x) { return softmax_like(g, x, 0); }
pd_tensor *pd_log_softmax(pd_graph *g, pd_tensor *x) { return softmax_like(g, x, 1); }
