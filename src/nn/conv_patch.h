/* conv_patch.h — the data movement that turns the k=2 and 1×1 convolutions into GEMMs:
 * unrolling image patches into columns (im2col), folding columns back (col2im), and moving a
 * chunk of samples between batch-first [B, C, P] and channel-major [C, B·P] layouts. */
#ifndef PD_NN_CONV_PATCH_H
#define PD_NN_CONV_PATCH_H

#include <stdint.h>

#include "nn/real.h"

/* How patches tile one image. 2-D images are 3-D ones with depth 1 and kernel depth 1.
 * Padding exists only after the image (PyTorch's 'same' for an even kernel pads 0 before and
 * k−1 after), so a patch cell is outside the image exactly when its index is ≥ the size. */
typedef struct pd_patch_layout {
    int64_t channels;   /* C of the image being unrolled */
    int64_t image[3];   /* D, H, W of the image */
    int64_t kernel[3];  /* patch extent per dim (1 or 2) */
    int64_t stride[3];  /* patch step per dim */
    int64_t grid[3];    /* patch positions per dim (the convolution's output size) */
} pd_patch_layout;

static inline int64_t pd_patch_kernel_cells(const pd_patch_layout *l) { return l->kernel[0] * l->kernel[1] * l->kernel[2]; }
static inline int64_t pd_patch_grid_cells(const pd_patch_layout *l) { return l->grid[0] * l->grid[1] * l->grid[2]; }
static inline int64_t pd_patch_image_cells(const pd_patch_layout *l) { return l->image[0] * l->image[1] * l->image[2]; }

/* col[(c, kz, ky, kx), (b, oz, oy, ox)] = image[first + b, c, oz·sz + kz, oy·sy + ky, ox·sx + kx]
 * (0 outside the image), for b in [0, count). `images` is the whole batch [N, C, D, H, W];
 * col has C·K rows of count·grid columns. */
void pd_patch_im2col(const pd_patch_layout *l, const pd_real *images, int64_t first, int64_t count, pd_real *col);

/* The adjoint of im2col: every column cell goes back to its image cell (cells outside the
 * image are dropped). accumulate = 1 adds; accumulate = 0 assigns, which is only meaningful
 * when patches neither overlap nor leave gaps (stride = kernel, image = grid·kernel). */
void pd_patch_col2im(const pd_patch_layout *l, const pd_real *col, int64_t first, int64_t count, pd_real *images,
                     int accumulate);

/* dst[c, b·P + p] = src[first + b, c, p] for b in [0, count). */
void pd_batch_to_channel_major(const pd_real *src, int64_t channels, int64_t positions, int64_t first, int64_t count,
                               pd_real *dst);
/* dst[first + b, c, p] (+)= src[c, b·P + p]. */
void pd_channel_major_to_batch(const pd_real *src, int64_t channels, int64_t positions, int64_t first, int64_t count,
                               pd_real *dst, int accumulate);

/* Samples per GEMM chunk: enough columns to keep the GEMM efficient, few enough that the
 * chunk's buffers (`floats_per_column` per column) stay cache-sized. At least 1. */
int64_t pd_patch_chunk_samples(int64_t batch, int64_t positions, int64_t floats_per_column);
/* The chunk buffer budget in floats (default 2^20, i.e. 4 MiB of f32). Tests shrink it to
 * exercise the one-sample and multi-chunk paths on small shapes; benchmarks tune it. 0 restores
 * the default. Process-wide: set it before running ops, not while they run. */
void pd_patch_set_chunk_budget(int64_t floats);

#endif
