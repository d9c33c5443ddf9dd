/* test_conv_kernels.c — the raw k=2 / transposed / 1×1 convolution kernels (double build):
 * forward against a direct-definition loop, every gradient against central differences of that
 * loop, the same results whatever the GEMM chunking, and a wrong gradient being caught. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_fd.h"
#include "nn/conv_kernels.h"
#include "test.h"

/* ---- the definition, written independently of im2col ---------------------------------------- */

static double at(const double *x, const pd_conv_shape *s, int64_t n, int64_t c, int64_t z, int64_t y, int64_t xx)
{
    if (z >= s->in_size[0] || y >= s->in_size[1] || xx >= s->in_size[2]) return 0; /* 'same' pads after */
    return x[(((n * s->in_channels + c) * s->in_size[0] + z) * s->in_size[1] + y) * s->in_size[2] + xx];
}

/* y[n, co, o] = b[co] + Σ_{ci, k} w[co, ci, k] · x[n, ci, o·stride + k] (conv) or the scatter
 * y[n, co, i·2 + k] = b[co] + Σ_ci x[n, ci, i] · w[ci, co, k] (transposed). */
static void naive_conv(const pd_conv_shape *s, const double *x, const double *w, const double *b, double *y)
{
    const int64_t kd = s->patch.kernel[0], kh = s->patch.kernel[1], kw = s->patch.kernel[2], K = kd * kh * kw;
    const int64_t *I = s->in_size, *O = s->out_size, cin = s->in_channels, cout = s->out_channels;
    const int64_t Pout = O[0] * O[1] * O[2];
    for (int64_t n = 0; n < s->batch; n++)
        for (int64_t co = 0; co < cout; co++)
            for (int64_t p = 0; p < Pout; p++) y[(n * cout + co) * Pout + p] = b ? b[co] : 0;
    for (int64_t n = 0; n < s->batch; n++)
        for (int64_t co = 0; co < cout; co++)
            for (int64_t ci = 0; ci < cin; ci++)
                for (int64_t kz = 0; kz < kd; kz++)
                    for (int64_t ky = 0; ky < kh; ky++)
                        for (int64_t kx = 0; kx < kw; kx++) {
                            const int64_t k = (kz * kh + ky) * kw + kx;
                            if (!s->transposed) {
                                const double wv = w[(co * cin + ci) * K + k];
                                const int64_t st[3] = {s->patch.stride[0], s->patch.stride[1], s->patch.stride[2]};
                                for (int64_t oz = 0; oz < O[0]; oz++)
                                    for (int64_t oy = 0; oy < O[1]; oy++)
                                        for (int64_t ox = 0; ox < O[2]; ox++)
                                            y[(((n * cout + co) * O[0] + oz) * O[1] + oy) * O[2] + ox] +=
                                                wv * at(x, s, n, ci, oz * st[0] + kz, oy * st[1] + ky, ox * st[2] + kx);
                            } else {
                                const double wv = w[(ci * cout + co) * K + k];
                                for (int64_t iz = 0; iz < I[0]; iz++)
                                    for (int64_t iy = 0; iy < I[1]; iy++)
                                        for (int64_t ix = 0; ix < I[2]; ix++)
                                            y[(((n * cout + co) * O[0] + iz * kd + kz) * O[1] + iy * kh + ky) * O[2] +
                                              ix * kw + kx] += wv * at(x, s, n, ci, iz, iy, ix);
                            }
                        }
}

typedef struct conv_case {
    pd_conv_shape s;
    double *x, *w, *b, *wy, *y;
} conv_case;

static double conv_loss(void *ctx)
{
    conv_case *c = ctx;
    naive_conv(&c->s, c->x, c->w, c->b, c->y);
    return fd_dot(c->y, c->wy, pd_conv_out_numel(&c->s));
}

static pd_status run_forward(const pd_conv_shape *s, const double *x, const double *w, const double *b, double *y)
{
    return s->transposed ? pd_conv_transpose_forward(s, x, w, b, y, NULL) : pd_conv_forward(s, x, w, b, y, NULL);
}

