/* test_bf16_emulation.c — runs on the CPU (every build): the precision cost of the CUDA
 * backend's BF16 mode, measured by rounding through pd_f32_to_bf16 exactly where the GPU
 * stores bf16 (every GEMM operand: activations, weights = bf16 copies of the fp32 masters,
 * attention probabilities, and the output gradients entering backward GEMMs) on a pre-LN
 * transformer block, forward + backward and 6 AdamW steps, against the same block in fp32. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/half.h"
#include "core/rng.h"
#include "nn/ops.h"
#include "nn/optim.h"
#include "nn/params.h"
#include "test.h"

/* ---- the two rounding points as tape ops ---- */

static pd_real round_bf16(pd_real v) { return (pd_real)pd_bf16_to_f32(pd_f32_to_bf16((float)v)); }

static void straight_through_backward(pd_graph *g, pd_node *n)
{
    pd_real *gx = pd_grad(g, n->in[0]);
    if (!gx) return;
    for (int64_t i = 0; i < n->out->numel; i++) gx[i] += n->out->grad[i];
}

/* Forward value rounded to bf16 (a GEMM operand); the gradient passes unrounded (the GEMM's
 * result is fp32 and lands in the fp32 gradient / master weight). */
static pd_tensor *bf16_operand(pd_graph *g, pd_tensor *x)
{
    if (!pd_graph_ok(g, x)) return NULL;
    pd_tensor *y = pd_tensor_new_like(g, x);
    if (!y) return NULL;
    for (int64_t i = 0; i < x->numel; i++) y->data[i] = round_bf16(x->data[i]);
    pd_record(g, "bf16 operand", straight_through_backward, y, 1, (pd_tensor *[]){x});
    return y;
}

static void rounded_grad_backward(pd_graph *g, pd_node *n)
{
    pd_real *gx = pd_grad(g, n->in[0]);
    if (!gx) return;
    for (int64_t i = 0; i < n->out->numel; i++) gx[i] += round_bf16(n->out->grad[i]);
}

/* Identity forward; the gradient is rounded to bf16 (it becomes a backward GEMM operand). */
static pd_tensor *bf16_grad(pd_graph *g, pd_tensor *x)
{
    if (!pd_graph_ok(g, x)) return NULL;
    pd_tensor *y = pd_tensor_wrap(g, x->ndim, x->shape, x->data);
    if (!y) return NULL;
    pd_record(g, "bf16 gradient", rounded_grad_backward, y, 1, (pd_tensor *[]){x});
    return y;
}

/* ---- the block ---- */

enum { B = 2, L = 16, D = 64, H = 4, DH = 16, MLP = 128 };

typedef struct block {
    pd_tensor *ln1_w, *ln1_b, *wq, *bq, *wk, *bk, *wv, *bv, *wo, *bo, *ln2_w, *ln2_b, *fc1, *b1, *fc2, *b2;
} block;

static void declare(block *k, pd_params *P)
{
    k->ln1_w = pd_param_new(P, "ln1.weight", 1, (int64_t[]){D}, PD_INIT_ONES, 0);
    k->ln1_b = pd_param_new(P, "ln1.bias", 1, (int64_t[]){D}, PD_INIT_ZEROS, 0);
    pd_tensor **w[] = {&k->wq, &k->wk, &k->wv, &k->wo}, **b[] = {&k->bq, &k->bk, &k->bv, &k->bo};
    const char *names[] = {"wq", "wk", "wv", "wo"};
    for (int i = 0; i < 4; i++) {
        char n[32];
        snprintf(n, sizeof n, "%s.weight", names[i]);
        *w[i] = pd_param_new(P, n, 2, (int64_t[]){D, D}, PD_INIT_TORCH_DEFAULT, D);
        snprintf(n, sizeof n, "%s.bias", names[i]);
        *b[i] = pd_param_new(P, n, 1, (int64_t[]){D}, PD_INIT_TORCH_DEFAULT, D);
    }
    k->ln2_w = pd_param_new(P, "ln2.weight", 1, (int64_t[]){D}, PD_INIT_ONES, 0);
    k->ln2_b = pd_param_new(P, "ln2.bias", 1, (int64_t[]){D}, PD_INIT_ZEROS, 0);
    k->fc1 = pd_param_new(P, "fc1.weight", 2, (int64_t[]){MLP, D}, PD_INIT_TORCH_DEFAULT, D);
    k->b1 = pd_param_new(P, "fc1.bias", 1, (int64_t[]){MLP}, PD_INIT_TORCH_DEFAULT, D);
    k->fc2 = pd_param_new(P, "fc2.weight", 2, (int64_t[]){D, MLP}, PD_INIT_TORCH_DEFAULT, MLP);
    k->b2 = pd_param_new(P, "fc2.bias", 1, (int64_t[]){D}, PD_INIT_TORCH_DEFAULT, MLP);
}

