/* ops_activation.c — GELU (exact and tanh), SiLU, ReLU, sigmoid, softmax and log-softmax over
 * the last dim. Per-element formulas come from pointwise_ops.h (shared with CUDA); on a GPU
 * graph the kernels of cuda/ops_elementwise.cu and cuda/ops_rows.cu run instead. */
#include "nn/ops.h"

#include "nn/ops_device.h"
#include "nn/ops_internal.h"
#include "nn/pointwise_kernels.h"

/* Values and derivatives are pd_act_value / pd_act_derivative (pointwise_ops.h, shared with CUDA). */
typedef struct act_saved { pd_act_kind kind; } act_saved;

static void act_backward(pd_graph *g, pd_node *n)
{
    const act_saved *s = n->saved;
    pd_tensor *x = n->in[0], *y = n->out;
    pd_real *gx = pd_grad(g, x);
    if (!gx) return;
    int64_t N = x->numel;
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        pd_graph_cuda_backward_done(g, pd_cuda_activation_backward(s->kind, x->data, y->data, y->grad, gx, N), n->op);
        return;
    }
#endif
    pd_act_backward(s->kind, x->data, y->data, y->grad, gx, N);
}

static pd_tensor *activation(pd_graph *g, pd_act_kind kind, const char *name, pd_tensor *x)
{
    if (!pd_graph_ok(g, x)) return NULL;
    pd_tensor *y = pd_tensor_new_like(g, x);
    if (!y) return NULL;
    int64_t N = x->numel;
    int on_gpu = 0;
#if PD_NN_CUDA
    on_gpu = pd_graph_on_cuda(g);
    if (on_gpu && !pd_graph_cuda_forward_done(g, pd_cuda_activation_forward(kind, x->data, y->data, N), name))
        return NULL;
#endif
    if (!on_gpu) {
        pd_act_forward(kind, x->data, y->data, N);
    }
    pd_node *n = pd_record(g, name, act_backward, y, 1, (pd_tensor *[]){x});
#if PD_NN_CUDA
    if (on_gpu) pd_node_on_device(n);
#endif
    if (n) {
        act_saved *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        s->kind = kind;
    }
    return y;
}

pd_tensor *pd_gelu(pd_graph *g, pd_tensor *x) { return activation(g, PD_ACT_GELU, "gelu", x); }
pd_tensor *pd_gelu_tanh(pd_graph *g, pd_tensor *x) { return activation(g, PD_ACT_GELU_TANH, "gelu_tanh", x); }
pd_tensor *pd_silu(pd_graph *g, pd_tensor *x) { return activation(g, PD_ACT_SILU, "silu", x); }
pd_tensor *pd_relu(pd_graph *g, pd_tensor *x) { return activation(g, PD_ACT_RELU, "relu", x); }
pd_tensor *pd_sigmoid(pd_graph *g, pd_tensor *x) { return activation(g, PD_ACT_SIGMOID, "sigmoid", x); }

/* ---- softmax / log-softmax over the last dim ---- */

static void softmax_backward(pd_graph *g, pd_node *n)
{
    pd_tensor *x = n->in[0], *y = n->out;
    pd_real *gx = pd_grad(g, x);
    if (!gx) return;
    int64_t C = pd_tensor_cols(x), R = pd_tensor_rows(x);
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        pd_graph_cuda_backward_done(g, pd_cuda_softmax_backward(y->data, y->grad, gx, R, C, 0), n->op);
        return;
    }
#endif
#pragma omp parallel for schedule(static) if (x->numel > PD_OMP_MIN_WORK)
    for (int64_t r = 0; r < R; r++) {
        const pd_real *yr = y->data + r * C, *gyr = y->grad + r * C;
        pd_real dot = 0;
        for (int64_t c = 0; c < C; c++) dot += yr[c] * gyr[c];
        for (int64_t c = 0; c < C; c++) gx[r * C + c] += pd_softmax_grad(yr[c], gyr[c], dot);
    }
}

static void log_softmax_backward(pd_graph *g, pd_node *n)
{
    pd_tensor *x = n->in[0], *y = n->out;
    pd_real *gx = pd_grad(g, x);
    if (!gx) return;
    int64_t C = pd_tensor_cols(x), R = pd_tensor_rows(x);
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        pd_graph_cuda_backward_done(g, pd_cuda_softmax_backward(y->data, y->grad, gx, R, C, 1), n->op);
        return;
    }
#endif
#pragma omp parallel for schedule(static) if (x->numel > PD_OMP_MIN_WORK)
    for (int64_t r = 0; r < R; r++) {
        const pd_real *yr = y->data + r * C, *gyr = y->grad + r * C;
        pd_real sum = 0;
        for (int64_t c = 0; c < C; c++) sum += gyr[c];
        for (int64_t c = 0; c < C; c++) gx[r * C + c] += pd_log_softmax_grad(yr[c], gyr[c], sum);
    }
}

static pd_tensor *softmax_like(pd_graph *g, pd_tensor *x, int take_log)
{
    if (!pd_graph_ok(g, x)) return NULL;
    pd_tensor *y = pd_tensor_new_like(g, x);
    if (!y) return NULL;
    int64_t C = pd_tensor_cols(x), R = pd_tensor_rows(x);
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        const char *op = take_log ? "log_softmax" : "softmax";
        if (!pd_graph_cuda_forward_done(g, pd_cuda_softmax_forward(x->data, y->data, R, C, take_log), op)) return NULL;
        pd_node_on_device(pd_record(g, op, take_log ? log_softmax_backward : softmax_backward, y, 1, (pd_tensor *[]){x}));
        return y;
    }
#endif
#pragma omp parallel for schedule(static) if (x->numel > PD_OMP_MIN_WORK)
    for (int64_t r = 0; r < R; r++) {
        const pd_real *xr = x->data + r * C;
        pd_real *yr = y->data + r * C;
        pd_real mx = xr[0];
        for (int64_t c = 1; c < C; c++) mx = xr[c] > mx ? xr[c] : mx;
        pd_real sum = 0;
        for (int64_t c = 0; c < C; c++) sum += pd_exp(xr[c] - mx);
        if (take_log) {
            pd_real lse = pd_log_sum_exp(mx, sum);
            for (int64_t c = 0; c < C; c++) yr[c] = xr[c] - lse;
        } else {
            pd_real inv = 1 / sum;
            for (int64_t c = 0; c < C; c++) yr[c] = pd_softmax_value(xr[c], mx, inv);
        }
    }
    pd_record(g, take_log ? "log_softmax" : "softmax", take_log ? log_softmax_backward : softmax_backward, y, 1,
              (pd_tensor *[]){x});
    return y;
}

pd_tensor *pd_softmax(pd_graph *g, pd_tensor *x) { return softmax_like(g, x, 0); }
pd_tensor *pd_log_softmax(pd_graph *g, pd_tensor *x) { return softmax_like(g, x, 1); }
