/* test_gradcheck.c — every core op's backward against central differences, run in double
 * precision (this program links the PD_REAL_DOUBLE build of src/nn), plus proof that the
 * checker rejects a gradient that is wrong by 1e-4 relative or misses a term. */
#include <stdio.h>
#include <string.h>

#include "nn/gradcheck.h"
#include "nn/ops.h"
#include "op_seen.h"
#include "test.h"

#ifndef PD_REAL_DOUBLE
#error "test_gradcheck must be compiled with -DPD_REAL_DOUBLE (see tests/nn/local.mk)"
#endif

static int n_cases = 0;

/* Run one check and report. */
static void check_op(const char *name, pd_gradcheck_fn fn, void *user, int n, const pd_gradcheck_input *in,
                     const pd_gradcheck_opts *opts)
{
    pd_gradcheck_result r;
    pd_status st = pd_gradcheck(name, fn, user, n, in, opts, &r);
    CHECK_MSG(st == PD_OK, "%s", pd_last_error());
    CHECK_MSG(r.n_checked > 0, "%s: nothing was compared", name);
    if (st == PD_OK)
        for (int op = 0; op < PD_OP_COUNT; op++)
            if (r.ops[op]) pd_test_ops_seen_mark((pd_op)op);
    n_cases++;
    printf("  %-28s %5d grads  max abs err %.2e  max rel err %.2e\n", name, r.n_checked, r.max_abs_err, r.max_rel_err);
}

#define IN(nd, ...) { .ndim = nd, .shape = {__VA_ARGS__}, .requires_grad = 1 }
#define IN_CONST(nd, ...) { .ndim = nd, .shape = {__VA_ARGS__}, .requires_grad = 0 }

