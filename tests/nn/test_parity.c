/* test_parity.c — the op set and two full blocks against PyTorch: reads the tensor bundle that
 * tests/reference/nn_reference.py wrote (argv[1]), runs the same ops on the same inputs and
 * weights, and compares outputs and gradients to 1e-5 relative (f32). */
#include <stdio.h>
#include <string.h>

#include "blocks.h"
#include "bundle.h"
#include "nn/ops.h"
#include "op_seen.h"
#include "test.h"

#define RTOL 1e-5

typedef struct op_ctx { const pd_bundle *b; const char *name; } op_ctx;

static const void *extra(const op_ctx *c, const char *what, int u8)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", c->name, what);
    return u8 ? (const void *)pd_bundle_u8(c->b, key) : (const void *)pd_bundle_i32(c->b, key);
}

typedef pd_tensor *(*op_fn)(pd_graph *g, pd_tensor **in, const op_ctx *c);

static pd_tensor *o_linear(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_linear(g, in[0], in[1], in[2]); }
static pd_tensor *o_linear_nobias(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_linear(g, in[0], in[1], NULL); }
static pd_tensor *o_matmul_tt(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_matmul(g, in[0], in[1], 1, 1); }
static pd_tensor *o_matmul(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_matmul(g, in[0], in[1], 0, 0); }
static pd_tensor *o_add(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_add(g, in[0], in[1]); }
static pd_tensor *o_mul(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_mul(g, in[0], in[1]); }
static pd_tensor *o_sub(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_sub(g, in[0], in[1]); }
static pd_tensor *o_modulate(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_modulate(g, in[0], in[1], in[2]); }
static pd_tensor *o_gelu(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_gelu(g, in[0]); }
static pd_tensor *o_gelu_tanh(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_gelu_tanh(g, in[0]); }
static pd_tensor *o_silu(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_silu(g, in[0]); }
static pd_tensor *o_softmax(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_softmax(g, in[0]); }
static pd_tensor *o_log_softmax(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_log_softmax(g, in[0]); }
static pd_tensor *o_sum(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_sum(g, in[0]); }
static pd_tensor *o_add_scalar(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_add_scalar(g, in[0], 0.3); }
static pd_tensor *o_relu(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_relu(g, in[0]); }
static pd_tensor *o_sigmoid(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_sigmoid(g, in[0]); }
static pd_tensor *o_mean(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_mean(g, in[0]); }
static pd_tensor *o_sum_axis(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_sum_axis(g, in[0], 0); }
static pd_tensor *o_reshape(pd_graph *g, pd_tensor **in, const op_ctx *c)
{
    (void)c;
    return pd_scale(g, pd_reshape(g, in[0], 2, (int64_t[]){6, 4}), 1.5);
}
static pd_tensor *o_mean_axis(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_mean_axis(g, in[0], 1); }
static pd_tensor *o_layernorm(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_layernorm(g, in[0], in[1], in[2], 1e-5); }
static pd_tensor *o_layernorm_nobias(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_layernorm(g, in[0], in[1], NULL, 1e-5); }
static pd_tensor *o_layernorm_plain(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_layernorm(g, in[0], NULL, NULL, 1e-5); }
static pd_tensor *o_concat(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_concat(g, 2, in, 1); }
static pd_tensor *o_slice(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_slice(g, in[0], 1, 2, 3); }
static pd_tensor *o_permute(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_permute(g, in[0], (int[]){2, 0, 1}); }
static pd_tensor *o_gather(pd_graph *g, pd_tensor **in, const op_ctx *c) { return pd_gather_rows(g, in[0], extra(c, "idx", 0), 6); }
static pd_tensor *o_scatter(pd_graph *g, pd_tensor **in, const op_ctx *c) { return pd_scatter_add_rows(g, in[0], extra(c, "idx", 0), 4); }
static pd_tensor *o_embedding(pd_graph *g, pd_tensor **in, const op_ctx *c) { return pd_embedding(g, in[0], extra(c, "idx", 0), 4); }
static pd_tensor *o_rope(pd_graph *g, pd_tensor **in, const op_ctx *c) { return pd_rope(g, in[0], extra(c, "pos", 0), 2, 6, 10000.0); }
static pd_tensor *o_attention(pd_graph *g, pd_tensor **in, const op_ctx *c)
{
    return pd_attention(g, in[0], in[1], in[2], 2, extra(c, "key_valid", 1), 0);
}
static pd_tensor *o_attention_biased(pd_graph *g, pd_tensor **in, const op_ctx *c)
{
    return pd_attention_biased(g, in[0], in[1], in[2], 2, extra(c, "key_valid", 1), 0, in[3]);
}
static pd_tensor *o_reparam(pd_graph *g, pd_tensor **in, const op_ctx *c) { (void)c; return pd_reparameterize_eps(g, in[0], in[1], in[2]); }
static pd_tensor *o_kl(pd_graph *g, pd_tensor **in, const op_ctx *c) { return pd_kl_normal(g, in[0], in[1], extra(c, "row_valid", 1), 0); }
static pd_tensor *o_mse(pd_graph *g, pd_tensor **in, const op_ctx *c) { return pd_mse(g, in[0], in[1], extra(c, "row_valid", 1), 0); }
static pd_tensor *o_ce(pd_graph *g, pd_tensor **in, const op_ctx *c) { return pd_cross_entropy(g, in[0], extra(c, "target", 0), -100, 0); }

