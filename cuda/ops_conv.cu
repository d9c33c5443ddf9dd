/* ops_conv.cu — the k=2, k=2 transposed and 1×1 convolutions as im2col + cuBLAS GEMM with
 * the CPU's data layout (conv_patch.h: col rows (c, kernel cell), columns (sample, position)),
 * and bilinear upsampling. im2col / col2im and the upsampling backward are gathers through the
 * shared index maps of src/nn/pointwise_index.h: each output cell sums its sources in the
 * CPU's order, so no atomics are needed and the results do not depend on scheduling. */
#include <stdlib.h>

#include "operand.cuh"

namespace {

using pdk::global_index;
using pdk::global_stride;

/* col[rows, count·G] from samples [first, first + count). */
__global__ void im2col_kernel(pd_patch_layout l, const float *images, int64_t first, int64_t rows, int64_t cols,
                              float *col)
{
    for (int64_t t = global_index(); t < rows * cols; t += global_stride()) {
        const int64_t off = pd_patch_image_offset(&l, t / cols, t % cols, first);
        col[t] = off < 0 ? 0.0f : images[off];
    }
}

/* images[first + b, c, cell] (+)= the col cells that map there, plus bias[c] when given. */
__global__ void col2im_kernel(pd_patch_layout l, const float *col, int64_t first, int64_t count, float *images,
                              int accumulate, const float *bias)
{
    const int64_t I = l.image[0] * l.image[1] * l.image[2], n = count * l.channels * I;
    for (int64_t t = global_index(); t < n; t += global_stride()) {
        const int64_t b = t / (l.channels * I), c = (t / I) % l.channels, cell = t % I;
        const int64_t iz = cell / (l.image[1] * l.image[2]), iy = (cell / l.image[2]) % l.image[1], ix = cell % l.image[2];
        const int64_t off = (first * l.channels) * I + t;
        float v = pd_patch_col2im_cell(&l, col, count, b, c, iz, iy, ix, accumulate ? images[off] : 0.0f, accumulate);
        if (bias) v += bias[c];
        images[off] = v;
    }
}

/* dst[c, b·P + p] = src[first + b, c, p]. */
__global__ void to_channel_major_kernel(const float *src, int64_t C, int64_t P, int64_t first, int64_t count, float *dst)
{
    for (int64_t t = global_index(); t < C * count * P; t += global_stride()) {
        const int64_t c = t / (count * P), b = (t / P) % count, p = t % P;
        dst[t] = src[((first + b) * C + c) * P + p];
    }
}

/* dst[first + b, c, p] (+)= src[c, b·P + p] (+ bias[c]). */
__global__ void from_channel_major_kernel(const float *src, int64_t C, int64_t P, int64_t first, int64_t count, float *dst,
                                          int accumulate, const float *bias)
{
    for (int64_t t = global_index(); t < count * C * P; t += global_stride()) {
        const int64_t b = t / (C * P), c = (t / P) % C, p = t % P;
        const int64_t off = (first * C) * P + t;
        float v = src[(c * count + b) * P + p];
        if (accumulate) v = dst[off] + v;
        if (bias) v += bias[c];
        dst[off] = v;
    }
}

/* dbias[c] += Σ_{b,p} dy[b, c, p] in double, in the CPU's order (pd_channel_sum_add). */
__global__ void channel_sum_kernel(const float *dy, int64_t batch, int64_t C, int64_t P, float *dbias)
{
    for (int64_t c = global_index(); c < C; c += global_stride()) {
        double sum = 0;
        for (int64_t b = 0; b < batch; b++)
            for (int64_t p = 0; p < P; p++) sum += dy[(b * C + c) * P + p];
        dbias[c] += (float)sum;
    }
}

__global__ void upsample_forward_kernel(const float *x, float *y, int64_t planes, int64_t H, int64_t W, int64_t Ho,
                                        int64_t Wo, double ratio_h, double ratio_w)
{
    for (int64_t t = global_index(); t < planes * Ho * Wo; t += global_stride()) {
        const int64_t p = t / (Ho * Wo), oh = (t / Wo) % Ho, ow = t % Wo;
        const pd_bilinear_tap th = pd_bilinear_tap_at(H, oh, ratio_h), tw = pd_bilinear_tap_at(W, ow, ratio_w);
        const float *r0 = x + p * H * W + th.i0 * W, *r1 = x + p * H * W + th.i1 * W;
        y[t] = th.w0 * (tw.w0 * r0[tw.i0] + tw.w1 * r0[tw.i1]) + th.w1 * (tw.w0 * r1[tw.i0] + tw.w1 * r1[tw.i1]);
    }
}

__global__ void upsample_backward_kernel(const float *dy, float *dx, int64_t planes, int64_t H, int64_t W, int64_t Ho,
                                         int64_t Wo, const pd_bilinear_tap *th, const pd_bilinear_tap *tw,
                                         const int64_t *h_range, const int64_t *w_range)
{
    for (int64_t t = global_index(); t < planes * H * W; t += global_stride()) {
        const int64_t p = t / (H * W), ih = (t / W) % H, iw = t % W;
        dx[t] = pd_bilinear_grad_cell(dx[t], dy + p * Ho * Wo, Wo, th, tw, ih, iw, h_range[ih], h_range[H + ih],
                                      w_range[iw], w_range[W + iw]);
    }
}

/* Samples per GEMM chunk: the col buffer and the channel-major buffer stay under 2^26 floats. */
int64_t gpu_chunk(const pd_conv_shape *s)
{
    const int64_t K = pd_conv_kernel_cells(s);
    const int64_t positions = s->patch.grid[0] * s->patch.grid[1] * s->patch.grid[2];
    const int64_t per_column = s->transposed ? s->out_channels * K + s->in_channels : s->in_channels * K + s->out_channels;
    int64_t n = ((int64_t)1 << 26) / (positions * per_column);
    if (n < 1) n = 1;
    if (n > s->batch) n = s->batch;
    return n;
}

float *scratch(pd_cuda_arena *work, int64_t n) { return static_cast<float *>(pd_cuda_arena_alloc(work, (size_t)(n + 1) * sizeof(float))); }

pd_status conv_forward(pd_cuda_arena *work, pd_cuda_precision p, const pd_conv_shape *s, const float *x, const float *w,
                       const float *bias, float *y)
{
    const int64_t K = pd_conv_kernel_cells(s), rows = s->in_channels * K, cout = s->out_channels;
    const int64_t P = s->out_size[0] * s->out_size[1] * s->out_size[2], chunk = gpu_chunk(s);
    float *col = scratch(work, rows * chunk * P), *out = scratch(work, cout * chunk * P);
    if (!col || !out) return PD_ERR_NOMEM;
    const void *wa;
    PD_TRY(pdk::gemm_operand(work, p, w, cout * rows, NULL, &wa));
    for (int64_t first = 0; first < s->batch; first += chunk) {
        const int64_t count = s->batch - first < chunk ? s->batch - first : chunk, cols = count * P;
        const size_t mark = work->used;
        im2col_kernel<<<pdk::blocks_for(rows * cols), pdk::kThreads, 0, pdk::stream()>>>(s->patch, x, first, rows, cols, col);
        PD_TRY(pdk::launched("conv im2col"));
        const void *ca;
        PD_TRY(pdk::gemm_operand(work, p, col, rows * cols, NULL, &ca));
        PD_TRY(pd_cuda_gemm(p, 0, 0, cout, cols, rows, 1.0f, wa, rows, ca, cols, 0.0f, out, cols));
        from_channel_major_kernel<<<pdk::blocks_for(cout * cols), pdk::kThreads, 0, pdk::stream()>>>(out, cout, P, first,
                                                                                                   count, y, 0, bias);
        PD_TRY(pdk::launched("conv output layout"));
        work->used = mark; /* the chunk's bf16 copy is dead once the stream passes it */
    }
    return PD_OK;
}

pd_status conv_backward(pd_cuda_arena *work, pd_cuda_precision p, const pd_conv_shape *s, const float *x,
                        const float *w, const float *dy, float *dx, float *dw)
{
    const int64_t K = pd_conv_kernel_cells(s), rows = s->in_channels * K, cout = s->out_channels;
    const int64_t P = s->out_size[0] * s->out_size[1] * s->out_size[2], chunk = gpu_chunk(s);
    float *col = scratch(work, rows * chunk * P), *dyc = scratch(work, cout * chunk * P);
    if (!col || !dyc) return PD_ERR_NOMEM;
    const void *wa;
    PD_TRY(pdk::gemm_operand(work, p, w, cout * rows, NULL, &wa));
    for (int64_t first = 0; first < s->batch; first += chunk) {
        const int64_t count = s->batch - first < chunk ? s->batch - first : chunk, cols = count * P;
        const size_t mark = work->used;
        to_channel_major_kernel<<<pdk::blocks_for(cout * cols), pdk::kThreads, 0, pdk::stream()>>>(dy, cout, P, first,
                                                                                                 count, dyc);
        PD_TRY(pdk::launched("conv gradient layout"));
        const void *dya;
        PD_TRY(pdk::gemm_operand(work, p, dyc, cout * cols, NULL, &dya));
        if (dw) {
            im2col_kernel<<<pdk::blocks_for(rows * cols), pdk::kThreads, 0, pdk::stream()>>>(s->patch, x, first, rows,
                                                                                            cols, col);
            PD_TRY(pdk::launched("conv im2col"));
            const void *ca;
            PD_TRY(pdk::gemm_operand(work, p, col, rows * cols, NULL, &ca));
            PD_TRY(pd_cuda_gemm(p, 0, 1, cout, rows, cols, 1.0f, dya, cols, ca, cols, 1.0f, dw, rows));
        }
        if (dx) {
            PD_TRY(pd_cuda_gemm(p, 1, 0, rows, cols, cout, 1.0f, wa, rows, dya, cols, 0.0f, col, cols));
            const int64_t n = count * s->in_channels * s->in_size[0] * s->in_size[1] * s->in_size[2];
            col2im_kernel<<<pdk::blocks_for(n), pdk::kThreads, 0, pdk::stream()>>>(s->patch, col, first, count, dx, 1, NULL);
            PD_TRY(pdk::launched("conv col2im"));
        }
        work->used = mark;
    }
    return PD_OK;
}

pd_status conv_transpose_forward(pd_cuda_arena *work, pd_cuda_precision p, const pd_conv_shape *s, const float *x,
                                 const float *w, const float *bias, float *y)
{
    const int64_t K = pd_conv_kernel_cells(s), rows = s->out_channels * K, cin = s->in_channels;
    const int64_t Pin = s->in_size[0] * s->in_size[1] * s->in_size[2], chunk = gpu_chunk(s);
    float *z = scratch(work, rows * chunk * Pin), *xc = scratch(work, cin * chunk * Pin);
    if (!z || !xc) return PD_ERR_NOMEM;
    const void *wa;
    PD_TRY(pdk::gemm_operand(work, p, w, cin * rows, NULL, &wa));
    for (int64_t first = 0; first < s->batch; first += chunk) {
        const int64_t count = s->batch - first < chunk ? s->batch - first : chunk, cols = count * Pin;
        const size_t mark = work->used;
        to_channel_major_kernel<<<pdk::blocks_for(cin * cols), pdk::kThreads, 0, pdk::stream()>>>(x, cin, Pin, first, count,
                                                                                                xc);
        PD_TRY(pdk::launched("conv transpose input layout"));
        const void *xa;
        PD_TRY(pdk::gemm_operand(work, p, xc, cin * cols, NULL, &xa));
        PD_TRY(pd_cuda_gemm(p, 1, 0, rows, cols, cin, 1.0f, wa, rows, xa, cols, 0.0f, z, cols));
        const int64_t n = count * s->out_channels * s->out_size[0] * s->out_size[1] * s->out_size[2];
        col2im_kernel<<<pdk::blocks_for(n), pdk::kThreads, 0, pdk::stream()>>>(s->patch, z, first, count, y, 0, bias);
        PD_TRY(pdk::launched("conv transpose col2im"));
        work->used = mark;
    }
    return PD_OK;
}

pd_status conv_transpose_backward(pd_cuda_arena *work, pd_cuda_precision p, const pd_conv_shape *s, const float *x,
                                  const float *w, const float *dy, float *dx, float *dw)
{
    const int64_t K = pd_conv_kernel_cells(s), rows = s->out_channels * K, cin = s->in_channels;
    const int64_t Pin = s->in_size[0] * s->in_size[1] * s->in_size[2], chunk = gpu_chunk(s);
    float *dz = scratch(work, rows * chunk * Pin), *buf = scratch(work, cin * chunk * Pin);
    if (!dz || !buf) return PD_ERR_NOMEM;
    const void *wa;
    PD_TRY(pdk::gemm_operand(work, p, w, cin * rows, NULL, &wa));
    for (int64_t first = 0; first < s->batch; first += chunk) {
        const int64_t count = s->batch - first < chunk ? s->batch - first : chunk, cols = count * Pin;
        const size_t mark = work->used;
        im2col_kernel<<<pdk::blocks_for(rows * cols), pdk::kThreads, 0, pdk::stream()>>>(s->patch, dy, first, rows, cols, dz);
        PD_TRY(pdk::launched("conv transpose im2col"));
        const void *dza;
        PD_TRY(pdk::gemm_operand(work, p, dz, rows * cols, NULL, &dza));
        if (dw) {
            to_channel_major_kernel<<<pdk::blocks_for(cin * cols), pdk::kThreads, 0, pdk::stream()>>>(x, cin, Pin, first,
                                                                                                    count, buf);
            PD_TRY(pdk::launched("conv transpose input layout"));
            const void *xa;
            PD_TRY(pdk::gemm_operand(work, p, buf, cin * cols, NULL, &xa));
            PD_TRY(pd_cuda_gemm(p, 0, 1, cin, rows, cols, 1.0f, xa, cols, dza, cols, 1.0f, dw, rows));
        }
        if (dx) {
            PD_TRY(pd_cuda_gemm(p, 0, 0, cin, cols, rows, 1.0f, wa, rows, dza, cols, 0.0f, buf, cols));
            from_channel_major_kernel<<<pdk::blocks_for(cin * cols), pdk::kThreads, 0, pdk::stream()>>>(buf, cin, Pin, first,
                                                                                                      count, dx, 1, NULL);
            PD_TRY(pdk::launched("conv transpose gradient layout"));
        }
        work->used = mark;
    }
    return PD_OK;
}

} // namespace

