/* test_gpu_ops.c — every op of the CUDA backend against the CPU op set on random inputs,
 * forward and backward (the same seed gradient on both), then a training step of a small
 * block (linear → GELU → layernorm → linear, MSE, AdamW) on both. It walks the op enum
 * (src/nn/op.h): an op the CUDA backend's table says it supports without a check here fails
 * (even without a GPU); each check runs once, for every op it covers. Tolerances, relative to the
 * largest reference value: 2e-5 for the per-element ops (same formulas; the GPU may fuse
 * multiply-adds), 1e-4 where cuBLAS and OpenBLAS sum GEMM products in different orders, 3e-2
 * for BF16 GEMMs. SKIPs (exit 77, saying why) without CUDA in the build or without a GPU. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "nn/backend.h"
#include "nn/conv.h"
#include "nn/norm.h"
#include "nn/ops.h"
#include "nn/optim.h"
#include "nn/upsample.h"
#include "nn/vq_kernels.h"
#include "test.h"

#ifdef PD_HAVE_CUDA
#include "cuda/device.h"
#include "cuda/ops.h"

static pd_cuda_arena arena;   /* tensors of one check; rewound between checks */
static uint64_t fill_stream = 100;

static void fill(pd_real *v, int64_t n, double scale)
{
    pd_rng rng;
    pd_rng_init(&rng, 99, 0, fill_stream++, PD_RNG_NOISE);
    for (int64_t i = 0; i < n; i++) v[i] = (pd_real)(scale * pd_rng_normal(&rng));
}

static float *to_device(const pd_real *host, int64_t n)
{
    float *d = pd_cuda_arena_alloc(&arena, (size_t)(n ? n : 1) * sizeof(float));
    if (d && pd_cuda_upload(d, host, (size_t)n * sizeof(float)) != PD_OK) return NULL;
    return d;
}

static float *zeros_device(int64_t n)
{
    float *d = pd_cuda_arena_alloc(&arena, (size_t)(n ? n : 1) * sizeof(float));
    if (d && pd_cuda_memset_zero(d, (size_t)n * sizeof(float)) != PD_OK) return NULL;
    return d;
}

/* max |gpu − cpu| ≤ tol · max(1e-3, max |cpu|) */
static void compare(const char *what, const pd_real *cpu, const float *dev, int64_t n, double tol)
{
    float *host = malloc((size_t)(n ? n : 1) * sizeof *host);
    CHECK_MSG(dev && pd_cuda_download(host, dev, (size_t)n * sizeof(float)) == PD_OK, "%s: %s", what, pd_last_error());
    double worst = 0, scale = 1e-3;
    for (int64_t i = 0; i < n; i++) {
        if (fabs(cpu[i]) > scale) scale = fabs(cpu[i]);
        if (fabs((double)host[i] - cpu[i]) > worst || isnan(host[i])) worst = isnan(host[i]) ? INFINITY : fabs((double)host[i] - cpu[i]);
    }
    CHECK_MSG(worst <= tol * scale, "%s: max |gpu - cpu| = %.3g, %.3g relative (tolerance %.1g)", what, worst, worst / scale, tol);
    free(host);
}

#define TOL_ELEM 2e-5
#define TOL_GEMM 1e-4
#define TOL_BF16 3e-2

static pd_tensor *input(pd_graph *g, int ndim, const int64_t *shape, double scale)
{
    pd_tensor *t = pd_tensor_new(g, ndim, shape);
    fill(t->data, t->numel, scale);
    t->requires_grad = 1;
    return t;
}

/* Backward on the CPU with a random seed; returns the seed (arena) for the GPU side. */
static pd_real *cpu_backward(pd_graph *g, pd_tensor *y)
{
    pd_real *seed = pd_graph_alloc(g, (size_t)y->numel * sizeof(pd_real));
    fill(seed, y->numel, 1.0);
    CHECK_MSG(pd_backward_seeded(g, y, seed) == PD_OK, "%s", pd_last_error());
    return seed;
}

#define GPU_OK(call) CHECK_MSG((call) == PD_OK, "%s: %s", #call, pd_last_error())

static void check_linear_and_matmul(pd_graph *g, pd_cuda_precision p)
{
    const double tol = p == PD_CUDA_BF16 ? TOL_BF16 : TOL_GEMM;
    pd_tensor *x = input(g, 2, (int64_t[]){37, 24}, 1), *w = input(g, 2, (int64_t[]){19, 24}, 0.2),
              *b = input(g, 1, (int64_t[]){19}, 0.2);
    pd_tensor *y = pd_linear(g, x, w, b);
    pd_real *seed = cpu_backward(g, y);
    float *dx = to_device(x->data, x->numel), *dw = to_device(w->data, w->numel), *db = to_device(b->data, b->numel);
    float *dy = zeros_device(y->numel), *gx = zeros_device(x->numel), *gw = zeros_device(w->numel), *gb = zeros_device(19);
    GPU_OK(pd_cuda_linear_forward(&arena, p, dx, dw, NULL, db, dy, 37, 24, 19));
    compare("linear forward", y->data, dy, y->numel, tol);
    GPU_OK(pd_cuda_linear_backward(&arena, p, dx, dw, to_device(seed, y->numel), gx, gw, gb, 37, 24, 19));
    compare("linear dx", x->grad, gx, x->numel, tol);
    compare("linear dw", w->grad, gw, w->numel, tol);
    compare("linear db", b->grad, gb, 19, TOL_ELEM);

    for (int variant = 0; variant < 3; variant++) {
        const int ta = variant == 1, tb = variant != 0, shared = variant == 2;
        pd_tensor *a = input(g, 3, ta ? (int64_t[]){3, 6, 5} : (int64_t[]){3, 5, 6}, 1);
        pd_tensor *bb = shared ? input(g, 2, tb ? (int64_t[]){7, 6} : (int64_t[]){6, 7}, 1)
                               : input(g, 3, tb ? (int64_t[]){3, 7, 6} : (int64_t[]){3, 6, 7}, 1);
        pd_tensor *c = pd_matmul(g, a, bb, ta, tb);
        pd_real *s = cpu_backward(g, c);
        float *da = to_device(a->data, a->numel), *dbb = to_device(bb->data, bb->numel), *dc = zeros_device(c->numel);
        float *ga = zeros_device(a->numel), *gbb = zeros_device(bb->numel);
        GPU_OK(pd_cuda_matmul_forward(&arena, p, da, dbb, dc, 3, 5, 7, 6, ta, tb, shared));
        compare("matmul forward", c->data, dc, c->numel, tol);
        GPU_OK(pd_cuda_matmul_backward(&arena, p, da, dbb, to_device(s, c->numel), ga, gbb, 3, 5, 7, 6, ta, tb, shared));
        compare("matmul da", a->grad, ga, a->numel, tol);
        compare("matmul db", bb->grad, gbb, bb->numel, tol);
    }
}