static const struct { const char *name; int n_in; op_fn fn; } cases[] = {
    {"linear", 3, o_linear}, {"linear_nobias", 2, o_linear_nobias}, {"matmul_tt", 2, o_matmul_tt},
    {"matmul_shared", 2, o_matmul}, {"add_bcast", 2, o_add}, {"mul_gate", 2, o_mul}, {"sub_outer", 2, o_sub},
    {"modulate", 3, o_modulate}, {"gelu", 1, o_gelu}, {"gelu_tanh", 1, o_gelu_tanh}, {"silu", 1, o_silu},
    {"softmax", 1, o_softmax}, {"log_softmax", 1, o_log_softmax}, {"sum", 1, o_sum}, {"mean_axis", 1, o_mean_axis},
    {"layernorm", 3, o_layernorm}, {"layernorm_nobias", 2, o_layernorm_nobias}, {"layernorm_plain", 1, o_layernorm_plain},
    {"concat", 2, o_concat}, {"slice", 1, o_slice}, {"permute", 1, o_permute}, {"gather_rows", 1, o_gather},
    {"scatter_add_rows", 1, o_scatter}, {"embedding", 1, o_embedding}, {"rope", 1, o_rope},
    {"attention", 3, o_attention}, {"attention_biased", 4, o_attention_biased}, {"reparameterize", 3, o_reparam}, {"kl_normal", 2, o_kl}, {"mse", 2, o_mse},
    {"cross_entropy", 1, o_ce}, {"add_scalar", 1, o_add_scalar}, {"relu", 1, o_relu}, {"sigmoid", 1, o_sigmoid},
    {"mean", 1, o_mean}, {"sum_axis", 1, o_sum_axis}, {"reshape", 1, o_reshape},
};

static void run_op_case(pd_graph *g, const pd_bundle *b, const char *name, int n_in, op_fn fn)
{
    pd_graph_reset(g);
    pd_tensor *in[8];
    char key[160];
    for (int i = 0; i < n_in; i++) {
        snprintf(key, sizeof key, "%s.in%d", name, i);
        in[i] = pd_bundle_tensor(g, b, key, 1);
    }
    op_ctx c = {b, name};
    pd_tensor *out = fn(g, in, &c);
    CHECK_MSG(out && pd_graph_status(g) == PD_OK, "%s: %s", name, pd_last_error());
    if (!out) return;
    snprintf(key, sizeof key, "%s.out", name);
    pd_bundle_compare(b, key, out->data, out->numel, RTOL);
    snprintf(key, sizeof key, "%s.gout", name);
    const pd_bundle_item *gout = pd_bundle_get(b, key);
    if (!gout) return;
    pd_real seed[4096];
    pd_bundle_copy(b, key, seed, out->numel);
    CHECK_MSG(pd_backward_seeded(g, out, seed) == PD_OK, "%s backward: %s", name, pd_last_error());
    for (int i = 0; i < n_in; i++) {
        snprintf(key, sizeof key, "%s.grad%d", name, i);
        pd_bundle_compare(b, key, in[i]->grad, in[i]->numel, RTOL);
    }
    pd_test_ops_seen_graph(g);
}

