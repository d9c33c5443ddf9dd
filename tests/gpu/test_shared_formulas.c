/* test_shared_formulas.c — runs on the CPU (every build): the gather forms the CUDA kernels
 * use instead of atomics (broadcast gradients, CSR scatter-add, col2im, bilinear backward) and
 * the im2col map, computed here with the shared src/nn/pointwise_index.h functions, must equal
 * the CPU ops bit for bit; the bf16 copy of AdamW's weights is the nearest-even rounding. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/half.h"
#include "core/rng.h"
#include "nn/conv_kernels.h"
#include "nn/ops.h"
#include "nn/pointwise_index.h"
#include "nn/pointwise_optim.h"
#include "nn/upsample_kernels.h"
#include "test.h"

static void fill_random(pd_real *v, int64_t n, uint64_t stream)
{
    pd_rng rng;
    pd_rng_init(&rng, 1234, 0, stream, 0);
    for (int64_t i = 0; i < n; i++) v[i] = (pd_real)pd_rng_normal(&rng);
}

static int same_bits(const pd_real *a, const pd_real *b, int64_t n, int64_t *first_diff)
{
    for (int64_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(pd_real)) != 0 && !(a[i] == 0 && b[i] == 0)) {
            *first_diff = i;
            return 0;
        }
    return 1;
}

/* ---- broadcast gradients: pd_broadcast_grad_cell vs the tape's add/sub/mul backward ---- */
static void check_broadcast(pd_binary_kind kind, int nda, const int64_t *sha, int ndb, const int64_t *shb)
{
    pd_graph *g;
    CHECK(pd_graph_create(&g, 0) == PD_OK);
    pd_tensor *a = pd_tensor_new(g, nda, sha), *b = pd_tensor_new(g, ndb, shb);
    fill_random(a->data, a->numel, 1);
    fill_random(b->data, b->numel, 2);
    a->requires_grad = b->requires_grad = 1;
    pd_tensor *y = kind == PD_BINARY_ADD ? pd_add(g, a, b) : kind == PD_BINARY_SUB ? pd_sub(g, a, b) : pd_mul(g, a, b);
    CHECK_MSG(y != NULL, "%s", pd_last_error());
    if (!y) return;
    pd_real *seed = malloc((size_t)y->numel * sizeof *seed);
    fill_random(seed, y->numel, 3);
    CHECK(pd_backward_seeded(g, y, seed) == PD_OK);
    pd_broadcast_layout L;
    CHECK(pd_broadcast_layout_make(nda, sha, ndb, shb, &L));
    CHECK(L.numel == y->numel);
    for (int which = 0; which < 2; which++) {
        pd_tensor *t = which ? b : a;
        pd_real *mine = malloc((size_t)t->numel * sizeof *mine);
        for (int64_t j = 0; j < t->numel; j++)
            mine[j] = pd_broadcast_grad_cell(&L, which, kind, j, 0, seed, which ? a->data : b->data);
        int64_t at = -1;
        CHECK_MSG(same_bits(mine, t->grad, t->numel, &at), "broadcast kind %d operand %d: element %lld %.9g vs %.9g",
                  (int)kind, which, (long long)at, at >= 0 ? mine[at] : 0.0, at >= 0 ? t->grad[at] : 0.0);
        free(mine);
    }
    /* and the forward offsets */
    int64_t bad = 0;
    for (int64_t i = 0; i < y->numel; i++) {
        pd_real v = pd_binary_value(kind, a->data[pd_broadcast_offset(&L, 0, i)], b->data[pd_broadcast_offset(&L, 1, i)]);
        bad += memcmp(&v, &y->data[i], sizeof v) != 0;
    }
    CHECK_MSG(bad == 0, "broadcast forward: %lld elements differ", (long long)bad);
    free(seed);
    pd_graph_destroy(g);
}