static void check_elementwise(pd_graph *g)
{
    const int64_t sa[] = {4, 1, 6}, sb[] = {3, 1};
    for (int k = 0; k < 3; k++) {
        pd_tensor *a = input(g, 3, sa, 1), *b = input(g, 2, sb, 1);
        pd_tensor *y = k == 0 ? pd_add(g, a, b) : k == 1 ? pd_sub(g, a, b) : pd_mul(g, a, b);
        pd_real *seed = cpu_backward(g, y);
        pd_broadcast_layout L;
        CHECK(pd_broadcast_layout_make(3, sa, 2, sb, &L));
        float *da = to_device(a->data, a->numel), *db = to_device(b->data, b->numel), *dy = zeros_device(y->numel);
        float *ga = zeros_device(a->numel), *gb = zeros_device(b->numel);
        GPU_OK(pd_cuda_binary_forward((pd_binary_kind)k, &L, da, db, dy, a->numel, b->numel));
        compare("binary forward", y->data, dy, y->numel, 0);
        GPU_OK(pd_cuda_binary_backward((pd_binary_kind)k, &L, da, db, to_device(seed, y->numel), ga, gb, a->numel, b->numel));
        compare("binary grad a", a->grad, ga, a->numel, TOL_ELEM);
        compare("binary grad b", b->grad, gb, b->numel, TOL_ELEM);
    }
    pd_tensor *x = input(g, 3, (int64_t[]){2, 5, 8}, 1), *sh = input(g, 2, (int64_t[]){2, 8}, 1), *sc = input(g, 2, (int64_t[]){2, 8}, 0.3);
    pd_tensor *y = pd_modulate(g, x, sh, sc);
    pd_real *seed = cpu_backward(g, y);
    float *dx = to_device(x->data, 80), *dsh = to_device(sh->data, 16), *dsc = to_device(sc->data, 16), *dy = zeros_device(80);
    float *gx = zeros_device(80), *gsh = zeros_device(16), *gsc = zeros_device(16);
    GPU_OK(pd_cuda_modulate_forward(dx, dsh, dsc, dy, 10, 8, 5));
    compare("modulate forward", y->data, dy, 80, TOL_ELEM);
    GPU_OK(pd_cuda_modulate_backward(dx, dsc, to_device(seed, 80), gx, gsh, gsc, 10, 8, 5));
    compare("modulate dx", x->grad, gx, 80, TOL_ELEM);
    compare("modulate dshift", sh->grad, gsh, 16, TOL_ELEM);
    compare("modulate dscale", sc->grad, gsc, 16, TOL_ELEM);

    pd_tensor *(*acts[])(pd_graph *, pd_tensor *) = {pd_gelu, pd_gelu_tanh, pd_silu, pd_relu, pd_sigmoid};
    for (int k = 0; k < 5; k++) {
        pd_tensor *a = input(g, 2, (int64_t[]){9, 11}, 2), *ya = acts[k](g, a);
        pd_real *s = cpu_backward(g, ya);
        float *da = to_device(a->data, 99), *dya = zeros_device(99), *ga = zeros_device(99);
        GPU_OK(pd_cuda_activation_forward((pd_act_kind)k, da, dya, 99));
        compare("activation forward", ya->data, dya, 99, TOL_ELEM);
        GPU_OK(pd_cuda_activation_backward((pd_act_kind)k, da, dya, to_device(s, 99), ga, 99));
        compare("activation backward", a->grad, ga, 99, TOL_ELEM);
    }
    for (int take_log = 0; take_log < 2; take_log++) {
        pd_tensor *a = input(g, 2, (int64_t[]){7, 45}, 3), *ya = take_log ? pd_log_softmax(g, a) : pd_softmax(g, a);
        pd_real *s = cpu_backward(g, ya);
        float *da = to_device(a->data, a->numel), *dya = zeros_device(a->numel), *ga = zeros_device(a->numel);
        GPU_OK(pd_cuda_softmax_forward(da, dya, 7, 45, take_log));
        compare("softmax forward", ya->data, dya, a->numel, TOL_ELEM);
        GPU_OK(pd_cuda_softmax_backward(dya, to_device(s, a->numel), ga, 7, 45, take_log));
        compare("softmax backward", a->grad, ga, a->numel, TOL_ELEM);
    }
}