/* ---- closures ---- */
static pd_tensor *f_linear(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_linear(g, in[0], in[1], in[2]); }
static pd_tensor *f_linear_nobias(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_linear(g, in[0], in[1], NULL); }
typedef struct { int ta, tb; } mm_args;
static pd_tensor *f_matmul(pd_graph *g, pd_tensor *const *in, void *u)
{
    mm_args *a = u;
    return pd_matmul(g, in[0], in[1], a->ta, a->tb);
}
static pd_tensor *f_add(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_add(g, in[0], in[1]); }
static pd_tensor *f_sub(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_sub(g, in[0], in[1]); }
static pd_tensor *f_mul(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_mul(g, in[0], in[1]); }
static pd_tensor *f_scale(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_scale(g, in[0], -1.7); }
static pd_tensor *f_add_scalar(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_add_scalar(g, in[0], 0.3); }
static pd_tensor *f_modulate(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_modulate(g, in[0], in[1], in[2]); }
static pd_tensor *f_gelu(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_gelu(g, in[0]); }
static pd_tensor *f_gelu_tanh(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_gelu_tanh(g, in[0]); }
static pd_tensor *f_silu(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_silu(g, in[0]); }
static pd_tensor *f_relu(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_relu(g, in[0]); }
static pd_tensor *f_sigmoid(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_sigmoid(g, in[0]); }
static pd_tensor *f_softmax(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_softmax(g, in[0]); }
static pd_tensor *f_log_softmax(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_log_softmax(g, in[0]); }
static pd_tensor *f_sum(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_sum(g, in[0]); }
static pd_tensor *f_mean(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_mean(g, in[0]); }
static pd_tensor *f_sum_axis1(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_sum_axis(g, in[0], 1); }
static pd_tensor *f_mean_axis_last(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_mean_axis(g, in[0], -1); }
static pd_tensor *f_reshape(pd_graph *g, pd_tensor *const *in, void *u)
{
    (void)u;
    pd_tensor *y = pd_reshape(g, in[0], 2, (int64_t[]){-1, 6});
    return pd_mul(g, y, y);   /* non-linear after, so a wrong reshape grad layout would show */
}
static pd_tensor *f_permute(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_permute(g, in[0], (int[]){2, 0, 3, 1}); }
static pd_tensor *f_transpose(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_transpose(g, in[0], 0, -1); }
static pd_tensor *f_concat(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_concat(g, 3, in, 1); }
static pd_tensor *f_slice(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_slice(g, in[0], 1, 1, 2); }
static pd_tensor *f_split(pd_graph *g, pd_tensor *const *in, void *u)
{
    (void)u;
    pd_tensor *parts[3];
    if (pd_split(g, in[0], -1, 3, (int64_t[]){1, 3, 2}, parts) != PD_OK) return NULL;
    /* weight the parts differently so mixing them up changes the gradient */
    return pd_concat(g, 3, (pd_tensor *[]){pd_scale(g, parts[2], 2.0), parts[0], pd_mul(g, parts[1], parts[1])}, -1);
}
static const int32_t gather_idx[] = {2, 0, 2, 3, 1, 2, 0};
static pd_tensor *f_gather(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_gather_rows(g, in[0], gather_idx, 7); }
static const int32_t scatter_idx[] = {1, 0, 1, -1, 3, 1, 0};
static pd_tensor *f_scatter(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_scatter_add_rows(g, in[0], scatter_idx, 4); }
static const int32_t embed_idx[] = {4, 0, -1, 4, 2};
static pd_tensor *f_embedding(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_embedding(g, in[0], embed_idx, 5); }
static pd_tensor *f_layernorm(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_layernorm(g, in[0], in[1], in[2], 1e-5); }
static pd_tensor *f_layernorm_nobias(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_layernorm(g, in[0], in[1], NULL, 1e-5); }
static pd_tensor *f_layernorm_plain(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_layernorm(g, in[0], NULL, NULL, 1e-5); }
static const int32_t rope_pos[] = {0, 5, 2, 9, 3, 1, 7, 4};
static pd_tensor *f_rope(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_rope(g, in[0], rope_pos, 2, 4, 10000.0); }
static const uint8_t key_valid[] = {1, 1, 0, 1, 1,   0, 0, 0, 0, 0,   1, 0, 1, 1, 0};
static pd_tensor *f_attention(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_attention(g, in[0], in[1], in[2], 2, key_valid, 0); }
static pd_tensor *f_attention_biased(pd_graph *g, pd_tensor *const *in, void *u)
{
    (void)u;
    return pd_attention_biased(g, in[0], in[1], in[2], 2, key_valid, 0, in[3]);
}
static pd_tensor *f_attention_self(pd_graph *g, pd_tensor *const *in, void *u)
{
    (void)u;   /* the same tensor as q, k and v: gradients from three paths accumulate */
    return pd_attention(g, in[0], in[0], in[0], 3, NULL, 0.7);
}
static pd_tensor *f_reparam_eps(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_reparameterize_eps(g, in[0], in[1], in[2]); }
static pd_tensor *f_reparam_rng(pd_graph *g, pd_tensor *const *in, void *u)
{
    (void)u;
    static const uint64_t ids[] = {11, 3, 7};
    return pd_reparameterize(g, in[0], in[1], 42, 5, ids);
}
static const uint8_t row_valid[] = {1, 0, 1, 1};
static pd_tensor *f_kl(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_kl_normal(g, in[0], in[1], row_valid, 0); }
static pd_tensor *f_kl_global(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_kl_normal(g, in[0], in[1], NULL, 17.0); }
static pd_tensor *f_mse(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_mse(g, in[0], in[1], row_valid, 0); }
static pd_tensor *f_mse_global(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_mse(g, in[0], in[1], NULL, 40.0); }
static const int32_t ce_target[] = {2, -100, 0, 4, 1};
static pd_tensor *f_ce(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_cross_entropy(g, in[0], ce_target, -100, 0); }
static pd_tensor *f_ce_global(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_cross_entropy(g, in[0], ce_target, -100, 9.0); }