static pd_tensor *linear(pd_graph *g, pd_tensor *x, pd_tensor *w, pd_tensor *b, int bf16)
{
    if (!bf16) return pd_linear(g, x, w, b);
    return bf16_grad(g, pd_linear(g, bf16_operand(g, x), bf16_operand(g, w), b));
}

static pd_tensor *matmul(pd_graph *g, pd_tensor *a, pd_tensor *b, int trans_b, int bf16)
{
    if (!bf16) return pd_matmul(g, a, b, 0, trans_b);
    return bf16_grad(g, pd_matmul(g, bf16_operand(g, a), bf16_operand(g, b), 0, trans_b));
}

static pd_tensor *heads(pd_graph *g, pd_tensor *x)   /* [B, L, H·Dh] → [B, H, L, Dh] */
{
    return pd_permute(g, pd_reshape(g, x, 4, (int64_t[]){B, L, H, DH}), (int[]){0, 2, 1, 3});
}

/* The GPU's attention: S = scale·QKᵀ (GEMM), masked softmax in fp32, O = P V (GEMM). The scale
 * 1/4 is a power of two, so rounding before or after it is the same. */
static pd_tensor *attention(pd_graph *g, pd_tensor *q, pd_tensor *k, pd_tensor *v, int bf16)
{
    pd_tensor *s = pd_scale(g, matmul(g, heads(g, q), heads(g, k), 1, bf16), 1.0 / sqrt((double)DH));
    pd_tensor *o = matmul(g, pd_softmax(g, s), heads(g, v), 0, bf16);
    return pd_reshape(g, pd_permute(g, o, (int[]){0, 2, 1, 3}), 3, (int64_t[]){B, L, D});
}

static pd_tensor *forward(pd_graph *g, const block *k, pd_tensor *x, pd_tensor *target, int bf16)
{
    pd_tensor *h = pd_layernorm(g, x, k->ln1_w, k->ln1_b, 1e-5);
    pd_tensor *a = attention(g, linear(g, h, k->wq, k->bq, bf16), linear(g, h, k->wk, k->bk, bf16),
                             linear(g, h, k->wv, k->bv, bf16), bf16);
    pd_tensor *x1 = pd_add(g, x, linear(g, a, k->wo, k->bo, bf16));
    pd_tensor *h2 = pd_layernorm(g, x1, k->ln2_w, k->ln2_b, 1e-5);
    pd_tensor *m = linear(g, pd_gelu(g, linear(g, h2, k->fc1, k->b1, bf16)), k->fc2, k->b2, bf16);
    return pd_mse(g, pd_add(g, x1, m), target, NULL, 0);
}

typedef struct run {
    pd_params P;
    block k;
    pd_adamw opt;
    double losses[7];
} run;

static void run_setup(run *r)
{
    pd_params_init(&r->P);
    pd_params_unit_begin(&r->P, "block");
    declare(&r->k, &r->P);
    pd_params_unit_end(&r->P);
    CHECK(pd_params_finalize(&r->P, 1) == PD_OK);
    pd_params_init_values(&r->P, 42);
    pd_adamw_config cfg;
    pd_adamw_config_default(&cfg);
    CHECK(pd_adamw_init(&r->opt, &r->P, &cfg, 0, r->P.total) == PD_OK);
}

static double l2(const pd_real *a, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)a[i] * a[i];
    return sqrt(s);
}

/* ‖a − ref‖ / max(‖ref‖, floor): the floor keeps gradients that are zero in exact arithmetic
 * (the key bias: softmax ignores a per-row constant) from dividing rounding noise by ~0. */
static double rel_norm_diff(const pd_real *a, const pd_real *ref, int64_t n, double floor)
{
    double d = 0;
    for (int64_t i = 0; i < n; i++) d += ((double)a[i] - ref[i]) * ((double)a[i] - ref[i]);
    const double s = l2(ref, n);
    return sqrt(d) / (s > floor ? s : floor);
}