static void check_norms_and_reductions(pd_graph *g)
{
    pd_tensor *x = input(g, 2, (int64_t[]){13, 40}, 2), *w = input(g, 1, (int64_t[]){40}, 1), *b = input(g, 1, (int64_t[]){40}, 1);
    pd_tensor *y = pd_layernorm(g, x, w, b, 1e-5);
    pd_real *seed = cpu_backward(g, y);
    float *dx = to_device(x->data, 520), *dw = to_device(w->data, 40), *db = to_device(b->data, 40), *dy = zeros_device(520);
    float *mean = zeros_device(13), *rstd = zeros_device(13), *gx = zeros_device(520), *gw = zeros_device(40), *gb = zeros_device(40);
    GPU_OK(pd_cuda_layernorm_forward(dx, dw, db, dy, mean, rstd, 13, 40, 1e-5f));
    compare("layernorm forward", y->data, dy, 520, TOL_ELEM);
    GPU_OK(pd_cuda_layernorm_backward(dx, dw, mean, rstd, to_device(seed, 520), gx, gw, gb, 13, 40));
    compare("layernorm dx", x->grad, gx, 520, TOL_ELEM);
    compare("layernorm dw", w->grad, gw, 40, TOL_ELEM);
    compare("layernorm db", b->grad, gb, 40, TOL_ELEM);

    for (int bn = 0; bn < 2; bn++) {
        pd_tensor *xi = input(g, 4, (int64_t[]){3, 6, 4, 5}, 2), *ga = input(g, 1, (int64_t[]){6}, 1), *be = input(g, 1, (int64_t[]){6}, 1);
        pd_tensor *yi = bn ? pd_batchnorm(g, xi, ga, be, NULL, 0.1, 1e-5) : pd_groupnorm(g, xi, 3, ga, be, 1e-5);
        pd_real *s = cpu_backward(g, yi);
        float *d_x = to_device(xi->data, xi->numel), *d_g = to_device(ga->data, 6), *d_b = to_device(be->data, 6);
        float *d_y = zeros_device(xi->numel), *mu = zeros_device(6), *rs = zeros_device(6);
        float *g_x = zeros_device(xi->numel), *g_g = zeros_device(6), *g_b = zeros_device(6);
        if (bn) GPU_OK(pd_cuda_batchnorm_forward(d_x, d_g, d_b, NULL, NULL, d_y, mu, rs, 3, 6, 20, 0.1, 1e-5, 1));
        else GPU_OK(pd_cuda_groupnorm_forward(d_x, d_g, d_b, d_y, mu, rs, 3, 6, 20, 3, 1e-5));
        compare(bn ? "batchnorm forward" : "groupnorm forward", yi->data, d_y, xi->numel, TOL_ELEM);
        float *d_s = to_device(s, xi->numel);
        if (bn) GPU_OK(pd_cuda_batchnorm_backward(d_x, d_g, mu, rs, d_s, g_x, g_g, g_b, 3, 6, 20, 1));
        else GPU_OK(pd_cuda_groupnorm_backward(d_x, d_g, mu, rs, d_s, g_x, g_g, g_b, 3, 6, 20, 3));
        compare("norm dx", xi->grad, g_x, xi->numel, TOL_ELEM);
        compare("norm dgamma", ga->grad, g_g, 6, TOL_ELEM);
        compare("norm dbeta", be->grad, g_b, 6, TOL_ELEM);
    }

    pd_tensor *r = input(g, 3, (int64_t[]){4, 9, 5}, 1), *ys = pd_sum_axis(g, r, 1);
    pd_real *s = cpu_backward(g, ys);
    float *dr = to_device(r->data, r->numel), *dys = zeros_device(20), *gr = zeros_device(r->numel);
    GPU_OK(pd_cuda_sum_axis_forward(dr, dys, 4, 9, 5, 1));
    compare("sum_axis forward", ys->data, dys, 20, TOL_ELEM);
    GPU_OK(pd_cuda_sum_axis_backward(to_device(s, 20), gr, 4, 9, 5, 1));
    compare("sum_axis backward", r->grad, gr, r->numel, TOL_ELEM);
    pd_tensor *m = pd_mean(g, r);
    float *dm = zeros_device(1);
    GPU_OK(pd_cuda_sum_forward(&arena, dr, dm, r->numel, 1));
    compare("mean forward", m->data, dm, 1, TOL_ELEM);
}

static void check_losses(pd_graph *g)
{
    const uint8_t valid[6] = {1, 0, 1, 1, 1, 0};
    pd_tensor *p = input(g, 2, (int64_t[]){6, 7}, 1), *t = input(g, 2, (int64_t[]){6, 7}, 1);
    pd_tensor *l = pd_mse(g, p, t, valid, 0);
    CHECK(pd_backward(g, l) == PD_OK);
    uint8_t *dvalid = pd_cuda_arena_alloc(&arena, 6);
    GPU_OK(pd_cuda_upload(dvalid, valid, 6));
    float *dp = to_device(p->data, 42), *dt = to_device(t->data, 42), *dl = zeros_device(1), *one = zeros_device(1);
    float *gp = zeros_device(42), *gt = zeros_device(42);
    const pd_real one_h = 1;
    GPU_OK(pd_cuda_upload(one, &one_h, sizeof one_h));
    GPU_OK(pd_cuda_mse_forward(&arena, dp, dt, dvalid, dl, 6, 7, 28));
    compare("mse forward", l->data, dl, 1, TOL_ELEM);
    GPU_OK(pd_cuda_mse_backward(dp, dt, dvalid, one, gp, gt, 6, 7, 28));
    compare("mse dpred", p->grad, gp, 42, TOL_ELEM);
    compare("mse dtarget", t->grad, gt, 42, TOL_ELEM);

    const int32_t target[6] = {3, -100, 0, 6, 2, -100};
    pd_tensor *x = input(g, 2, (int64_t[]){6, 7}, 2), *ce = pd_cross_entropy(g, x, target, -100, 0);
    CHECK(pd_backward(g, ce) == PD_OK);
    int32_t *dtarget = pd_cuda_arena_alloc(&arena, sizeof target);
    GPU_OK(pd_cuda_upload(dtarget, target, sizeof target));
    float *dx = to_device(x->data, 42), *lse = zeros_device(6), *dce = zeros_device(1), *gx = zeros_device(42);
    GPU_OK(pd_cuda_cross_entropy_forward(&arena, dx, dtarget, -100, lse, dce, 6, 7, 4));
    compare("cross-entropy forward", ce->data, dce, 1, TOL_ELEM);
    GPU_OK(pd_cuda_cross_entropy_backward(dx, dtarget, -100, lse, one, gx, 6, 7, 4));
    compare("cross-entropy backward", x->grad, gx, 42, TOL_ELEM);

    pd_tensor *mu = input(g, 2, (int64_t[]){6, 7}, 1), *lv = input(g, 2, (int64_t[]){6, 7}, 0.5);
    pd_tensor *kl = pd_kl_normal(g, mu, lv, valid, 0);
    CHECK(pd_backward(g, kl) == PD_OK);
    float *dmu = to_device(mu->data, 42), *dlv = to_device(lv->data, 42), *dkl = zeros_device(1);
    float *gmu = zeros_device(42), *glv = zeros_device(42);
    GPU_OK(pd_cuda_kl_normal_forward(&arena, dmu, dlv, dvalid, dkl, 6, 7, 4));
    compare("kl forward", kl->data, dkl, 1, TOL_ELEM);
    GPU_OK(pd_cuda_kl_normal_backward(dmu, dlv, dvalid, one, gmu, glv, 6, 7, 4));
    compare("kl dmu", mu->grad, gmu, 42, TOL_ELEM);
    compare("kl dlogvar", lv->grad, glv, 42, TOL_ELEM);
}

