/* test_conv_ops.c — every conv/norm/upsample/VQ op on the tape through the nn gradient checker
 * (double build, central differences of the same code), the side-chain VAE residual block as a
 * whole, the straight-through estimator, op shape errors, and a wrong backward being caught. */
#include <string.h>

#include "nn/conv.h"
#include "nn/gradcheck.h"
#include "nn/norm.h"
#include "nn/ops.h"
#include "nn/upsample.h"
#include "nn/vq.h"
#include "op_seen.h"
#include "test.h"

static pd_gradcheck_input in_shape(int ndim, const int64_t *shape)
{
    pd_gradcheck_input in = {.ndim = ndim, .requires_grad = 1};
    memcpy(in.shape, shape, (size_t)ndim * sizeof *shape);
    return in;
}

static void expect_pass(const char *name, pd_gradcheck_fn fn, void *user, int n, const pd_gradcheck_input *in,
                        int training)
{
    pd_gradcheck_opts o = {.training = training, .seed = 5};
    pd_gradcheck_result r;
    pd_status st = pd_gradcheck(name, fn, user, n, in, &o, &r);
    CHECK_MSG(st == PD_OK, "%s: %s", name, pd_last_error());
    CHECK_MSG(r.n_checked > 0, "%s compared nothing", name);
    if (st == PD_OK)
        for (int op = 0; op < PD_OP_COUNT; op++)
            if (r.ops[op]) pd_test_ops_seen_mark((pd_op)op);
}

/* ---- builders ----------------------------------------------------------------------------------- */
static pd_tensor *build_conv_s1(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_conv_k2(g, in[0], in[1], in[2], 1); }
static pd_tensor *build_conv_s2(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_conv_k2(g, in[0], in[1], in[2], 2); }
static pd_tensor *build_conv_nobias(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_conv_k2(g, in[0], in[1], NULL, 1); }
static pd_tensor *build_convT(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_conv_transpose_k2(g, in[0], in[1], in[2]); }
static pd_tensor *build_pointwise(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_conv_pointwise(g, in[0], in[1], in[2]); }
static pd_tensor *build_groupnorm(pd_graph *g, pd_tensor *const *in, void *u) { return pd_groupnorm(g, in[0], *(int64_t *)u, in[1], in[2], 1e-5); }
static pd_tensor *build_groupnorm_plain(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_groupnorm(g, in[0], 2, NULL, NULL, 1e-5); }
static pd_tensor *build_batchnorm(pd_graph *g, pd_tensor *const *in, void *u) { return pd_batchnorm(g, in[0], in[1], in[2], u, 0.1, 1e-5); }
static pd_tensor *build_up2(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_upsample_bilinear_scale(g, in[0], 2.0); }
static pd_tensor *build_up_size(pd_graph *g, pd_tensor *const *in, void *u) { (void)u; return pd_upsample_bilinear_size(g, in[0], 7, 5); }

static pd_tensor *build_commitment(pd_graph *g, pd_tensor *const *in, void *u)
{
    pd_tensor *loss = NULL;
    pd_vq_quantize(g, in[0], u, 0.25, 0, &loss, NULL);
    return loss;
}

/* The side-chain VAE residual block: SiLU(x + GN(conv(SiLU(GN(conv(x)))))). Inputs: x, w1, b1,
 * g1, be1, w2, b2, g2, be2. */
static pd_tensor *build_res_block(pd_graph *g, pd_tensor *const *in, void *u)
{
    (void)u;
    pd_tensor *h = pd_silu(g, pd_groupnorm(g, pd_conv_k2(g, in[0], in[1], in[2], 1), 2, in[3], in[4], 1e-5));
    h = pd_groupnorm(g, pd_conv_k2(g, h, in[5], in[6], 1), 2, in[7], in[8], 1e-5);
    return pd_silu(g, pd_add(g, in[0], h));
}

/* A deliberately wrong op: identity whose backward scales the gradient by 1.001. */
static void wrong_backward(pd_graph *g, pd_node *n)
{
    pd_real *gx = pd_grad(g, n->in[0]);
    if (gx)
        for (int64_t i = 0; i < n->out->numel; i++) gx[i] += (pd_real)1.001 * n->out->grad[i];
}

static pd_tensor *build_wrong(pd_graph *g, pd_tensor *const *in, void *u)
{
    (void)u;
    pd_tensor *y = pd_conv_k2(g, in[0], in[1], in[2], 1);
    if (!y) return NULL;
    pd_tensor *z = pd_tensor_new_like(g, y);
    if (!z) return NULL;
    memcpy(z->data, y->data, (size_t)y->numel * sizeof(pd_real));
    pd_record(g, "wrong identity", wrong_backward, z, 1, (pd_tensor *[]){y});
    return z;
}

