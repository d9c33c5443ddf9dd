/* conv_patch.c — im2col / col2im for the k=2 and 1×1 convolutions and the batch ↔
 * channel-major copies around their GEMMs; see conv_patch.h. Loops run over whole image lines
 * so the inner copies are contiguous (stride 1) or a fixed step (stride 2). They are serial on
 * purpose: between two OpenBLAS calls, OpenMP threads fight OpenBLAS's still-spinning pthreads
 * (measured 3× slower at 2 threads on 2 cores, tools/bench/bench-conv). */
#include "nn/conv_patch.h"

#include <string.h>

#include "nn/pointwise_simd.h"

/* Number of patch positions along a dim whose cell `k` lies inside an image of `size`. */
static int64_t inside_count(int64_t grid, int64_t size, int64_t k, int64_t stride)
{
    if (k >= size) return 0;
    int64_t n = (size - k + stride - 1) / stride;
    return n < grid ? n : grid;
}

/* Image lines are short (16 floats at V = 16): a libc memcpy/memset call per line cost more than
 * the copy (6 % of a side-chain VAE step), so lines are copied by inline loops. */
PD_CLONES void pd_patch_im2col(const pd_patch_layout *l, const pd_real *images, int64_t first, int64_t count, pd_real *col)
{
    const int64_t K = pd_patch_kernel_cells(l), G = pd_patch_grid_cells(l), I = pd_patch_image_cells(l);
    const int64_t cols = count * G, rows = l->channels * K;
    const int64_t H = l->image[1], W = l->image[2];
    const int64_t gd = l->grid[0], gh = l->grid[1], gw = l->grid[2];
    const int64_t sd = l->stride[0], sh = l->stride[1], sw = l->stride[2];
    for (int64_t r = 0; r < rows; r++) {
        const int64_t c = r / K, k = r % K;
        const int64_t kz = k / (l->kernel[1] * l->kernel[2]), ky = (k / l->kernel[2]) % l->kernel[1],
                      kx = k % l->kernel[2];
        const int64_t nz = inside_count(gd, l->image[0], kz, sd), ny = inside_count(gh, H, ky, sh),
                      nx = inside_count(gw, W, kx, sw);
        pd_real *dst_row = col + r * cols;
        for (int64_t b = 0; b < count; b++) {
            const pd_real *src = images + ((first + b) * l->channels + c) * I;
            pd_real *dst = dst_row + b * G;
            for (int64_t oz = 0; oz < gd; oz++) {
                for (int64_t oy = 0; oy < gh; oy++) {
                    pd_real *line = dst + (oz * gh + oy) * gw;
                    if (oz >= nz || oy >= ny) {
#pragma omp simd
                        for (int64_t ox = 0; ox < gw; ox++) line[ox] = 0;
                        continue;
                    }
                    const pd_real *in = src + ((oz * sd + kz) * H + oy * sh + ky) * W + kx;
                    if (sw == 1) {
#pragma omp simd
                        for (int64_t ox = 0; ox < nx; ox++) line[ox] = in[ox];
                    } else {
                        for (int64_t ox = 0; ox < nx; ox++) line[ox] = in[ox * sw];
                    }
                    for (int64_t ox = nx; ox < gw; ox++) line[ox] = 0;
                }
            }
        }
    }
}

PD_CLONES void pd_patch_col2im(const pd_patch_layout *l, const pd_real *col, int64_t first, int64_t count, pd_real *images,
                     int accumulate)
{
    const int64_t K = pd_patch_kernel_cells(l), G = pd_patch_grid_cells(l), I = pd_patch_image_cells(l);
    const int64_t cols = count * G;
    const int64_t H = l->image[1], W = l->image[2];
    const int64_t gd = l->grid[0], gh = l->grid[1], gw = l->grid[2];
    const int64_t sd = l->stride[0], sh = l->stride[1], sw = l->stride[2];
    for (int64_t c = 0; c < l->channels; c++) {
        for (int64_t k = 0; k < K; k++) {
            const int64_t kz = k / (l->kernel[1] * l->kernel[2]), ky = (k / l->kernel[2]) % l->kernel[1],
                          kx = k % l->kernel[2];
            const int64_t nz = inside_count(gd, l->image[0], kz, sd), ny = inside_count(gh, H, ky, sh),
                          nx = inside_count(gw, W, kx, sw);
            const pd_real *src_row = col + (c * K + k) * cols;
            for (int64_t b = 0; b < count; b++) {
                pd_real *img = images + ((first + b) * l->channels + c) * I;
                const pd_real *src = src_row + b * G;
                for (int64_t oz = 0; oz < nz; oz++) {
                    for (int64_t oy = 0; oy < ny; oy++) {
                        const pd_real *line = src + (oz * gh + oy) * gw;
                        pd_real *out = img + ((oz * sd + kz) * H + oy * sh + ky) * W + kx;
                        if (accumulate && sw == 1) {
#pragma omp simd
                            for (int64_t ox = 0; ox < nx; ox++) out[ox] += line[ox];
                        } else if (accumulate) {
                            for (int64_t ox = 0; ox < nx; ox++) out[ox * sw] += line[ox];
                        } else if (sw == 1) {
#pragma omp simd
                            for (int64_t ox = 0; ox < nx; ox++) out[ox] = line[ox];
                        } else {
                            for (int64_t ox = 0; ox < nx; ox++) out[ox * sw] = line[ox];
                        }
                    }
                }
            }
        }
    }
}

void pd_batch_to_channel_major(const pd_real *src, int64_t channels, int64_t positions, int64_t first, int64_t count,
                               pd_real *dst)
{
    for (int64_t c = 0; c < channels; c++)
        for (int64_t b = 0; b < count; b++)
            memcpy(dst + (c * count + b) * positions, src + ((first + b) * channels + c) * positions,
                   (size_t)positions * sizeof(pd_real));
}

void pd_channel_major_to_batch(const pd_real *src, int64_t channels, int64_t positions, int64_t first, int64_t count,
                               pd_real *dst, int accumulate)
{
    for (int64_t c = 0; c < channels; c++) {
        for (int64_t b = 0; b < count; b++) {
            const pd_real *s = src + (c * count + b) * positions;
            pd_real *d = dst + ((first + b) * channels + c) * positions;
            if (accumulate) {
                for (int64_t p = 0; p < positions; p++) d[p] += s[p];
            } else {
                memcpy(d, s, (size_t)positions * sizeof(pd_real));
            }
        }
    }
}

/* ~4 MiB of f32 chunk buffers: inside L3, and ≥ 1024 GEMM columns for small images. */
#define PD_PATCH_DEFAULT_BUDGET ((int64_t)1 << 20)
static int64_t chunk_budget = PD_PATCH_DEFAULT_BUDGET;

void pd_patch_set_chunk_budget(int64_t floats) { chunk_budget = floats > 0 ? floats : PD_PATCH_DEFAULT_BUDGET; }

int64_t pd_patch_chunk_samples(int64_t batch, int64_t positions, int64_t floats_per_column)
{
    int64_t n = chunk_budget / (positions * (floats_per_column > 0 ? floats_per_column : 1));
    if (n < 1) n = 1;
    if (n > batch) n = batch;
    return n;
}