static void check_shape_and_index(pd_graph *g)
{
    const int perm[4] = {2, 0, 3, 1};
    pd_tensor *x = input(g, 4, (int64_t[]){2, 3, 4, 5}, 1), *y = pd_permute(g, x, perm);
    pd_real *seed = cpu_backward(g, y);
    float *dx = to_device(x->data, 120), *dy = zeros_device(120), *gx = zeros_device(120);
    GPU_OK(pd_cuda_permute_forward(dx, dy, 4, x->shape, perm));
    compare("permute forward", y->data, dy, 120, 0);
    GPU_OK(pd_cuda_permute_backward(to_device(seed, 120), gx, 4, x->shape, perm));
    compare("permute backward", x->grad, gx, 120, 0);

    pd_tensor *a = input(g, 3, (int64_t[]){2, 3, 4}, 1), *b = input(g, 3, (int64_t[]){2, 5, 4}, 1);
    pd_tensor *c = pd_concat(g, 2, (pd_tensor *[]){a, b}, 1), *sl = pd_slice(g, c, 1, 2, 4);
    pd_real *s2 = cpu_backward(g, sl);
    float *da = to_device(a->data, 24), *db = to_device(b->data, 40), *dc = zeros_device(64), *dsl = zeros_device(32);
    GPU_OK(pd_cuda_copy_rows(da, 12, dc, 32, 2, 12, 0));
    GPU_OK(pd_cuda_copy_rows(db, 20, dc + 12, 32, 2, 20, 0));
    compare("concat forward", c->data, dc, 64, 0);
    GPU_OK(pd_cuda_copy_rows(dc + 8, 32, dsl, 16, 2, 16, 0));
    compare("slice forward", sl->data, dsl, 32, 0);
    float *gc = zeros_device(64), *ga = zeros_device(24), *gb = zeros_device(40);
    GPU_OK(pd_cuda_copy_rows(to_device(s2, 32), 16, gc + 8, 32, 2, 16, 1));
    GPU_OK(pd_cuda_copy_rows(gc, 32, ga, 12, 2, 12, 1));
    GPU_OK(pd_cuda_copy_rows(gc + 12, 32, gb, 20, 2, 20, 1));
    compare("slice/concat backward (a)", a->grad, ga, 24, 0);
    compare("slice/concat backward (b)", b->grad, gb, 40, 0);

    int32_t idx[50];
    for (int i = 0; i < 50; i++) idx[i] = (i * 7) % 13 - (i % 11 == 0 ? 20 : 0);
    for (int i = 0; i < 50; i++)
        if (idx[i] < 0) idx[i] = -1;
    pd_tensor *table = input(g, 2, (int64_t[]){13, 6}, 1), *e = pd_embedding(g, table, idx, 50);
    pd_real *s3 = cpu_backward(g, e);
    pd_cuda_index_plan plan;
    GPU_OK(pd_cuda_index_plan_create(&arena, idx, 50, 13, &plan));
    float *dt = to_device(table->data, 78), *de = zeros_device(300), *gt = zeros_device(78);
    GPU_OK(pd_cuda_gather_rows_forward(&plan, dt, de, 6));
    compare("embedding forward", e->data, de, 300, 0);
    GPU_OK(pd_cuda_gather_rows_backward(&plan, to_device(s3, 300), gt, 6));
    compare("embedding backward (bitwise order)", table->grad, gt, 78, 0);

    pd_tensor *src = input(g, 2, (int64_t[]){50, 6}, 1), *sc = pd_scatter_add_rows(g, src, idx, 13);
    pd_real *s4 = cpu_backward(g, sc);
    float *dsrc = to_device(src->data, 300), *dsc = zeros_device(78), *gsrc = zeros_device(300);
    GPU_OK(pd_cuda_scatter_add_rows_forward(&plan, dsrc, dsc, 6));
    compare("scatter_add_rows forward (bitwise order)", sc->data, dsc, 78, 0);
    GPU_OK(pd_cuda_scatter_add_rows_backward(&plan, to_device(s4, 78), gsrc, 6));
    compare("scatter_add_rows backward", src->grad, gsrc, 300, 0);
}