/* Load every parameter "<case>.param.<name>" into the store. */
static void load_params(const pd_bundle *b, const char *name, pd_params *P)
{
    char key[256];
    for (int i = 0; i < P->n_params; i++) {
        snprintf(key, sizeof key, "%s.param.%s", name, P->params[i]->name);
        CHECK_MSG(pd_bundle_copy(b, key, P->params[i]->t.data, P->params[i]->t.numel), "%s", key);
    }
}

static void compare_block(pd_graph *g, const pd_bundle *b, const char *name, pd_params *P, pd_tensor *out, pd_tensor **in,
                          int n_in)
{
    char key[256];
    CHECK_MSG(out && pd_graph_status(g) == PD_OK, "%s: %s", name, pd_last_error());
    if (!out) return;
    snprintf(key, sizeof key, "%s.out", name);
    pd_bundle_compare(b, key, out->data, out->numel, RTOL);
    static pd_real seed[1 << 16];
    snprintf(key, sizeof key, "%s.gout", name);
    pd_bundle_copy(b, key, seed, out->numel);
    pd_params_zero_grad(P);
    CHECK_MSG(pd_backward_seeded(g, out, seed) == PD_OK, "%s backward: %s", name, pd_last_error());
    for (int i = 0; i < n_in; i++) {
        snprintf(key, sizeof key, "%s.grad%d", name, i);
        pd_bundle_compare(b, key, in[i]->grad, in[i]->numel, RTOL);
    }
    for (int i = 0; i < P->n_params; i++) {
        snprintf(key, sizeof key, "%s.pgrad.%s", name, P->params[i]->name);
        pd_bundle_compare(b, key, P->params[i]->t.grad, P->params[i]->t.numel, RTOL);
    }
    pd_test_ops_seen_graph(g);
}

int main(int argc, char **argv)
{
    pd_test_ops_seen_begin("test_parity");
    if (argc < 2) {
        fprintf(stderr, "usage: test_parity BUNDLE (written by tests/reference/nn_reference.py)\n");
        return 2;
    }
    pd_bundle b;
    if (pd_bundle_read(&b, argv[1]) != PD_OK) {
        fprintf(stderr, "%s\n", pd_last_error());
        return 1;
    }
    pd_graph *g;
    if (pd_graph_create(&g, 0) != PD_OK) return 1;
    printf("ops against PyTorch (max |C - torch| / max |torch| <= %g):\n", RTOL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_op_case(g, &b, cases[i].name, cases[i].n_in, cases[i].fn);

    printf("pre-LN transformer block (RoPE attention, GELU MLP):\n");
    {
        pd_params P;
        pd_params_init(&P);
        pd_test_transformer t;
        pd_params_unit_begin(&P, "block");
        pd_test_transformer_declare(&t, &P, "", 32, 4, 64, 4);
        pd_params_unit_end(&P);
        CHECK(pd_params_finalize(&P, 1) == PD_OK);
        load_params(&b, "transformer", &P);
        pd_graph_reset(g);
        pd_tensor *x = pd_bundle_tensor(g, &b, "transformer.in0", 1);
        pd_tensor *out = pd_test_transformer_forward(g, &t, x, pd_bundle_i32(&b, "transformer.pos"),
                                                     pd_bundle_u8(&b, "transformer.key_valid"));
        compare_block(g, &b, "transformer", &P, out, &x, 1);
        pd_params_free(&P);
    }
    printf("MPNN layer (gather, message MLP, scatter-add / k, LayerNorm residual, FFN residual):\n");
    {
        pd_params P;
        pd_params_init(&P);
        pd_test_mpnn m;
        pd_test_mpnn_declare(&m, &P, "", 16, 8, 3);
        CHECK(pd_params_finalize(&P, 1) == PD_OK);
        load_params(&b, "mpnn", &P);
        pd_graph_reset(g);
        pd_tensor *in[2] = {pd_bundle_tensor(g, &b, "mpnn.in0", 1), pd_bundle_tensor(g, &b, "mpnn.in1", 1)};
        pd_tensor *out = pd_test_mpnn_forward(g, &m, in[0], in[1], pd_bundle_i32(&b, "mpnn.src"), pd_bundle_i32(&b, "mpnn.dst"));
        compare_block(g, &b, "mpnn", &P, out, in, 2);
        pd_params_free(&P);
    }
    pd_graph_destroy(g);
    pd_bundle_free(&b);
    return pd_test_ops_seen_end("test_parity", pd_test_finish("test_parity"));
}