/* ---- CSR segment sums vs scatter_add_rows forward and the embedding backward ---- */
static void check_scatter(void)
{
    const int64_t n_idx = 97, n_dst = 13, D = 21;
    int32_t idx[97];
    pd_rng rng;
    pd_rng_init(&rng, 5, 0, 0, 0);
    for (int64_t i = 0; i < n_idx; i++) idx[i] = (int32_t)pd_rng_below(&rng, (uint64_t)(n_dst + 2)) - 2; /* some < 0: dropped */
    pd_graph *g;
    CHECK(pd_graph_create(&g, 0) == PD_OK);
    pd_tensor *x = pd_tensor_new2(g, n_idx, D);
    fill_random(x->data, x->numel, 4);
    pd_tensor *y = pd_scatter_add_rows(g, x, idx, n_dst);
    CHECK_MSG(y != NULL, "%s", pd_last_error());
    if (!y) return;
    int64_t row_ptr[14];
    int32_t order[97];
    pd_csr_build(idx, n_idx, n_dst, row_ptr, order);
    pd_real mine[13 * 21];
    for (int64_t t = 0; t < n_dst; t++)
        for (int64_t c = 0; c < D; c++)
            mine[t * D + c] = pd_csr_segment_sum(0, x->data, D, c, order, row_ptr[t], row_ptr[t + 1]);
    int64_t at = -1;
    CHECK_MSG(same_bits(mine, y->data, n_dst * D, &at), "scatter-add via CSR differs at %lld", (long long)at);

    /* embedding backward = scatter-add of the output gradient into the table's gradient */
    pd_tensor *table = pd_tensor_new2(g, n_dst, D);
    fill_random(table->data, table->numel, 5);
    table->requires_grad = 1;
    pd_tensor *e = pd_embedding(g, table, idx, n_idx);
    CHECK_MSG(e != NULL, "%s", pd_last_error());
    if (!e) return;
    pd_real *seed = malloc((size_t)e->numel * sizeof *seed);
    fill_random(seed, e->numel, 6);
    CHECK(pd_backward_seeded(g, e, seed) == PD_OK);
    for (int64_t t = 0; t < n_dst; t++)
        for (int64_t c = 0; c < D; c++)
            mine[t * D + c] = pd_csr_segment_sum(0, seed, D, c, order, row_ptr[t], row_ptr[t + 1]);
    CHECK_MSG(same_bits(mine, table->grad, n_dst * D, &at), "embedding backward via CSR differs at %lld", (long long)at);
    free(seed);
    pd_graph_destroy(g);
}

/* ---- im2col map and col2im gather vs conv_patch.c ---- */
static void check_patch(const pd_patch_layout *l, int64_t batch, int64_t first, int64_t count, const char *what)
{
    const int64_t K = pd_patch_kernel_cells(l), G = pd_patch_grid_cells(l), I = pd_patch_image_cells(l);
    const int64_t rows = l->channels * K, cols = count * G, n_img = batch * l->channels * I;
    pd_real *img = malloc((size_t)n_img * sizeof *img), *col = malloc((size_t)(rows * cols) * sizeof *col);
    pd_real *mine = malloc((size_t)(rows * cols) * sizeof *mine);
    pd_real *img_cpu = malloc((size_t)n_img * sizeof *img), *img_mine = malloc((size_t)n_img * sizeof *img);
    fill_random(img, n_img, 7);
    pd_patch_im2col(l, img, first, count, col);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < cols; j++) {
            int64_t off = pd_patch_image_offset(l, r, j, first);
            mine[r * cols + j] = off < 0 ? 0 : img[off];
        }
    int64_t at = -1;
    CHECK_MSG(same_bits(mine, col, rows * cols, &at), "%s: im2col map differs at %lld", what, (long long)at);

    fill_random(col, rows * cols, 8);
    for (int accumulate = 0; accumulate < 2; accumulate++) {
        /* assign mode is only defined for non-overlapping, gap-free patches */
        int tiles = 1;
        for (int d = 0; d < 3; d++) tiles &= l->stride[d] == l->kernel[d] && l->image[d] == l->grid[d] * l->kernel[d];
        if (!accumulate && !tiles) continue;
        fill_random(img_cpu, n_img, 9);
        memcpy(img_mine, img_cpu, (size_t)n_img * sizeof *img);
        pd_patch_col2im(l, col, first, count, img_cpu, accumulate);
        for (int64_t b = 0; b < count; b++)
            for (int64_t c = 0; c < l->channels; c++)
                for (int64_t cell = 0; cell < I; cell++) {
                    const int64_t iz = cell / (l->image[1] * l->image[2]), iy = (cell / l->image[2]) % l->image[1],
                                  ix = cell % l->image[2];
                    const int64_t off = ((first + b) * l->channels + c) * I + cell;
                    img_mine[off] = pd_patch_col2im_cell(l, col, count, b, c, iz, iy, ix, img_mine[off], accumulate);
                }
        CHECK_MSG(same_bits(img_mine, img_cpu, n_img, &at), "%s: col2im gather (accumulate %d) differs at %lld", what,
                  accumulate, (long long)at);
    }
    free(img);
    free(col);
    free(mine);
    free(img_cpu);
    free(img_mine);
}

static void check_conv_layouts(void)
{
    pd_conv_shape s;
    const int64_t size2[2] = {5, 6}, size3[3] = {4, 3, 5};
    CHECK(pd_conv_shape_k2(&s, 2, 3, 2, 4, size2, 1) == PD_OK);
    check_patch(&s.patch, 3, 1, 2, "conv2d k2 s1");
    CHECK(pd_conv_shape_k2(&s, 2, 3, 2, 4, size2, 2) == PD_OK);
    check_patch(&s.patch, 3, 0, 3, "conv2d k2 s2");
    CHECK(pd_conv_shape_k2(&s, 3, 2, 3, 2, size3, 1) == PD_OK);
    check_patch(&s.patch, 2, 0, 2, "conv3d k2 s1");
    CHECK(pd_conv_shape_k2(&s, 3, 2, 3, 2, size3, 2) == PD_OK);
    check_patch(&s.patch, 2, 1, 1, "conv3d k2 s2");
    CHECK(pd_conv_transpose_shape_k2(&s, 2, 2, 3, 2, size2) == PD_OK);
    check_patch(&s.patch, 2, 0, 2, "conv_transpose2d k2");
    CHECK(pd_conv_transpose_shape_k2(&s, 3, 2, 2, 3, size3) == PD_OK);
    check_patch(&s.patch, 2, 0, 2, "conv_transpose3d k2");
}