static void check_attention(pd_graph *g, pd_cuda_precision p)
{
    const int64_t Bn = 2, Lq = 5, Lk = 7, Hn = 2, Dh = 8;
    const double tol = p == PD_CUDA_BF16 ? TOL_BF16 : TOL_GEMM;
    const uint8_t valid[14] = {1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1};
    pd_tensor *q = input(g, 3, (int64_t[]){Bn, Lq, Hn * Dh}, 1), *k = input(g, 3, (int64_t[]){Bn, Lk, Hn * Dh}, 1),
              *v = input(g, 3, (int64_t[]){Bn, Lk, Hn * Dh}, 1);
    pd_tensor *o = pd_attention(g, q, k, v, (int)Hn, valid, 0);
    pd_real *seed = cpu_backward(g, o);
    uint8_t *dvalid = pd_cuda_arena_alloc(&arena, 14);
    GPU_OK(pd_cuda_upload(dvalid, valid, 14));
    float *dq = to_device(q->data, q->numel), *dk = to_device(k->data, k->numel), *dv = to_device(v->data, v->numel);
    float *probs = zeros_device(Bn * Hn * Lq * Lk), *dout = zeros_device(o->numel);
    float *gq = zeros_device(q->numel), *gk = zeros_device(k->numel), *gv = zeros_device(v->numel);
    const float scale = (float)(1.0 / sqrt((double)Dh));
    GPU_OK(pd_cuda_attention_forward(&arena, p, dq, dk, dv, dvalid, probs, dout, Bn, Lq, Lk, (int)Hn, Dh, scale));
    compare("attention forward", o->data, dout, o->numel, tol);
    GPU_OK(pd_cuda_attention_backward(&arena, p, dq, dk, dv, probs, to_device(seed, o->numel), gq, gk, gv, Bn, Lq, Lk,
                                      (int)Hn, Dh, scale));
    compare("attention dq", q->grad, gq, q->numel, tol);
    compare("attention dk", k->grad, gk, k->numel, tol);
    compare("attention dv", v->grad, gv, v->numel, tol);

    pd_tensor *x = input(g, 3, (int64_t[]){2, 6, 16}, 1), *y = pd_rope(g, x, NULL, 2, 6, 10000.0);
    pd_real *s = cpu_backward(g, y);
    pd_cuda_rope_tables t;
    GPU_OK(pd_cuda_rope_tables_create(&arena, NULL, 2, 6, 6, 10000.0, &t));
    float *dx = to_device(x->data, x->numel), *dy = zeros_device(x->numel), *gx = zeros_device(x->numel);
    GPU_OK(pd_cuda_rope_forward(&t, dx, dy, 12, 2, 8, 6));
    compare("rope forward", y->data, dy, x->numel, TOL_ELEM);
    GPU_OK(pd_cuda_rope_backward(&t, to_device(s, x->numel), gx, 12, 2, 8, 6));
    compare("rope backward", x->grad, gx, x->numel, TOL_ELEM);
}

static void check_conv_upsample(pd_graph *g)
{
    for (int kind = 0; kind < 4; kind++) {   /* conv2d s1, conv3d s2, convT2d, convT3d */
        const int three = kind == 1 || kind == 3, transposed = kind >= 2;
        pd_tensor *x = three ? input(g, 5, (int64_t[]){2, 3, 4, 4, 5}, 1) : input(g, 4, (int64_t[]){2, 3, 5, 6}, 1);
        pd_tensor *w = three ? input(g, 5, (int64_t[]){transposed ? 3 : 4, transposed ? 4 : 3, 2, 2, 2}, 0.3)
                             : input(g, 4, (int64_t[]){transposed ? 3 : 4, transposed ? 4 : 3, 2, 2}, 0.3);
        pd_tensor *b = input(g, 1, (int64_t[]){4}, 0.3);
        pd_tensor *y = transposed ? pd_conv_transpose_k2(g, x, w, b) : pd_conv_k2(g, x, w, b, three ? 2 : 1);
        pd_real *seed = cpu_backward(g, y);
        pd_conv_shape s;
        if (transposed) CHECK(pd_conv_transpose_shape_k2(&s, three ? 3 : 2, 2, 3, 4, x->shape + 2) == PD_OK);
        else CHECK(pd_conv_shape_k2(&s, three ? 3 : 2, 2, 3, 4, x->shape + 2, three ? 2 : 1) == PD_OK);
        float *dx = to_device(x->data, x->numel), *dw = to_device(w->data, w->numel), *db = to_device(b->data, 4);
        float *dy = zeros_device(y->numel), *gx = zeros_device(x->numel), *gw = zeros_device(w->numel), *gb = zeros_device(4);
        GPU_OK(pd_cuda_conv_forward(&arena, PD_CUDA_FP32, &s, dx, dw, db, dy));
        compare("conv forward", y->data, dy, y->numel, TOL_GEMM);
        GPU_OK(pd_cuda_conv_backward(&arena, PD_CUDA_FP32, &s, dx, dw, to_device(seed, y->numel), gx, gw, gb));
        compare("conv dx", x->grad, gx, x->numel, TOL_GEMM);
        compare("conv dw", w->grad, gw, w->numel, TOL_GEMM);
        compare("conv db", b->grad, gb, 4, TOL_ELEM);
    }
    pd_tensor *x = input(g, 4, (int64_t[]){2, 3, 5, 7}, 1), *y = pd_upsample_bilinear_size(g, x, 9, 13);
    pd_real *seed = cpu_backward(g, y);
    float *dx = to_device(x->data, x->numel), *dy = zeros_device(y->numel), *gx = zeros_device(x->numel);
    GPU_OK(pd_cuda_upsample_bilinear_forward(dx, dy, 6, 5, 7, 9, 13, 5.0 / 9, 7.0 / 13));
    compare("upsample forward", y->data, dy, y->numel, TOL_ELEM);
    GPU_OK(pd_cuda_upsample_bilinear_backward(&arena, to_device(seed, y->numel), gx, 6, 5, 7, 9, 13, 5.0 / 9, 7.0 / 13));
    compare("upsample backward", x->grad, gx, x->numel, TOL_ELEM);
}