int main(void)
{
    pd_test_ops_seen_begin("test_conv_ops");
    /* Convolutions, 3-D and 2-D, odd sizes so 'same' padding and floor(size/2) show. */
    const int64_t x3[5] = {2, 2, 3, 4, 3}, w3[5] = {3, 2, 2, 2, 2}, b3[1] = {3};
    pd_gradcheck_input c3[3] = {in_shape(5, x3), in_shape(5, w3), in_shape(1, b3)};
    expect_pass("conv3d k2 same", build_conv_s1, NULL, 3, c3, 1);
    expect_pass("conv3d k2 s2", build_conv_s2, NULL, 3, c3, 1);
    expect_pass("conv3d k2 same, no bias", build_conv_nobias, NULL, 2, c3, 1);
    const int64_t x2[4] = {2, 3, 5, 4}, w2[4] = {2, 3, 2, 2}, b2[1] = {2};
    pd_gradcheck_input c2[3] = {in_shape(4, x2), in_shape(4, w2), in_shape(1, b2)};
    expect_pass("conv2d k2 same", build_conv_s1, NULL, 3, c2, 1);
    expect_pass("conv2d k2 s2", build_conv_s2, NULL, 3, c2, 1);
    const int64_t tx3[5] = {2, 3, 2, 1, 2}, tw3[5] = {3, 2, 2, 2, 2}, tb[1] = {2};
    pd_gradcheck_input t3[3] = {in_shape(5, tx3), in_shape(5, tw3), in_shape(1, tb)};
    expect_pass("conv_transpose3d k2", build_convT, NULL, 3, t3, 1);
    const int64_t tx2[4] = {2, 3, 2, 3}, tw2[4] = {3, 2, 2, 2};
    pd_gradcheck_input t2[3] = {in_shape(4, tx2), in_shape(4, tw2), in_shape(1, tb)};
    expect_pass("conv_transpose2d k2", build_convT, NULL, 3, t2, 1);
    const int64_t px[4] = {2, 4, 3, 3}, pw[4] = {3, 4, 1, 1}, pb[1] = {3}, pw2[2] = {3, 4};
    pd_gradcheck_input p4[3] = {in_shape(4, px), in_shape(4, pw), in_shape(1, pb)};
    expect_pass("conv2d 1x1", build_pointwise, NULL, 3, p4, 1);
    pd_gradcheck_input p2[3] = {in_shape(4, px), in_shape(2, pw2), in_shape(1, pb)};
    expect_pass("conv2d 1x1, [Cout, Cin] weight", build_pointwise, NULL, 3, p2, 1);
    const int64_t px3[5] = {2, 4, 1, 2, 3}, pw3[5] = {3, 4, 1, 1, 1};
    pd_gradcheck_input p3[3] = {in_shape(5, px3), in_shape(5, pw3), in_shape(1, pb)};
    expect_pass("conv3d 1x1", build_pointwise, NULL, 3, p3, 1);

    /* Normalisations. */
    const int64_t nx[5] = {2, 4, 2, 3, 2}, nc[1] = {4};
    pd_gradcheck_input gn[3] = {in_shape(5, nx), in_shape(1, nc), in_shape(1, nc)};
    int64_t groups = 2;
    expect_pass("groupnorm", build_groupnorm, &groups, 3, gn, 1);
    expect_pass("groupnorm, no affine", build_groupnorm_plain, NULL, 1, gn, 1);
    const int64_t bx[4] = {3, 4, 2, 3};
    pd_gradcheck_input bn[3] = {in_shape(4, bx), in_shape(1, nc), in_shape(1, nc)};
    pd_real rm[4], rv[4];
    pd_batchnorm_stats stats = {.channels = 4, .running_mean = rm, .running_var = rv};
    pd_batchnorm_stats_reset(&stats);
    expect_pass("batchnorm train", build_batchnorm, &stats, 3, bn, 1);
    for (int c = 0; c < 4; c++) rm[c] = (pd_real)(0.1 * c), rv[c] = (pd_real)(0.5 + c);
    expect_pass("batchnorm eval", build_batchnorm, &stats, 3, bn, 0);

    /* Upsampling. */
    const int64_t ux[4] = {2, 2, 3, 4};
    pd_gradcheck_input up[1] = {in_shape(4, ux)};
    expect_pass("upsample bilinear x2", build_up2, NULL, 1, up, 1);
    expect_pass("upsample bilinear to 7x5", build_up_size, NULL, 1, up, 1);

    /* VQ: the commitment loss is a true derivative (codes are locally constant). */
    pd_real embed[6 * 3], count[6], sum[6 * 3];
    for (int i = 0; i < 18; i++) embed[i] = (pd_real)((i * 7 % 11) / 5.0 - 1);
    pd_vq_codebook book = {.codes = 6, .dim = 3, .embed = embed, .ema_count = count, .ema_sum = sum};
    pd_vq_codebook_reset_ema(&book);
    const int64_t vx[4] = {2, 3, 2, 2};
    pd_gradcheck_input vq_in[1] = {in_shape(4, vx)};
    expect_pass("vq commitment", build_commitment, &book, 1, vq_in, 1);

    /* The residual block of the side-chain VAE. */
    const int64_t rx[5] = {2, 4, 2, 3, 2}, rw[5] = {4, 4, 2, 2, 2}, r4[1] = {4};
    pd_gradcheck_input rb[9] = {in_shape(5, rx), in_shape(5, rw), in_shape(1, r4), in_shape(1, r4), in_shape(1, r4),
                                in_shape(5, rw), in_shape(1, r4), in_shape(1, r4), in_shape(1, r4)};
    expect_pass("sc-vae residual block", build_res_block, NULL, 9, rb, 1);

    /* A wrong backward must fail the checker. */
    pd_gradcheck_result r;
    pd_gradcheck_opts o = {.seed = 5};
    CHECK_MSG(pd_gradcheck("wrong identity", build_wrong, NULL, 3, c3, &o, &r) != PD_OK,
              "a backward off by 0.1%% was not caught");

    /* Straight-through: the gradient of the quantised output reaches x unchanged, and the
     * forward value is the nearest code. */
    pd_graph *g;
    CHECK(pd_graph_create(&g, 0) == PD_OK);
    pd_real xv[12];
    for (int i = 0; i < 12; i++) xv[i] = (pd_real)(0.3 * i - 1.7);
    const int64_t sx[3] = {2, 3, 2}; /* N = 2 vectors of D = 3 at P = 2 positions */
    pd_tensor *x = pd_tensor_wrap(g, 3, sx, xv);
    x->requires_grad = 1;
    int32_t *idx = NULL;
    pd_tensor *q = pd_vq_quantize(g, x, &book, 0.25, 0, NULL, &idx);
    CHECK(q && idx);
    pd_real seed[12];
    for (int i = 0; i < 12; i++) seed[i] = (pd_real)(i + 1);
    CHECK(pd_backward_seeded(g, q, seed) == PD_OK);
    int same = 1;
    for (int i = 0; i < 12; i++) same &= x->grad[i] == seed[i];
    CHECK_MSG(same, "straight-through gradient altered");
    for (int n = 0; n < 2; n++)
        for (int d = 0; d < 3; d++)
            for (int p = 0; p < 2; p++)
                CHECK_MSG(q->data[(n * 3 + d) * 2 + p] == embed[idx[n * 2 + p] * 3 + d], "n %d d %d p %d idx %d: %g vs %g", n, d, p,
                          idx[n * 2 + p], q->data[(n * 3 + d) * 2 + p], embed[idx[n * 2 + p] * 3 + d]);

    /* Shape errors are sticky graph errors with a message. */
    pd_graph_reset(g);
    const int64_t bad_w[5] = {3, 5, 2, 2, 2};
    pd_real xs[2 * 2 * 3 * 4 * 3] = {0}, ws[3 * 5 * 8] = {0};
    pd_tensor *xt = pd_tensor_wrap(g, 5, x3, xs), *wt = pd_tensor_wrap(g, 5, bad_w, ws);
    CHECK(pd_conv_k2(g, xt, wt, NULL, 1) == NULL);
    CHECK(pd_graph_status(g) != PD_OK);
    CHECK(strstr(pd_last_error(), "weight") != NULL);
    pd_graph_reset(g);
    xt = pd_tensor_wrap(g, 5, x3, xs);
    CHECK(pd_groupnorm(g, xt, 3, NULL, NULL, 1e-5) == NULL); /* 2 channels, 3 groups */
    pd_graph_reset(g);
    pd_graph_set_training(g, 0);
    xt = pd_tensor_wrap(g, 5, x3, xs);
    CHECK(pd_batchnorm(g, xt, NULL, NULL, NULL, 0.1, 1e-5) == NULL); /* eval without stats */
    pd_graph_destroy(g);
    return pd_test_ops_seen_end("test_conv_ops", pd_test_finish("test_conv_ops"));
}
