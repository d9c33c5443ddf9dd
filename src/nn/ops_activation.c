/* ops_activation.c — GELU (exact and tanh), SiLU, ReLU, sigmoid, softmax and log-softmax over
 * the last dim. Per-element formulas come from pointwise.h (shared with CUDA). */
#include "nn/ops.h"

#include "nn/ops_internal.h"
#include "nn/pointwise.h"

typedef enum { ACT_GELU, ACT_GELU_TANH, ACT_SILU, ACT_RELU, ACT_SIGMOID } act_kind;
typedef struct act_saved { act_kind kind; } act_saved;

static pd_real act_value(act_kind k, pd_real x)
{
    switch (k) {
    case ACT_GELU: return pd_gelu_f(x);
    case ACT_GELU_TANH: return pd_gelu_tanh_f(x);
    case ACT_SILU: return pd_silu_f(x);
    case ACT_RELU: return x > 0 ? x : 0;
    case ACT_SIGMOID: return pd_sigmoid_f(x);
    }
    return 0;
}

/* Derivative from the input x (and output y where that is cheaper). */
static pd_real act_derivative(act_kind k, pd_real x, pd_real y)
{
    switch (k) {
    case ACT_GELU: return pd_gelu_df(x);
    case ACT_GELU_TANH: return pd_gelu_tanh_df(x);
    case ACT_SILU: return pd_silu_df(x);
    case ACT_RELU: return x > 0 ? 1 : 0;
    case ACT_SIGMOID: return y * (1 - y);
    }
    return 0;
}

static void act_backward(pd_graph *g, pd_node *n)
{
    const act_saved *s = n->saved;
    pd_tensor *x = n->in[0], *y = n->out;
    pd_real *gx = pd_grad(g, x);
    if (!gx) return;
    int64_t N = x->numel;
#pragma omp parallel for schedule(static) if (N > PD_OMP_MIN_WORK / 4)
    for (int64_t i = 0; i < N; i++) gx[i] += y->grad[i] * act_derivative(s->kind, x->data[i], y->data[i]);
}

static pd_tensor *activation(pd_graph *g, act_kind kind, const char *name, pd_tensor *x)
{
    if (!pd_graph_ok(g, x)) return NULL;
    pd_tensor *y = pd_tensor_new_like(g, x);
    if (!y) return NULL;
    int64_t N = x->numel;
#pragma omp parallel for schedule(static) if (N > PD_OMP_MIN_WORK / 4)
    for (int64_t i = 0; i < N; i++) y->data[i] = act_value(kind, x->data[i]);
    pd_node *n = pd_record(g, name, act_backward, y, 1, (pd_tensor *[]){x});
    if (n) {
        act_saved *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        s->kind = kind;
    }
    return y;
}

pd_tensor *pd_gelu(pd_graph *g, pd_tensor *x) { return activation(g, ACT_GELU, "gelu", x); }
pd_tensor *pd_gelu_tanh(pd_graph *g, pd_tensor *x) { return activation(g, ACT_GELU_TANH, "gelu_tanh", x); }
pd_tensor *pd_silu(pd_graph *g, pd_tensor *x) { return activation(g, ACT_SILU, "silu", x); }
pd_tensor *pd_relu(pd_graph *g, pd_tensor *x) { return activation(g, ACT_RELU, "relu", x); }
pd_tensor *pd_sigmoid(pd_graph *g, pd_tensor *x) { return activation(g, ACT_SIGMOID, "sigmoid", x); }

/* ---- softmax / log-softmax over the last dim ---- */

static void softmax_backward(pd_graph *g, pd_node *n)
{
    pd_tensor *x = n->in[0], *y = n->out;
    pd_real *gx = pd_grad(g, x);
    if (!gx) return;
    int64_t C = pd_tensor_cols(x), R = pd_tensor_rows(x);
#pragma omp parallel for schedule(static) if (x->numel > PD_OMP_MIN_WORK)
    for (int64_t r = 0; r < R; r++) {
        const pd_real *yr = y->data + r * C, *gyr = y->grad + r * C;
        pd_real dot = 0;
        for (int64_t c = 0; c < C; c++) dot += yr[c] * gyr[c];
        for (int64_t c = 0; c < C; c++) gx[r * C + c] += yr[c] * (gyr[c] - dot);
    }
}

static void log_softmax_backward(pd_graph *g, pd_node *n)
{
    pd_tensor *x = n->in[0], *y = n->out;
    pd_real *gx = pd_grad(g, x);
    if (!gx) return;
    int64_t C = pd_tensor_cols(x), R = pd_tensor_rows(x);
#pragma omp parallel for schedule(static) if (x->numel > PD_OMP_MIN_WORK)
    for (int64_t r = 0; r < R; r++) {
        const pd_real *yr = y->data + r * C, *gyr = y->grad + r * C;
        pd_real sum = 0;
        for (int64_t c = 0; c < C; c++) sum += gyr[c];
        for (int64_t c = 0; c < C; c++) gx[r * C + c] += gyr[c] - pd_exp(yr[c]) * sum;
    }
}

static pd_tensor *softmax_like(pd_graph *g, pd_tensor *x, int take_log)
{
    if (!pd_graph_ok(g, x)) return NULL;
    pd_tensor *y = pd_tensor_new_like(g, x);
    if (!y) return NULL;
    int64_t C = pd_tensor_cols(x), R = pd_tensor_rows(x);
#pragma omp parallel for schedule(static) if (x->numel > PD_OMP_MIN_WORK)
    for (int64_t r = 0; r < R; r++) {
        const pd_real *xr = x->data + r * C;
        pd_real *yr = y->data + r * C;
        pd_real mx = xr[0];
        for (int64_t c = 1; c < C; c++) mx = xr[c] > mx ? xr[c] : mx;
        pd_real sum = 0;
        for (int64_t c = 0; c < C; c++) sum += pd_exp(xr[c] - mx);
        if (take_log) {
            pd_real lse = mx + pd_log(sum);
            for (int64_t c = 0; c < C; c++) yr[c] = xr[c] - lse;
        } else {
            pd_real inv = 1 / sum;
            for (int64_t c = 0; c < C; c++) yr[c] = pd_exp(xr[c] - mx) * inv;
        }
    }
    pd_record(g, take_log ? "log_softmax" : "softmax", take_log ? log_softmax_backward : softmax_backward, y, 1,
              (pd_tensor *[]){x});
    return y;
}

pd_tensor *pd_softmax(pd_graph *g, pd_tensor *x) { return softmax_like(g, x, 0); }
pd_tensor *pd_log_softmax(pd_graph *g, pd_tensor *x) { return softmax_like(g, x, 1); }