static void check_vq(void)
{
    const int64_t K = 16, Dd = 4, N = 3, P = 10;
    pd_real embed[16 * 4], count[16], sum[16 * 4], x[3 * 4 * 10];
    fill(embed, K * Dd, 1);
    fill(x, N * Dd * P, 1);
    pd_vq_codebook book = {K, Dd, embed, count, sum};
    pd_vq_codebook_reset_ema(&book);
    int32_t index[30], gindex[30];
    CHECK(pd_vq_nearest(&book, x, N, P, index, NULL) == PD_OK);
    double counts[16], sums[64];
    pd_vq_batch_stats(&book, x, N, P, index, counts, sums);
    float *de = to_device(embed, K * Dd), *dxx = to_device(x, N * Dd * P), *dq = zeros_device(N * Dd * P);
    float *dcount = to_device(count, K), *dsum = to_device(sum, K * Dd);
    int32_t *di = pd_cuda_arena_alloc(&arena, sizeof gindex);
    double *dcounts = pd_cuda_arena_alloc(&arena, sizeof counts), *dsums = pd_cuda_arena_alloc(&arena, sizeof sums);
    GPU_OK(pd_cuda_vq_nearest(&arena, de, K, Dd, dxx, N, P, di, dq));
    GPU_OK(pd_cuda_download(gindex, di, sizeof gindex));
    CHECK_MSG(memcmp(gindex, index, sizeof index) == 0, "vq nearest codes differ from the CPU");
    GPU_OK(pd_cuda_vq_batch_stats(&arena, K, Dd, dxx, N, P, index, dcounts, dsums));
    double gcounts[16], gsums[64];
    GPU_OK(pd_cuda_download(gcounts, dcounts, sizeof gcounts));
    GPU_OK(pd_cuda_download(gsums, dsums, sizeof gsums));
    CHECK_MSG(memcmp(gcounts, counts, sizeof counts) == 0 && memcmp(gsums, sums, sizeof sums) == 0,
              "vq batch statistics differ from the CPU (they are summed in the same order)");
    pd_vq_ema_config cfg = pd_vq_ema_defaults();
    pd_vq_ema_update(&book, &cfg, counts, sums);
    GPU_OK(pd_cuda_vq_ema_update(de, dcount, dsum, K, Dd, cfg.decay, cfg.eps, dcounts, dsums));
    compare("vq EMA codebook", embed, de, K * Dd, TOL_ELEM);
    compare("vq EMA counts", count, dcount, K, TOL_ELEM);
}

/* scale and add_scalar (the affine kernel, which reshape's backward also uses) and
 * reparameterize with a given eps. */
static void check_affine_and_reparam(pd_graph *g)
{
    pd_tensor *x = input(g, 2, (int64_t[]){6, 7}, 1);
    pd_tensor *y = pd_add_scalar(g, pd_scale(g, x, -1.7), 0.3);
    pd_real *seed = cpu_backward(g, y);
    float *dx = to_device(x->data, 42), *dt = zeros_device(42), *dy = zeros_device(42), *gt = zeros_device(42),
          *gx = zeros_device(42);
    GPU_OK(pd_cuda_affine_forward(dx, dt, 42, -1.7f, 0));
    GPU_OK(pd_cuda_affine_forward(dt, dy, 42, 1, 0.3f));
    compare("scale, add_scalar forward", y->data, dy, 42, TOL_ELEM);
    GPU_OK(pd_cuda_affine_backward(to_device(seed, 42), gt, 42, 1));
    GPU_OK(pd_cuda_affine_backward(gt, gx, 42, -1.7f));
    compare("scale, add_scalar backward", x->grad, gx, 42, TOL_ELEM);

    const int64_t shape[2] = {5, 6};
    pd_tensor *mu = input(g, 2, shape, 1), *lv = input(g, 2, shape, 0.5), *eps = input(g, 2, shape, 1);
    pd_tensor *z = pd_reparameterize_eps(g, mu, lv, eps);
    pd_real *s = cpu_backward(g, z);
    float *dmu = to_device(mu->data, 30), *dlv = to_device(lv->data, 30), *de = to_device(eps->data, 30);
    float *dz = zeros_device(30), *gmu = zeros_device(30), *glv = zeros_device(30), *ge = zeros_device(30);
    GPU_OK(pd_cuda_reparam_forward(dmu, dlv, de, dz, 30));
    compare("reparameterize forward", z->data, dz, 30, TOL_ELEM);
    GPU_OK(pd_cuda_reparam_backward(dlv, de, to_device(s, 30), gmu, glv, ge, 30));
    compare("reparameterize dmu", mu->grad, gmu, 30, TOL_ELEM);
    compare("reparameterize dlogvar", lv->grad, glv, 30, TOL_ELEM);
    compare("reparameterize deps", eps->grad, ge, 30, TOL_ELEM);
}

/* The device copy of parameter t inside a device copy of P's flat buffer. */
static float *device_view(float *flat, const pd_params *P, const pd_tensor *t) { return flat + pd_params_of(P, t)->offset; }