extern "C" pd_status pd_cuda_conv_forward(pd_cuda_arena *work, pd_cuda_precision p, const pd_conv_shape *s,
                                          const float *x, const float *w, const float *bias, float *y)
{
    return s->transposed ? conv_transpose_forward(work, p, s, x, w, bias, y) : conv_forward(work, p, s, x, w, bias, y);
}

extern "C" pd_status pd_cuda_conv_backward(pd_cuda_arena *work, pd_cuda_precision p, const pd_conv_shape *s,
                                           const float *x, const float *w, const float *gy, float *gx, float *gw,
                                           float *gbias)
{
    if (gbias) {
        const int64_t P = s->out_size[0] * s->out_size[1] * s->out_size[2];
        channel_sum_kernel<<<pdk::blocks_for(s->out_channels), pdk::kThreads, 0, pdk::stream()>>>(gy, s->batch,
                                                                                                s->out_channels, P, gbias);
        PD_TRY(pdk::launched("conv bias gradient"));
    }
    if (!gx && !gw) return PD_OK;
    return s->transposed ? conv_transpose_backward(work, p, s, x, w, gy, gx, gw) : conv_backward(work, p, s, x, w, gy, gx, gw);
}

extern "C" pd_status pd_cuda_upsample_bilinear_forward(const float *x, float *y, int64_t planes, int64_t H, int64_t W,
                                                       int64_t Ho, int64_t Wo, double ratio_h, double ratio_w)
{
    const int64_t n = planes * Ho * Wo;
    if (n <= 0) return PD_OK;
    upsample_forward_kernel<<<pdk::blocks_for(n), pdk::kThreads, 0, pdk::stream()>>>(x, y, planes, H, W, Ho, Wo, ratio_h,
                                                                                    ratio_w);
    return pdk::launched("bilinear upsample forward");
}