int main(void)
{
    static float xs[B * L * D], ts[B * L * D];
    pd_rng rng;
    pd_rng_init(&rng, 7, 0, 0, PD_RNG_NOISE);
    for (int i = 0; i < B * L * D; i++) xs[i] = (float)pd_rng_normal(&rng);
    for (int i = 0; i < B * L * D; i++) ts[i] = (float)(0.5 * pd_rng_normal(&rng));
    const int64_t shape[3] = {B, L, D};

    run runs[2];
    pd_graph *g;
    CHECK(pd_graph_create(&g, 0) == PD_OK);
    double max_grad_rel = 0, first_loss_rel = 0;
    const char *worst = "";
    for (int step = 0; step < 7; step++) {
        for (int mode = 0; mode < 2; mode++) {   /* 0 = fp32, 1 = bf16 emulation */
            run *r = &runs[mode];
            if (step == 0) run_setup(r);
            pd_graph_reset(g);
            pd_tensor *x = pd_tensor_from_floats(g, 3, shape, xs), *t = pd_tensor_from_floats(g, 3, shape, ts);
            pd_tensor *loss = forward(g, &r->k, x, t, mode);
            CHECK_MSG(pd_graph_status(g) == PD_OK, "%s", pd_last_error());
            if (!loss) return pd_test_finish("bf16 emulation");
            r->losses[step] = loss->data[0];
            pd_params_zero_grad(&r->P);
            CHECK(pd_backward(g, loss) == PD_OK);
            if (step == 0 && mode == 1) {
                const double floor = 1e-3 * l2(runs[0].P.grad, runs[0].P.total);
                for (int i = 0; i < r->P.n_params; i++) {
                    const pd_param *p32 = runs[0].P.params[i], *p16 = r->P.params[i];
                    double e = rel_norm_diff(p16->t.grad, p32->t.grad, p16->t.numel, floor);
                    if (e > max_grad_rel) {
                        max_grad_rel = e;
                        worst = p16->name;
                    }
                }
                first_loss_rel = fabs(r->losses[0] - runs[0].losses[0]) / runs[0].losses[0];
            }
            if (step < 6) pd_adamw_step(&r->opt, r->P.data, r->P.grad, 3e-3, 1.0);
        }
    }
    double max_loss_rel = 0;
    for (int s = 0; s < 7; s++) {
        double e = fabs(runs[1].losses[s] - runs[0].losses[s]) / runs[0].losses[s];
        if (e > max_loss_rel) max_loss_rel = e;
    }
    const double weight_rel = rel_norm_diff(runs[1].P.data, runs[0].P.data, runs[0].P.total, 0);
    printf("bf16 emulation on a transformer block (B %d, L %d, d %d, %d heads, MLP %d):\n", B, L, D, H, MLP);
    printf("  loss relative difference at step 0: %.3e\n", first_loss_rel);
    printf("  worst parameter-gradient relative L2 difference (floor 1e-3 of the total norm): %.3e (%s)\n", max_grad_rel, worst);
    printf("  losses over 6 AdamW steps (lr 3e-3), fp32 vs bf16:");
    for (int s = 0; s < 7; s++) printf(" %.5f/%.5f", runs[0].losses[s], runs[1].losses[s]);
    printf("\n  worst loss relative difference: %.3e; final weights relative L2 difference: %.3e\n", max_loss_rel,
           weight_rel);
    /* bf16 keeps 8 significant bits (unit roundoff 2^-9 ≈ 2e-3); a dozen chained GEMM roundings
     * give percent-level gradient errors at most. The lower bounds show the rounding is active. */
    CHECK_MSG(first_loss_rel > 1e-6 && first_loss_rel < 1e-2, "loss relative difference %.3e", first_loss_rel);
    CHECK_MSG(max_grad_rel > 1e-4 && max_grad_rel < 5e-2, "gradient relative difference %.3e (%s)", max_grad_rel, worst);
    CHECK_MSG(max_loss_rel < 2e-2, "loss over training differs by %.3e", max_loss_rel);
    CHECK_MSG(runs[1].losses[6] < runs[1].losses[0], "bf16 training did not lower the loss (%.5f -> %.5f)",
              runs[1].losses[0], runs[1].losses[6]);
    for (int mode = 0; mode < 2; mode++) {
        pd_adamw_free(&runs[mode].opt);
        pd_params_free(&runs[mode].P);
    }
    pd_graph_destroy(g);
    return pd_test_finish("bf16 emulation");
}