/* A training step of a small block, CPU vs GPU: linear → GELU → layernorm → linear, MSE, AdamW. */
static void check_training_step(pd_graph *g)
{
    const int64_t R = 24, Din = 16, Hd = 32, Dout = 8;
    pd_params P;
    pd_params_init(&P);
    pd_tensor *w1 = pd_param_new(&P, "fc1.weight", 2, (int64_t[]){Hd, Din}, PD_INIT_TORCH_DEFAULT, (double)Din);
    pd_tensor *b1 = pd_param_new(&P, "fc1.bias", 1, (int64_t[]){Hd}, PD_INIT_TORCH_DEFAULT, (double)Din);
    pd_tensor *lw = pd_param_new(&P, "ln.weight", 1, (int64_t[]){Hd}, PD_INIT_ONES, 0);
    pd_tensor *w2 = pd_param_new(&P, "fc2.weight", 2, (int64_t[]){Dout, Hd}, PD_INIT_TORCH_DEFAULT, (double)Hd);
    CHECK(pd_params_finalize(&P, 1) == PD_OK);
    pd_params_init_values(&P, 3);
    pd_adamw_config cfg;
    pd_adamw_config_default(&cfg);
    pd_adamw opt;
    CHECK(pd_adamw_init(&opt, &P, &cfg, 0, P.total) == PD_OK);
    /* device copies of the flat buffers, so the views are offsets */
    float *dP = to_device(P.data, P.total), *dG = zeros_device(P.total), *dm = zeros_device(P.total), *dv = zeros_device(P.total);
    pd_tensor *x = input(g, 2, (int64_t[]){R, Din}, 1), *tgt = input(g, 2, (int64_t[]){R, Dout}, 1);
    x->requires_grad = tgt->requires_grad = 0;
    pd_tensor *h1 = pd_linear(g, x, w1, b1), *a1 = pd_gelu(g, h1), *n1 = pd_layernorm(g, a1, lw, NULL, 1e-5);
    pd_tensor *out = pd_linear(g, n1, w2, NULL), *loss = pd_mse(g, out, tgt, NULL, 0);
    pd_params_zero_grad(&P);
    CHECK(pd_backward(g, loss) == PD_OK);
    pd_adamw_step(&opt, P.data, P.grad, 1e-2, 1.0);

    float *dx = to_device(x->data, R * Din), *dt = to_device(tgt->data, R * Dout);
    float *h1d = zeros_device(R * Hd), *a1d = zeros_device(R * Hd), *n1d = zeros_device(R * Hd), *outd = zeros_device(R * Dout);
    float *mean = zeros_device(R), *rstd = zeros_device(R), *ld = zeros_device(1), *one = zeros_device(1);
    const pd_real one_h = 1;
    GPU_OK(pd_cuda_upload(one, &one_h, sizeof one_h));
    GPU_OK(pd_cuda_linear_forward(&arena, PD_CUDA_FP32, dx, device_view(dP, &P, w1), NULL, device_view(dP, &P, b1), h1d, R, Din, Hd));
    GPU_OK(pd_cuda_activation_forward(PD_ACT_GELU, h1d, a1d, R * Hd));
    GPU_OK(pd_cuda_layernorm_forward(a1d, device_view(dP, &P, lw), NULL, n1d, mean, rstd, R, Hd, 1e-5f));
    GPU_OK(pd_cuda_linear_forward(&arena, PD_CUDA_FP32, n1d, device_view(dP, &P, w2), NULL, NULL, outd, R, Hd, Dout));
    GPU_OK(pd_cuda_mse_forward(&arena, outd, dt, NULL, ld, R, Dout, (double)(R * Dout)));
    compare("train step: loss", loss->data, ld, 1, TOL_GEMM);
    float *gout = zeros_device(R * Dout), *gn1 = zeros_device(R * Hd), *ga1 = zeros_device(R * Hd), *gh1 = zeros_device(R * Hd);
    GPU_OK(pd_cuda_mse_backward(outd, dt, NULL, one, gout, NULL, R, Dout, (double)(R * Dout)));
    GPU_OK(pd_cuda_linear_backward(&arena, PD_CUDA_FP32, n1d, device_view(dP, &P, w2), gout, gn1, device_view(dG, &P, w2), NULL, R, Hd, Dout));
    GPU_OK(pd_cuda_layernorm_backward(a1d, device_view(dP, &P, lw), mean, rstd, gn1, ga1, device_view(dG, &P, lw), NULL, R, Hd));
    GPU_OK(pd_cuda_activation_backward(PD_ACT_GELU, h1d, a1d, ga1, gh1, R * Hd));
    GPU_OK(pd_cuda_linear_backward(&arena, PD_CUDA_FP32, dx, device_view(dP, &P, w1), gh1, NULL, device_view(dG, &P, w1), device_view(dG, &P, b1), R, Din, Hd));
    compare("train step: gradients", P.grad, dG, P.total, TOL_GEMM);
    double sumsq = 0;
    GPU_OK(pd_cuda_grad_sumsq(&arena, dG, P.total, &sumsq));
    CHECK_NEAR(sumsq, pd_grad_sumsq(P.grad, P.total), 1e-4 * pd_grad_sumsq(P.grad, P.total));
    const pd_adamw_scalars k = pd_adamw_scalars_at(cfg.beta1, cfg.beta2, cfg.eps, cfg.weight_decay, 1e-2, 1, 1.0);
    int64_t (*segs)[2] = malloc((size_t)(opt.n_segments + 1) * sizeof *segs);
    for (int i = 0; i < opt.n_segments; i++) {
        segs[i][0] = opt.segments[i].begin;
        segs[i][1] = opt.segments[i].end;
    }
    uint16_t *bf = pd_cuda_arena_alloc(&arena, (size_t)P.total * sizeof(uint16_t));
    GPU_OK(pd_cuda_adamw_step(&k, dP, dm, dv, dG, bf, P.total, (const int64_t(*)[2])segs, opt.n_segments));
    compare("train step: weights after AdamW", P.data, dP, P.total, TOL_GEMM);
    free(segs);
    pd_adamw_free(&opt);
    pd_params_free(&P);
}

/* ---- the op enum → the check that covers each op ---- */

typedef struct gpu_check {
    const char *name;
    void (*fn)(pd_graph *g, pd_cuda_precision p);
    int both_precisions;   /* GEMM-based: run in FP32 and BF16 */
} gpu_check;

static void run_linear_and_matmul(pd_graph *g, pd_cuda_precision p) { check_linear_and_matmul(g, p); }
static void run_attention(pd_graph *g, pd_cuda_precision p) { check_attention(g, p); }
static void run_elementwise(pd_graph *g, pd_cuda_precision p) { (void)p; check_elementwise(g); }
static void run_affine_and_reparam(pd_graph *g, pd_cuda_precision p) { (void)p; check_affine_and_reparam(g); }
static void run_norms_and_reductions(pd_graph *g, pd_cuda_precision p) { (void)p; check_norms_and_reductions(g); }
static void run_losses(pd_graph *g, pd_cuda_precision p) { (void)p; check_losses(g); }
static void run_shape_and_index(pd_graph *g, pd_cuda_precision p) { (void)p; check_shape_and_index(g); }
static void run_conv_upsample(pd_graph *g, pd_cuda_precision p) { (void)p; check_conv_upsample(g); }
static void run_vq(pd_graph *g, pd_cuda_precision p) { (void)g; (void)p; check_vq(); }

