/* pointwise_index.h — the index arithmetic the CPU kernels and the CUDA kernels share
 * (PD_HOST_DEVICE): RoPE angles and rotation, bilinear source taps, the im2col / col2im cell
 * maps of the k=2 convolutions, CSR segment sums and broadcast gradients that make reductions
 * deterministic without atomics, VQ distance and EMA formulas. CPU tests check each against the
 * CPU kernels (tests/gpu/test_shared_formulas.c). */
#ifndef PD_NN_POINTWISE_INDEX_H
#define PD_NN_POINTWISE_INDEX_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/conv_patch.h"
#include "nn/pointwise_ops.h"
#include "nn/real.h"

/* ---- RoPE (GPT-NeoX rotate_half): angle in double, rotation in pd_real ---------------------- */
static inline PD_HOST_DEVICE double pd_rope_theta(double pos, double base, int j, int rope_dim)
{
    return pos * pow(base, -2.0 * j / rope_dim);
}
/* (a, b) = (x[j], x[j + half]) → (a c − b s, b c + a s); the transpose passes −s. */
static inline PD_HOST_DEVICE void pd_rope_rotate(pd_real a, pd_real b, pd_real c, pd_real s, pd_real *ya, pd_real *yb)
{
    *ya = a * c - b * s;
    *yb = b * c + a * s;
}

/* ---- bilinear, align_corners=False (PyTorch's upsample_bilinear2d index arithmetic) -------- */
typedef struct pd_bilinear_tap {
    int64_t i0, i1;
    pd_real w0, w1;
} pd_bilinear_tap;

/* src = max(0, ratio·(o + ½) − ½) in pd_real; i0 = ⌊src⌋ (≤ in − 1), i1 = i0 + (i0 < in − 1). */
static inline PD_HOST_DEVICE pd_bilinear_tap pd_bilinear_tap_at(int64_t in, int64_t o, double ratio)
{
    const pd_real r = (pd_real)ratio;
    pd_real src = r * ((pd_real)o + (pd_real)0.5) - (pd_real)0.5;
    if (src < 0) src = 0;
    int64_t i0 = (int64_t)src;
    if (i0 > in - 1) i0 = in - 1;
    pd_bilinear_tap t;
    t.i0 = i0;
    t.i1 = i0 + (i0 < in - 1 ? 1 : 0);
    t.w1 = src - (pd_real)i0;
    t.w0 = (pd_real)1 - t.w1;
    return t;
}

/* For the gather form of the backward: o_lo[i] .. o_hi[i] (inclusive, o_lo > o_hi when none)
 * are the outputs whose taps touch input i. Taps are monotone in o, so the set is a range. */
static inline void pd_bilinear_inverse_ranges(int64_t in, int64_t out, double ratio, int64_t *o_lo, int64_t *o_hi)
{
    for (int64_t i = 0; i < in; i++) {
        o_lo[i] = out;
        o_hi[i] = -1;
    }
    for (int64_t o = 0; o < out; o++) {
        pd_bilinear_tap t = pd_bilinear_tap_at(in, o, ratio);
        int64_t a = t.i0, b = t.i1;
        if (o < o_lo[a]) o_lo[a] = o;
        if (o > o_hi[a]) o_hi[a] = o;
        if (o < o_lo[b]) o_lo[b] = o;
        if (o > o_hi[b]) o_hi[b] = o;
    }
}

/* dx[ih, iw] of one plane as the CPU backward accumulates it: start from `init`, add the
 * contributions of outputs (oh, ow) in row-major order, and within one output its four taps
 * in the order (h0,w0), (h0,w1), (h1,w0), (h1,w1). Identical rounding to the scatter form. */
static inline PD_HOST_DEVICE pd_real pd_bilinear_grad_cell(pd_real init, const pd_real *dy_plane, int64_t Wo,
                                                           const pd_bilinear_tap *th, const pd_bilinear_tap *tw,
                                                           int64_t ih, int64_t iw, int64_t oh_lo, int64_t oh_hi,
                                                           int64_t ow_lo, int64_t ow_hi)
{
    pd_real acc = init;
    for (int64_t oh = oh_lo; oh <= oh_hi; oh++) {
        const pd_bilinear_tap h = th[oh];
        for (int64_t ow = ow_lo; ow <= ow_hi; ow++) {
            const pd_bilinear_tap w = tw[ow];
            const pd_real g = dy_plane[oh * Wo + ow];
            if (h.i0 == ih && w.i0 == iw) acc += h.w0 * w.w0 * g;
            if (h.i0 == ih && w.i1 == iw) acc += h.w0 * w.w1 * g;
            if (h.i1 == ih && w.i0 == iw) acc += h.w1 * w.w0 * g;
            if (h.i1 == ih && w.i1 == iw) acc += h.w1 * w.w1 * g;
        }
    }
    return acc;
}