static pd_status run_backward(const pd_conv_shape *s, const double *x, const double *w, const double *dy, double *dx,
                              double *dw, double *db)
{
    return s->transposed ? pd_conv_transpose_backward(s, x, w, dy, dx, dw, db, NULL)
                         : pd_conv_backward(s, x, w, dy, dx, dw, db, NULL);
}

/* Analytic gradients with the given chunk budget, ADDED onto `base` values (checks accumulate). */
static void grads(conv_case *c, int64_t budget, const double *base_x, const double *base_w, const double *base_b,
                  double *dx, double *dw, double *db)
{
    const int64_t nx = pd_conv_in_numel(&c->s), nw = pd_conv_weight_numel(&c->s), nb = c->s.out_channels;
    memcpy(dx, base_x, nx * sizeof *dx);
    memcpy(dw, base_w, nw * sizeof *dw);
    memcpy(db, base_b, nb * sizeof *db);
    pd_patch_set_chunk_budget(budget);
    CHECK_MSG(run_backward(&c->s, c->x, c->w, c->wy, dx, dw, db) == PD_OK, "%s", pd_last_error());
    pd_patch_set_chunk_budget(0);
    for (int64_t i = 0; i < nx; i++) dx[i] -= base_x[i];
    for (int64_t i = 0; i < nw; i++) dw[i] -= base_w[i];
    for (int64_t i = 0; i < nb; i++) db[i] -= base_b[i];
}