extern "C" pd_status pd_cuda_upsample_bilinear_backward(pd_cuda_arena *work, const float *gy, float *gx, int64_t planes,
                                                        int64_t H, int64_t W, int64_t Ho, int64_t Wo, double ratio_h,
                                                        double ratio_w)
{
    if (planes * H * W <= 0) return PD_OK;
    /* Host tables: taps per output index, and per input index the range of outputs touching it. */
    const size_t tap_bytes = (size_t)(Ho + Wo) * sizeof(pd_bilinear_tap), range_bytes = (size_t)(2 * (H + W)) * sizeof(int64_t);
    pd_bilinear_tap *taps = static_cast<pd_bilinear_tap *>(malloc(tap_bytes));
    int64_t *ranges = static_cast<int64_t *>(malloc(range_bytes));
    pd_bilinear_tap *d_taps = static_cast<pd_bilinear_tap *>(pd_cuda_arena_alloc(work, tap_bytes));
    int64_t *d_ranges = static_cast<int64_t *>(pd_cuda_arena_alloc(work, range_bytes));
    pd_status st = PD_OK;
    if (!taps || !ranges) st = pd_fail(PD_ERR_NOMEM, "bilinear backward tables (%lld + %lld entries)", (long long)(Ho + Wo), (long long)(H + W));
    else if (!d_taps || !d_ranges) st = PD_ERR_NOMEM;
    if (st == PD_OK) {
        for (int64_t o = 0; o < Ho; o++) taps[o] = pd_bilinear_tap_at(H, o, ratio_h);
        for (int64_t o = 0; o < Wo; o++) taps[Ho + o] = pd_bilinear_tap_at(W, o, ratio_w);
        /* ranges: [h_lo (H), h_hi (H), w_lo (W), w_hi (W)] */
        pd_bilinear_inverse_ranges(H, Ho, ratio_h, ranges, ranges + H);
        pd_bilinear_inverse_ranges(W, Wo, ratio_w, ranges + 2 * H, ranges + 2 * H + W);
        st = pd_cuda_upload(d_taps, taps, tap_bytes);
    }
    if (st == PD_OK) st = pd_cuda_upload(d_ranges, ranges, range_bytes);
    free(taps);
    free(ranges);
    PD_TRY(st);
    upsample_backward_kernel<<<pdk::blocks_for(planes * H * W), pdk::kThreads, 0, pdk::stream()>>>(
        gy, gx, planes, H, W, Ho, Wo, d_taps, d_taps + Ho, d_ranges, d_ranges + 2 * H);
    return pdk::launched("bilinear upsample backward");
}