/* ---- im2col / col2im cell maps (conv_patch.h layouts, `count` samples from `first`) -------- */
/* Offset in the image batch of col[row, column], or −1 where the patch cell is padding. */
static inline PD_HOST_DEVICE int64_t pd_patch_image_offset(const pd_patch_layout *l, int64_t row, int64_t column,
                                                           int64_t first)
{
    const int64_t K = l->kernel[0] * l->kernel[1] * l->kernel[2];
    const int64_t G = l->grid[0] * l->grid[1] * l->grid[2];
    const int64_t c = row / K, k = row % K, b = column / G, pos = column % G;
    const int64_t kz = k / (l->kernel[1] * l->kernel[2]), ky = (k / l->kernel[2]) % l->kernel[1], kx = k % l->kernel[2];
    const int64_t oz = pos / (l->grid[1] * l->grid[2]), oy = (pos / l->grid[2]) % l->grid[1], ox = pos % l->grid[2];
    const int64_t iz = oz * l->stride[0] + kz, iy = oy * l->stride[1] + ky, ix = ox * l->stride[2] + kx;
    if (iz >= l->image[0] || iy >= l->image[1] || ix >= l->image[2]) return -1;
    const int64_t I = l->image[0] * l->image[1] * l->image[2];
    return ((first + b) * l->channels + c) * I + (iz * l->image[1] + iy) * l->image[2] + ix;
}

/* The column cell of col (rows C·K, columns count·G) that kernel cell k of patch position
 * takes from image cell (b, c, iz, iy, ix), or −1 if no patch position puts cell k there. */
static inline PD_HOST_DEVICE int64_t pd_patch_column_offset(const pd_patch_layout *l, int64_t count, int64_t b,
                                                            int64_t c, int64_t k, int64_t iz, int64_t iy, int64_t ix)
{
    const int64_t K = l->kernel[0] * l->kernel[1] * l->kernel[2];
    const int64_t G = l->grid[0] * l->grid[1] * l->grid[2];
    const int64_t kz = k / (l->kernel[1] * l->kernel[2]), ky = (k / l->kernel[2]) % l->kernel[1], kx = k % l->kernel[2];
    const int64_t dz = iz - kz, dy = iy - ky, dx = ix - kx;
    if (dz < 0 || dy < 0 || dx < 0 || dz % l->stride[0] || dy % l->stride[1] || dx % l->stride[2]) return -1;
    const int64_t oz = dz / l->stride[0], oy = dy / l->stride[1], ox = dx / l->stride[2];
    if (oz >= l->grid[0] || oy >= l->grid[1] || ox >= l->grid[2]) return -1;
    return (c * K + k) * (count * G) + b * G + (oz * l->grid[1] + oy) * l->grid[2] + ox;
}

/* col2im of one image cell (b relative to the chunk): `init` plus the column cells in kernel
 * order (the order pd_patch_col2im adds them). accumulate = 0 returns the single cell that
 * maps there (non-overlapping patches), or init when none does. */
static inline PD_HOST_DEVICE pd_real pd_patch_col2im_cell(const pd_patch_layout *l, const pd_real *col, int64_t count,
                                                          int64_t b, int64_t c, int64_t iz, int64_t iy, int64_t ix,
                                                          pd_real init, int accumulate)
{
    const int64_t K = l->kernel[0] * l->kernel[1] * l->kernel[2];
    pd_real acc = init;
    for (int64_t k = 0; k < K; k++) {
        const int64_t off = pd_patch_column_offset(l, count, b, c, k, iz, iy, ix);
        if (off < 0) continue;
        if (accumulate) acc += col[off];
        else acc = col[off];
    }
    return acc;
}

/* ---- CSR segment sums: deterministic scatter-add (dst[idx[i]] += src[i]) without atomics ---- */
/* order[row_ptr[t] .. row_ptr[t+1]) lists the sources of destination t in increasing i
 * (a stable counting sort), so every destination is summed in index order, as on the CPU.
 * idx < 0 or ≥ n_dst is dropped. row_ptr has n_dst + 1 entries, order n_idx. */
static inline void pd_csr_build(const int32_t *idx, int64_t n_idx, int64_t n_dst, int64_t *row_ptr, int32_t *order)
{
    memset(row_ptr, 0, (size_t)(n_dst + 1) * sizeof *row_ptr);
    for (int64_t i = 0; i < n_idx; i++)
        if (idx[i] >= 0 && idx[i] < n_dst) row_ptr[idx[i] + 1]++;
    for (int64_t t = 0; t < n_dst; t++) row_ptr[t + 1] += row_ptr[t];
    int64_t *fill = (int64_t *)malloc((size_t)(n_dst ? n_dst : 1) * sizeof *fill);
    if (!fill) return;
    memcpy(fill, row_ptr, (size_t)n_dst * sizeof *fill);
    for (int64_t i = 0; i < n_idx; i++)
        if (idx[i] >= 0 && idx[i] < n_dst) order[fill[idx[i]]++] = (int32_t)i;
    free(fill);
}