static void check_case(const char *name, pd_conv_shape s, uint64_t seed)
{
    conv_case c = {.s = s};
    const int64_t nx = pd_conv_in_numel(&s), nw = pd_conv_weight_numel(&s), ny = pd_conv_out_numel(&s);
    const int64_t nb = s.out_channels;
    c.x = malloc(nx * sizeof(double));
    c.w = malloc(nw * sizeof(double));
    c.b = malloc(nb * sizeof(double));
    c.wy = malloc(ny * sizeof(double));
    c.y = malloc(ny * sizeof(double));
    double *y = malloc(ny * sizeof(double)), *ref = malloc(ny * sizeof(double));
    fd_fill(c.x, nx, -1, 1, seed, 1);
    fd_fill(c.w, nw, -1, 1, seed, 2);
    fd_fill(c.b, nb, -1, 1, seed, 3);
    fd_fill(c.wy, ny, -1, 1, seed, 4);

    /* Forward: every chunking (one sample, two samples, whole batch), with and without bias. */
    const int64_t per_sample = pd_conv_work_numel(&s) / pd_conv_chunk_samples(&s);
    const int64_t budgets[3] = {1, 2 * per_sample, 0};
    naive_conv(&s, c.x, c.w, c.b, ref);
    for (int bi = 0; bi < 3; bi++) {
        pd_patch_set_chunk_budget(budgets[bi]);
        CHECK_MSG(run_forward(&s, c.x, c.w, c.b, y) == PD_OK, "%s", pd_last_error());
        CHECK_MSG(fd_max_abs_diff(y, ref, ny) < 1e-12, "%s forward (budget %lld) differs by %g", name,
                  (long long)budgets[bi], fd_max_abs_diff(y, ref, ny));
    }
    naive_conv(&s, c.x, c.w, NULL, ref);
    CHECK_MSG(run_forward(&s, c.x, c.w, NULL, y) == PD_OK, "%s", pd_last_error());
    CHECK_MSG(fd_max_abs_diff(y, ref, ny) < 1e-12, "%s forward without bias", name);
    pd_patch_set_chunk_budget(0);

    /* Backward against finite differences, accumulating onto non-zero gradients. */
    double *bx = malloc(nx * sizeof(double)), *bw = malloc(nw * sizeof(double)), *bb = malloc(nb * sizeof(double));
    fd_fill(bx, nx, -1, 1, seed, 5);
    fd_fill(bw, nw, -1, 1, seed, 6);
    fd_fill(bb, nb, -1, 1, seed, 7);
    double *dx = malloc(nx * sizeof(double)), *dw = malloc(nw * sizeof(double)), *db = malloc(nb * sizeof(double));
    grads(&c, 0, bx, bw, bb, dx, dw, db);
    CHECK_MSG(fd_check("dx", c.x, nx, dx, conv_loss, &c, 1e-5, 1e-7, 1e-9) == 0, "%s: dx", name);
    CHECK_MSG(fd_check("dw", c.w, nw, dw, conv_loss, &c, 1e-5, 1e-7, 1e-9) == 0, "%s: dw", name);
    CHECK_MSG(fd_check("db", c.b, nb, db, conv_loss, &c, 1e-5, 1e-7, 1e-9) == 0, "%s: db", name);

    /* Other chunkings give the same gradients. */
    double *dx2 = malloc(nx * sizeof(double)), *dw2 = malloc(nw * sizeof(double)), *db2 = malloc(nb * sizeof(double));
    for (int bi = 0; bi < 2; bi++) {
        grads(&c, budgets[bi], bx, bw, bb, dx2, dw2, db2);
        CHECK_MSG(fd_max_abs_diff(dx, dx2, nx) < 1e-12 && fd_max_abs_diff(dw, dw2, nw) < 1e-12 &&
                      fd_max_abs_diff(db, db2, nb) < 1e-12,
                  "%s: gradients change with chunk budget %lld", name, (long long)budgets[bi]);
    }
    /* Only dx wanted (first layers need no input grad, frozen layers no weight grad). */
    memset(dx2, 0, nx * sizeof(double));
    CHECK(run_backward(&s, c.x, c.w, c.wy, dx2, NULL, NULL) == PD_OK);
    CHECK_MSG(fd_max_abs_diff(dx, dx2, nx) < 1e-12, "%s: dx alone", name);
    memset(dw2, 0, nw * sizeof(double));
    CHECK(run_backward(&s, c.x, c.w, c.wy, NULL, dw2, NULL) == PD_OK);
    CHECK_MSG(fd_max_abs_diff(dw, dw2, nw) < 1e-12, "%s: dw alone", name);

    free(c.x); free(c.w); free(c.b); free(c.wy); free(c.y); free(y); free(ref);
    free(bx); free(bw); free(bb); free(dx); free(dw); free(db); free(dx2); free(dw2); free(db2);
}

/* A plausible bug must fail the check: folding the stride-1 columns back by assignment loses
 * the overlapping contributions; and a single perturbed weight-gradient element. */
static void check_wrong_gradient_is_caught(void)
{
    pd_conv_shape s;
    const int64_t size[3] = {3, 3, 4};
    CHECK(pd_conv_shape_k2(&s, 3, 2, 2, 3, size, 1) == PD_OK);
    conv_case c = {.s = s};
    const int64_t nx = pd_conv_in_numel(&s), nw = pd_conv_weight_numel(&s), ny = pd_conv_out_numel(&s);
    const int64_t K = pd_conv_kernel_cells(&s), rows = s.in_channels * K, cols = s.batch * ny / (s.batch * s.out_channels);
    c.x = malloc(nx * sizeof(double));
    c.w = malloc(nw * sizeof(double));
    c.b = NULL;
    c.wy = malloc(ny * sizeof(double));
    c.y = malloc(ny * sizeof(double));
    fd_fill(c.x, nx, -1, 1, 9, 1);
    fd_fill(c.w, nw, -1, 1, 9, 2);
    fd_fill(c.wy, ny, -1, 1, 9, 4);
    double *dx = calloc(nx, sizeof(double)), *dcol = malloc(rows * cols * sizeof(double));
    for (int64_t n = 0; n < s.batch; n++) {
        pd_gemm(1, 0, rows, cols, s.out_channels, 1, c.w, rows, c.wy + n * s.out_channels * cols, cols, 0, dcol, cols);
        pd_patch_col2im(&s.patch, dcol, n, 1, dx, 0);
    }
    CHECK_MSG(fd_check("wrong dx (expected mismatches)", c.x, nx, dx, conv_loss, &c, 1e-5, 1e-7, 1e-9) > 0,
              "a col2im that drops overlaps was not caught");
    double *dw = calloc(nw, sizeof(double));
    CHECK(pd_conv_backward(&s, c.x, c.w, c.wy, NULL, dw, NULL, NULL) == PD_OK);
    CHECK(fd_check("dw", c.w, nw, dw, conv_loss, &c, 1e-5, 1e-7, 1e-9) == 0);
    dw[5] *= 1.0001;
    CHECK_MSG(fd_check("perturbed dw (expected mismatch)", c.w, nw, dw, conv_loss, &c, 1e-5, 1e-7, 1e-9) == 1,
              "a 1e-4 relative error in one weight gradient was not caught");
    free(c.x); free(c.w); free(c.wy); free(c.y); free(dx); free(dcol); free(dw);
}