static const gpu_check GEMM = {"linear and matmul", run_linear_and_matmul, 1},
                       ATTN = {"attention and rope", run_attention, 1},
                       ELEM = {"elementwise", run_elementwise, 0},
                       AFFINE = {"affine and reparameterize", run_affine_and_reparam, 0},
                       NORM = {"norms and reductions", run_norms_and_reductions, 0},
                       LOSS = {"losses", run_losses, 0},
                       SHAPE = {"shape and index", run_shape_and_index, 0},
                       CONV = {"conv and upsample", run_conv_upsample, 0},
                       VQ = {"vq", run_vq, 0};

static const gpu_check *const op_checks[PD_OP_COUNT] = {
    [PD_OP_LINEAR] = &GEMM, [PD_OP_MATMUL] = &GEMM,
    [PD_OP_ADD] = &ELEM, [PD_OP_SUB] = &ELEM, [PD_OP_MUL] = &ELEM, [PD_OP_MODULATE] = &ELEM,
    [PD_OP_GELU] = &ELEM, [PD_OP_GELU_TANH] = &ELEM, [PD_OP_SILU] = &ELEM, [PD_OP_RELU] = &ELEM,
    [PD_OP_SIGMOID] = &ELEM, [PD_OP_SOFTMAX] = &ELEM, [PD_OP_LOG_SOFTMAX] = &ELEM,
    [PD_OP_SCALE] = &AFFINE, [PD_OP_ADD_SCALAR] = &AFFINE, [PD_OP_RESHAPE] = &AFFINE, [PD_OP_REPARAMETERIZE] = &AFFINE,
    [PD_OP_SUM] = &NORM, [PD_OP_MEAN] = &NORM, [PD_OP_SUM_AXIS] = &NORM, [PD_OP_MEAN_AXIS] = &NORM,
    [PD_OP_LAYERNORM] = &NORM, [PD_OP_GROUPNORM] = &NORM, [PD_OP_BATCHNORM] = &NORM,
    [PD_OP_MSE] = &LOSS, [PD_OP_CROSS_ENTROPY] = &LOSS, [PD_OP_KL_NORMAL] = &LOSS,
    [PD_OP_PERMUTE] = &SHAPE, [PD_OP_CONCAT] = &SHAPE, [PD_OP_SLICE] = &SHAPE, [PD_OP_GATHER_ROWS] = &SHAPE,
    [PD_OP_EMBEDDING] = &SHAPE, [PD_OP_SCATTER_ADD_ROWS] = &SHAPE,
    [PD_OP_ROPE] = &ATTN, [PD_OP_ATTENTION] = &ATTN,
    [PD_OP_CONV2D_K2] = &CONV, [PD_OP_CONV3D_K2] = &CONV, [PD_OP_CONV_TRANSPOSE2D_K2] = &CONV,
    [PD_OP_CONV_TRANSPOSE3D_K2] = &CONV, [PD_OP_CONV_1X1] = &CONV, [PD_OP_UPSAMPLE_BILINEAR] = &CONV,
    [PD_OP_VQ_STRAIGHT_THROUGH] = &VQ,
};

int main(void)
{
    /* The enum walk needs no GPU: every op the CUDA table supports has a check here. */
    const pd_backend *cuda = pd_backend_for(PD_DEVICE_CUDA);
    CHECK_MSG(cuda != NULL, "a --with-cuda build registers no cuda backend (src/nn/backend.c)");
    if (!cuda) return pd_test_finish("GPU ops vs CPU");
    printf("%-22s %-5s %s\n", "op", "cuda", "GPU check");
    for (int i = 0; i < PD_OP_COUNT; i++) {
        const pd_op op = (pd_op)i;
        const int yes = cuda->supports(op);
        printf("%-22s %-5s %s\n", pd_op_name(op), yes ? "yes" : pd_op_host_side(op) ? "host" : "-",
               op_checks[i] ? op_checks[i]->name : "-");
        CHECK_MSG(!yes || op_checks[i], "the cuda backend supports '%s' but tests/gpu has no check for it", pd_op_name(op));
    }
    if (pd_cuda_device_count() == 0) {
        if (pd_test_failures) return pd_test_finish("GPU ops vs CPU");
        printf("SKIP: no GPU is visible (pd_cuda_device_count() = 0); these tests run on a GPU node\n");
        return 77;
    }
    char err[256];
    if (pd_cuda_init(0, err, sizeof err) != 0) {
        fprintf(stderr, "pd_cuda_init: %s\n", err);
        return 1;
    }
    CHECK_MSG(pd_cuda_arena_create(&arena, (size_t)256 << 20) == PD_OK, "%s", pd_last_error());
    pd_graph *g;
    CHECK(pd_graph_create(&g, 0) == PD_OK);
    const gpu_check *done[PD_OP_COUNT];
    int n_done = 0;
    for (int i = 0; i < PD_OP_COUNT; i++) {
        const gpu_check *c = op_checks[i];
        int seen = !c || !cuda->supports((pd_op)i);
        for (int j = 0; j < n_done && !seen; j++) seen = done[j] == c;
        if (seen) continue;
        done[n_done++] = c;
        for (int p = 0; p < (c->both_precisions ? 2 : 1); p++) {
            pd_graph_reset(g);
            pd_cuda_arena_reset(&arena);
            c->fn(g, (pd_cuda_precision)p);
        }
    }
    pd_graph_reset(g);
    pd_cuda_arena_reset(&arena);
    check_training_step(g);
    CHECK_MSG(pd_cuda_synchronize("the GPU op tests") == PD_OK, "%s", pd_last_error());
    pd_graph_destroy(g);
    pd_cuda_arena_destroy(&arena);
    pd_cuda_finalize();
    return pd_test_finish("GPU ops vs CPU");
}
#else
int main(void)
{
    printf("SKIP: this build has no CUDA backend (./configure --with-cuda)\n");
    return 77;
}
#endif