/* init + Σ src[order[p]·D + column] over p in [begin, end), in that order. */
static inline PD_HOST_DEVICE pd_real pd_csr_segment_sum(pd_real init, const pd_real *src, int64_t D, int64_t column,
                                                        const int32_t *order, int64_t begin, int64_t end)
{
    pd_real acc = init;
    for (int64_t p = begin; p < end; p++) acc += src[(int64_t)order[p] * D + column];
    return acc;
}

/* ---- vector quantisation ---------------------------------------------------------------------- */
/* ‖x‖² − 2 x·e + ‖e‖² (argmin over codes, ties to the lowest index: compare with <). */
static inline PD_HOST_DEVICE pd_real pd_vq_distance(pd_real x_sq, pd_real dot, pd_real code_sq)
{
    return x_sq - 2 * dot + code_sq;
}
/* EMA of a count or sum: γ·old + (1 − γ)·batch. */
static inline PD_HOST_DEVICE pd_real pd_vq_ema(pd_real old, double decay, double batch)
{
    return (pd_real)(decay * old + (1 - decay) * batch);
}
/* Laplace-smoothed count: (c + ε) / (n + K ε) · n. */
static inline PD_HOST_DEVICE double pd_vq_smoothed_count(pd_real count, double total, int64_t K, double eps)
{
    return (count + eps) / (total + (double)K * eps) * total;
}

/* ---- broadcasting (NumPy rules, as ops_elementwise.c) ------------------------------------------ */
#define PD_BROADCAST_MAX_DIMS 6

/* Per output dim: its size and each operand's stride (0 where the operand is broadcast). */
typedef struct pd_broadcast_layout {
    int ndim;
    int64_t shape[PD_BROADCAST_MAX_DIMS];
    int64_t stride[2][PD_BROADCAST_MAX_DIMS];  /* [0] = a, [1] = b */
    int64_t numel;
} pd_broadcast_layout;

/* Returns 0 when the shapes do not broadcast. */
static inline int pd_broadcast_layout_make(int nda, const int64_t *sha, int ndb, const int64_t *shb,
                                           pd_broadcast_layout *L)
{
    memset(L, 0, sizeof *L);
    int nd = nda > ndb ? nda : ndb;
    if (nd == 0) nd = 1;
    if (nd > PD_BROADCAST_MAX_DIMS) return 0;
    L->ndim = nd;
    int64_t stride_a = 1, stride_b = 1;
    for (int i = nd - 1; i >= 0; i--) {
        int ia = i - (nd - nda), ib = i - (nd - ndb);
        int64_t da = ia >= 0 ? sha[ia] : 1, db = ib >= 0 ? shb[ib] : 1;
        if (da != db && da != 1 && db != 1) return 0;
        L->shape[i] = da == 1 ? db : da;
        L->stride[0][i] = (da == 1 && L->shape[i] != 1) ? 0 : stride_a;
        L->stride[1][i] = (db == 1 && L->shape[i] != 1) ? 0 : stride_b;
        stride_a *= da;
        stride_b *= db;
    }
    L->numel = 1;
    for (int i = 0; i < nd; i++) L->numel *= L->shape[i];
    return 1;
}

/* Offset in operand `which` of output element `out`. */
static inline PD_HOST_DEVICE int64_t pd_broadcast_offset(const pd_broadcast_layout *L, int which, int64_t out)
{
    int64_t off = 0;
    for (int i = L->ndim - 1; i >= 0; i--) {
        off += (out % L->shape[i]) * L->stride[which][i];
        out /= L->shape[i];
    }
    return off;
}

/* Gradient of element j of operand `which` (0 = a, 1 = b) of y = a ∘ b: init plus the
 * contributions of every output element that reads j, in increasing output order (the order
 * the CPU backward adds them), so a broadcast operand is reduced without atomics. */
static inline PD_HOST_DEVICE pd_real pd_broadcast_grad_cell(const pd_broadcast_layout *L, int which,
                                                            pd_binary_kind kind, int64_t j, pd_real init,
                                                            const pd_real *gy, const pd_real *other)
{
    /* j's coordinate in every dim the operand owns; the broadcast dims (stride 0) are free. */
    int64_t coord[PD_BROADCAST_MAX_DIMS], count = 1, rem = j;
    for (int i = L->ndim - 1; i >= 0; i--) {
        if (L->stride[which][i] == 0) {
            coord[i] = 0;
            count *= L->shape[i];
        } else {
            coord[i] = rem % L->shape[i];
            rem /= L->shape[i];
        }
    }
    pd_real acc = init;
    for (int64_t t = 0; t < count; t++) {
        int64_t free_rem = t, out = 0, out_stride = 1, other_off = 0;
        for (int i = L->ndim - 1; i >= 0; i--) {
            int64_t c = coord[i];
            if (L->stride[which][i] == 0) {
                c = free_rem % L->shape[i];
                free_rem /= L->shape[i];
            }
            out += c * out_stride;
            out_stride *= L->shape[i];
            other_off += c * L->stride[1 - which][i];
        }
        acc += which == 0 ? pd_binary_grad_a(kind, gy[out], other[other_off])
                          : pd_binary_grad_b(kind, gy[out], other[other_off]);
    }
    return acc;
}

#endif