/* ---- an op with a deliberately wrong backward, to prove the checker can fail ---- */
typedef struct { pd_real error_factor; int drop_term; } wrong_args;
typedef struct { wrong_args a; } wrong_saved;
static void wrong_backward(pd_graph *g, pd_node *n)
{
    const wrong_saved *s = n->saved;
    pd_tensor *x = n->in[0];
    pd_real *gx = pd_grad(g, x);
    if (!gx) return;
    for (int64_t i = 0; i < x->numel; i++) {
        pd_real xi = x->data[i];
        /* y = x^3 + x: dy/dx = 3x^2 + 1 */
        pd_real d = 3 * xi * xi + (s->a.drop_term ? 0 : 1);
        gx[i] += n->out->grad[i] * d * s->a.error_factor;
    }
}
static pd_tensor *f_wrong(pd_graph *g, pd_tensor *const *in, void *u)
{
    pd_tensor *x = in[0], *y = pd_tensor_new_like(g, x);
    if (!y) return NULL;
    for (int64_t i = 0; i < x->numel; i++) y->data[i] = x->data[i] * x->data[i] * x->data[i] + x->data[i];
    pd_node *n = pd_record(g, "wrong", wrong_backward, y, 1, (pd_tensor *[]){x});
    if (n) {
        wrong_saved *s = pd_node_save(g, n, sizeof *s);
        s->a = *(wrong_args *)u;
    }
    return y;
}