int main(void)
{
    pd_conv_shape s;
    const int64_t s3[3] = {3, 4, 5}, s3b[3] = {4, 5, 6}, s2[2] = {5, 4}, s2b[2] = {6, 7};
    const int64_t t3[3] = {2, 3, 2}, t2[2] = {3, 4}, p3[3] = {2, 2, 3}, p2[2] = {3, 3};
    CHECK(pd_conv_shape_k2(&s, 3, 3, 2, 3, s3, 1) == PD_OK); check_case("conv3d k2 same", s, 11);
    CHECK(pd_conv_shape_k2(&s, 3, 3, 2, 3, s3b, 2) == PD_OK); check_case("conv3d k2 s2", s, 12);
    CHECK(pd_conv_shape_k2(&s, 2, 3, 3, 2, s2, 1) == PD_OK); check_case("conv2d k2 same", s, 13);
    CHECK(pd_conv_shape_k2(&s, 2, 3, 2, 4, s2b, 2) == PD_OK); check_case("conv2d k2 s2", s, 14);
    CHECK(pd_conv_transpose_shape_k2(&s, 3, 3, 3, 2, t3) == PD_OK); check_case("convT3d k2 s2", s, 15);
    CHECK(pd_conv_transpose_shape_k2(&s, 2, 3, 2, 3, t2) == PD_OK); check_case("convT2d k2 s2", s, 16);
    CHECK(pd_conv_shape_pointwise(&s, 3, 3, 4, 3, p3) == PD_OK); check_case("conv3d 1x1", s, 17);
    CHECK(pd_conv_shape_pointwise(&s, 2, 3, 3, 5, p2) == PD_OK); check_case("conv2d 1x1", s, 18);

    /* Shapes: 'same' keeps the size, s=2 floors, transposed doubles; bad requests are errors. */
    CHECK(pd_conv_shape_k2(&s, 3, 1, 1, 1, s3b, 2) == PD_OK);
    CHECK(s.out_size[0] == 2 && s.out_size[1] == 2 && s.out_size[2] == 3);
    CHECK(pd_conv_transpose_shape_k2(&s, 2, 1, 1, 1, t2) == PD_OK);
    CHECK(s.out_size[0] == 1 && s.out_size[1] == 6 && s.out_size[2] == 8);
    CHECK(pd_conv_shape_k2(&s, 3, 1, 1, 1, s3, 3) == PD_ERR_USAGE);
    CHECK(pd_conv_shape_k2(&s, 4, 1, 1, 1, s3, 1) == PD_ERR_USAGE);
    const int64_t one[2] = {1, 4};
    CHECK(pd_conv_shape_k2(&s, 2, 1, 1, 1, one, 2) == PD_ERR_USAGE);

    check_wrong_gradient_is_caught();
    return pd_test_finish("test_conv_kernels");
}