/* ---- bilinear backward as a gather vs the CPU scatter ---- */
static void check_bilinear(int64_t H, int64_t W, int64_t Ho, int64_t Wo, double scale)
{
    const int64_t planes = 3;
    const double rh = pd_upsample_ratio(H, Ho, scale), rw = pd_upsample_ratio(W, Wo, scale);
    pd_real *dy = malloc((size_t)(planes * Ho * Wo) * sizeof *dy);
    pd_real *dx_cpu = malloc((size_t)(planes * H * W) * sizeof *dy), *dx_mine = malloc((size_t)(planes * H * W) * sizeof *dy);
    fill_random(dy, planes * Ho * Wo, 10);
    fill_random(dx_cpu, planes * H * W, 11);
    memcpy(dx_mine, dx_cpu, (size_t)(planes * H * W) * sizeof *dy);
    CHECK(pd_upsample_bilinear_backward(dy, planes, H, W, Ho, Wo, rh, rw, dx_cpu) == PD_OK);
    pd_bilinear_tap *th = malloc((size_t)Ho * sizeof *th), *tw = malloc((size_t)Wo * sizeof *tw);
    int64_t *hr = malloc((size_t)(2 * H) * sizeof *hr), *wr = malloc((size_t)(2 * W) * sizeof *wr);
    for (int64_t o = 0; o < Ho; o++) th[o] = pd_bilinear_tap_at(H, o, rh);
    for (int64_t o = 0; o < Wo; o++) tw[o] = pd_bilinear_tap_at(W, o, rw);
    pd_bilinear_inverse_ranges(H, Ho, rh, hr, hr + H);
    pd_bilinear_inverse_ranges(W, Wo, rw, wr, wr + W);
    for (int64_t p = 0; p < planes; p++)
        for (int64_t ih = 0; ih < H; ih++)
            for (int64_t iw = 0; iw < W; iw++) {
                pd_real *cell = dx_mine + (p * H + ih) * W + iw;
                *cell = pd_bilinear_grad_cell(*cell, dy + p * Ho * Wo, Wo, th, tw, ih, iw, hr[ih], hr[H + ih], wr[iw],
                                              wr[W + iw]);
            }
    int64_t at = -1;
    CHECK_MSG(same_bits(dx_mine, dx_cpu, planes * H * W, &at), "bilinear %lldx%lld -> %lldx%lld: gather differs at %lld",
              (long long)H, (long long)W, (long long)Ho, (long long)Wo, (long long)at);
    free(dy);
    free(dx_cpu);
    free(dx_mine);
    free(th);
    free(tw);
    free(hr);
    free(wr);
}

/* ---- AdamW: the bf16 copy is the nearest bf16 of the fp32 master after the update ---- */
static void check_adamw_bf16(void)
{
    pd_adamw_scalars k = pd_adamw_scalars_at(0.9, 0.999, 1e-8, 0.01, 1e-3, 1, 1.0);
    pd_real p = (pd_real)0.123456789, m = 0, v = 0;
    pd_adamw_update(&k, &p, &m, &v, (pd_real)0.5);
    /* first step: m̂/√v̂ = sign(g) → p − lr·1 (up to eps) */
    CHECK_NEAR(p, 0.123456789 - 1e-3, 1e-6);
    uint16_t h = pd_f32_to_bf16((float)p);
    CHECK(fabs(pd_bf16_to_f32(h) - p) <= fabs(p) * (1.0 / 256));
}

int main(void)
{
    const int64_t s23[] = {2, 3}, s3[] = {3}, s231[] = {2, 3, 1}, s14[] = {1, 4}, s2x34[] = {2, 1, 3, 4}, s34[] = {3, 4};
    for (int k = 0; k < 3; k++) {
        check_broadcast((pd_binary_kind)k, 2, s23, 1, s3);
        check_broadcast((pd_binary_kind)k, 3, s231, 2, s14);
        check_broadcast((pd_binary_kind)k, 4, s2x34, 2, s34);
        check_broadcast((pd_binary_kind)k, 2, s23, 2, s23);
    }
    check_scatter();
    check_conv_layouts();
    check_bilinear(5, 7, 10, 14, 2.0);
    check_bilinear(4, 4, 9, 7, 0);
    check_bilinear(8, 6, 4, 3, 0.5);
    check_adamw_bf16();
    return pd_test_finish("shared formulas (GPU gather forms vs CPU kernels)");
}