int main(void)
{
    pd_test_ops_seen_begin("test_gradcheck");
    printf("finite-difference gradient checks (%s)\n", PD_REAL_NAME);
    {
        pd_gradcheck_input in[] = {IN(3, 2, 3, 5), IN(2, 4, 5), IN(1, 4)};
        check_op("linear", f_linear, NULL, 3, in, NULL);
        check_op("linear (no bias)", f_linear_nobias, NULL, 2, in, NULL);
    }
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            mm_args a = {ta, tb};
            char name[64];
            snprintf(name, sizeof name, "matmul ta=%d tb=%d", ta, tb);
            pd_gradcheck_input in[] = {{.ndim = 3, .shape = {2, ta ? 4 : 3, ta ? 3 : 4}, .requires_grad = 1},
                                       {.ndim = 3, .shape = {2, tb ? 5 : 4, tb ? 4 : 5}, .requires_grad = 1}};
            check_op(name, f_matmul, &a, 2, in, NULL);
            pd_gradcheck_input shared[] = {in[0], {.ndim = 2, .shape = {tb ? 5 : 4, tb ? 4 : 5}, .requires_grad = 1}};
            snprintf(name, sizeof name, "matmul shared-b ta=%d tb=%d", ta, tb);
            check_op(name, f_matmul, &a, 2, shared, NULL);
        }
    {
        pd_gradcheck_input same[] = {IN(2, 3, 4), IN(2, 3, 4)};
        pd_gradcheck_input col[] = {IN(3, 2, 3, 4), IN(1, 4)};           /* per-column (bias-like) */
        pd_gradcheck_input row[] = {IN(2, 3, 4), IN(2, 3, 1)};           /* per-row */
        pd_gradcheck_input scalar[] = {IN(2, 3, 4), IN(1, 1)};
        pd_gradcheck_input gate[] = {IN(3, 2, 1, 4), IN(3, 2, 3, 4)};    /* [B,1,D] * [B,L,D], small first */
        pd_gradcheck_input outer[] = {IN(4, 2, 3, 1, 4), IN(4, 2, 1, 3, 4)}; /* pairwise k_a - q_b */
        pd_gradcheck_fn fns[] = {f_add, f_sub, f_mul};
        const char *names[] = {"add", "sub", "mul"};
        for (int k = 0; k < 3; k++) {
            char name[64];
            snprintf(name, sizeof name, "%s same", names[k]);
            check_op(name, fns[k], NULL, 2, same, NULL);
            snprintf(name, sizeof name, "%s per-column", names[k]);
            check_op(name, fns[k], NULL, 2, col, NULL);
            snprintf(name, sizeof name, "%s per-row", names[k]);
            check_op(name, fns[k], NULL, 2, row, NULL);
            snprintf(name, sizeof name, "%s scalar", names[k]);
            check_op(name, fns[k], NULL, 2, scalar, NULL);
            snprintf(name, sizeof name, "%s gate [B,1,D]", names[k]);
            check_op(name, fns[k], NULL, 2, gate, NULL);
            snprintf(name, sizeof name, "%s outer pairs", names[k]);
            check_op(name, fns[k], NULL, 2, outer, NULL);
        }
        pd_gradcheck_input one[] = {IN(2, 3, 4)};
        check_op("scale", f_scale, NULL, 1, one, NULL);
        check_op("add_scalar", f_add_scalar, NULL, 1, one, NULL);
        pd_gradcheck_input mod_full[] = {IN(3, 2, 3, 4), IN(3, 2, 3, 4), IN(3, 2, 3, 4)};
        pd_gradcheck_input mod_row[] = {IN(3, 2, 3, 4), IN(2, 2, 4), IN(2, 2, 4)};
        check_op("modulate per-token", f_modulate, NULL, 3, mod_full, NULL);
        check_op("modulate per-entry", f_modulate, NULL, 3, mod_row, NULL);
    }
    {
        pd_gradcheck_input x[] = {{.ndim = 2, .shape = {3, 7}, .requires_grad = 1, .lo = -3, .hi = 3}};
        check_op("gelu (erf)", f_gelu, NULL, 1, x, NULL);
        check_op("gelu (tanh)", f_gelu_tanh, NULL, 1, x, NULL);
        check_op("silu", f_silu, NULL, 1, x, NULL);
        check_op("relu", f_relu, NULL, 1, x, NULL);
        check_op("sigmoid", f_sigmoid, NULL, 1, x, NULL);
        check_op("softmax", f_softmax, NULL, 1, x, NULL);
        check_op("log_softmax", f_log_softmax, NULL, 1, x, NULL);
    }
    {
        pd_gradcheck_input x[] = {IN(3, 2, 3, 4)};
        check_op("sum", f_sum, NULL, 1, x, NULL);
        check_op("mean", f_mean, NULL, 1, x, NULL);
        check_op("sum_axis 1", f_sum_axis1, NULL, 1, x, NULL);
        check_op("mean_axis -1", f_mean_axis_last, NULL, 1, x, NULL);
        check_op("reshape", f_reshape, NULL, 1, x, NULL);
        pd_gradcheck_input x4[] = {IN(4, 2, 3, 4, 5)};
        check_op("permute", f_permute, NULL, 1, x4, NULL);
        check_op("transpose", f_transpose, NULL, 1, x, NULL);
        pd_gradcheck_input cat[] = {IN(3, 2, 1, 3), IN(3, 2, 4, 3), IN(3, 2, 2, 3)};
        check_op("concat", f_concat, NULL, 3, cat, NULL);
        pd_gradcheck_input sl[] = {IN(3, 2, 4, 3)};
        check_op("slice", f_slice, NULL, 1, sl, NULL);
        pd_gradcheck_input sp[] = {IN(2, 3, 6)};
        check_op("split", f_split, NULL, 1, sp, NULL);
    }
    {
        pd_gradcheck_input src[] = {IN(3, 4, 2, 3)};
        check_op("gather_rows", f_gather, NULL, 1, src, NULL);
        pd_gradcheck_input msg[] = {IN(2, 7, 5)};
        check_op("scatter_add_rows", f_scatter, NULL, 1, msg, NULL);
        pd_gradcheck_input table[] = {IN(2, 6, 4)};
        check_op("embedding", f_embedding, NULL, 1, table, NULL);
    }
    {
        pd_gradcheck_input ln[] = {IN(3, 2, 3, 8), {.ndim = 1, .shape = {8}, .requires_grad = 1, .lo = 0.5, .hi = 1.5},
                                   IN(1, 8)};
        check_op("layernorm", f_layernorm, NULL, 3, ln, NULL);
        check_op("layernorm (no bias)", f_layernorm_nobias, NULL, 2, ln, NULL);
        check_op("layernorm (no affine)", f_layernorm_plain, NULL, 1, ln, NULL);
    }
    {
        pd_gradcheck_input x[] = {IN(3, 2, 4, 12)};   /* 2 heads of 6, rope on the first 4 */
        check_op("rope", f_rope, NULL, 1, x, NULL);
        pd_gradcheck_input qkv[] = {IN(3, 3, 4, 6), IN(3, 3, 5, 6), IN(3, 3, 5, 6)};
        check_op("attention (masked, cross)", f_attention, NULL, 3, qkv, NULL);
        pd_gradcheck_input qkvb[] = {IN(3, 3, 4, 6), IN(3, 3, 5, 6), IN(3, 3, 5, 6), IN(4, 3, 4, 5, 2)};
        check_op("attention (masked, cross, pair bias)", f_attention_biased, NULL, 4, qkvb, NULL);
        pd_gradcheck_input self[] = {IN(3, 2, 5, 6)};
        check_op("attention (self, q=k=v)", f_attention_self, NULL, 1, self, NULL);
    }
    {
        pd_gradcheck_input rp[] = {IN(2, 3, 4), IN(2, 3, 4), IN(2, 3, 4)};
        check_op("reparameterize (eps given)", f_reparam_eps, NULL, 3, rp, NULL);
        check_op("reparameterize (counter RNG)", f_reparam_rng, NULL, 2, rp, NULL);
        pd_gradcheck_input kl[] = {IN(2, 4, 3), IN(2, 4, 3)};
        check_op("kl_normal (masked)", f_kl, NULL, 2, kl, NULL);
        check_op("kl_normal (global count)", f_kl_global, NULL, 2, kl, NULL);
        pd_gradcheck_input mse[] = {IN(3, 2, 2, 5), IN(3, 2, 2, 5)};
        check_op("mse (masked rows)", f_mse, NULL, 2, mse, NULL);
        check_op("mse (global count)", f_mse_global, NULL, 2, mse, NULL);
        pd_gradcheck_input ce[] = {{.ndim = 2, .shape = {5, 6}, .requires_grad = 1, .lo = -2, .hi = 2}};
        check_op("cross_entropy (ignore)", f_ce, NULL, 1, ce, NULL);
        check_op("cross_entropy (global)", f_ce_global, NULL, 1, ce, NULL);
    }

    /* The checker must reject wrong gradients, including small ones. */
    {
        pd_gradcheck_input x[] = {IN(2, 3, 4)};
        wrong_args right = {1, 0}, scaled = {(pd_real)(1 + 1e-4), 0}, dropped = {1, 1};
        pd_gradcheck_result r;
        CHECK_MSG(pd_gradcheck("x^3+x correct", f_wrong, &right, 1, x, NULL, &r) == PD_OK, "%s", pd_last_error());
        CHECK_MSG(pd_gradcheck("x^3+x off by 1e-4", f_wrong, &scaled, 1, x, NULL, &r) != PD_OK,
                  "a gradient 1e-4 too large passed the check");
        printf("  rejected gradient off by 1e-4: %s\n", pd_last_error());
        CHECK_MSG(pd_gradcheck("x^3+x missing term", f_wrong, &dropped, 1, x, NULL, &r) != PD_OK,
                  "a gradient missing a term passed the check");
    }
    printf("%d op variants checked\n", n_cases);
    return pd_test_ops_seen_end("test_gradcheck", pd_test_finish("test_gradcheck"));
}
