/* conv_gemm.c — forward and backward of the k=2 and 1×1 convolutions as GEMMs over chunks of
 * samples: Y[Cout, cols] = W[Cout, Cin·K] · col[Cin·K, cols], dW += dY · colᵀ,
 * dcol = Wᵀ · dY folded back by col2im. See conv_kernels.h. */
#include "nn/conv_kernels.h"

#include <stdlib.h>

#include "core/error.h"
#include "nn/pointwise_simd.h"

/* A 1×1 conv's im2col of a single sample is the sample itself: no copy needed. */
static int is_pointwise(const pd_conv_shape *s) { return pd_conv_kernel_cells(s) == 1; }

static int64_t out_positions(const pd_conv_shape *s) { return s->out_size[0] * s->out_size[1] * s->out_size[2]; }
static int64_t in_positions(const pd_conv_shape *s) { return s->in_size[0] * s->in_size[1] * s->in_size[2]; }

/* 8 double lanes in a fixed order: vectorisable (one serial accumulator is not) and the same
 * sum whatever the thread count. */
PD_CLONES void pd_channel_sum_add(const pd_real *dy, int64_t batch, int64_t channels, int64_t positions,
                                  pd_real *dbias)
{
    for (int64_t c = 0; c < channels; c++) {
        double acc[8] = {0};
        for (int64_t b = 0; b < batch; b++) {
            const pd_real *row = dy + (b * channels + c) * positions;
            int64_t p = 0;
            for (; p + 8 <= positions; p += 8)
#pragma omp simd
                for (int j = 0; j < 8; j++) acc[j] += row[p + j];
            for (int j = 0; p < positions; p++, j++) acc[j] += row[p];
        }
        double sum = 0;
        for (int j = 0; j < 8; j++) sum += acc[j];
        dbias[c] += (pd_real)sum;
    }
}

/* The GEMM's output rows [channels, cols] start as the bias (or zero): the GEMM then adds
 * onto them (beta = 1), which saves both OpenBLAS's pass zeroing C and a pass adding the bias. */
PD_CLONES void pd_fill_channel_rows(pd_real *out, const pd_real *bias, int64_t channels, int64_t cols)
{
    for (int64_t c = 0; c < channels; c++) {
        const pd_real v = bias ? bias[c] : 0;
        pd_real *row = out + c * cols;
#pragma omp simd
        for (int64_t p = 0; p < cols; p++) row[p] = v;
    }
}

static pd_status get_work(const pd_conv_shape *s, pd_real **work, pd_real **owned)
{
    *owned = NULL;
    if (*work) return PD_OK;
    *owned = pd_malloc((size_t)pd_conv_work_numel(s) * sizeof(pd_real));
    if (!*owned) {
        pd_error_context("conv scratch");
        return PD_ERR_NOMEM;
    }
    *work = *owned;
    return PD_OK;
}

pd_status pd_conv_forward(const pd_conv_shape *s, const pd_real *x, const pd_real *w, const pd_real *bias,
                          pd_real *y, pd_real *work)
{
    if (s->transposed) return pd_fail(PD_ERR_USAGE, "pd_conv_forward given a transposed-conv shape");
    pd_real *owned;
    PD_TRY(get_work(s, &work, &owned));
    const int64_t K = pd_conv_kernel_cells(s), rows = s->in_channels * K, cout = s->out_channels;
    const int64_t P = out_positions(s), Pin = in_positions(s), chunk = pd_conv_chunk_samples(s);
    for (int64_t first = 0; first < s->batch; first += chunk) {
        const int64_t count = s->batch - first < chunk ? s->batch - first : chunk, cols = count * P;
        pd_real *col_buf = work, *out_buf = work + rows * cols;
        const pd_real *col = col_buf;
        if (is_pointwise(s) && count == 1) col = x + first * s->in_channels * Pin;
        else pd_patch_im2col(&s->patch, x, first, count, col_buf);
        pd_real *out = count == 1 ? y + first * cout * P : out_buf;
        pd_fill_channel_rows(out, bias, cout, cols);
        pd_gemm(0, 0, cout, cols, rows, 1, w, rows, col, cols, 1, out, cols);
        if (count > 1) pd_channel_major_to_batch(out, cout, P, first, count, y, 0);
    }
    free(owned);
    return PD_OK;
}

pd_status pd_conv_backward(const pd_conv_shape *s, const pd_real *x, const pd_real *w, const pd_real *dy,
                           pd_real *dx, pd_real *dw, pd_real *dbias, pd_real *work)
{
    if (s->transposed) return pd_fail(PD_ERR_USAGE, "pd_conv_backward given a transposed-conv shape");
    const int64_t K = pd_conv_kernel_cells(s), rows = s->in_channels * K, cout = s->out_channels;
    const int64_t P = out_positions(s), Pin = in_positions(s), chunk = pd_conv_chunk_samples(s);
    if (dbias) pd_channel_sum_add(dy, s->batch, cout, P, dbias);
    if (!dx && !dw) return PD_OK;
    pd_real *owned;
    PD_TRY(get_work(s, &work, &owned));
    for (int64_t first = 0; first < s->batch; first += chunk) {
        const int64_t count = s->batch - first < chunk ? s->batch - first : chunk, cols = count * P;
        pd_real *col_buf = work, *dy_buf = work + rows * cols;
        const pd_real *dyc = dy + first * cout * P;
        if (count > 1) {
            pd_batch_to_channel_major(dy, cout, P, first, count, dy_buf);
            dyc = dy_buf;
        }
        const int direct = is_pointwise(s) && count == 1;
        if (dw) {
            const pd_real *col = col_buf;
            if (direct) col = x + first * s->in_channels * Pin;
            else pd_patch_im2col(&s->patch, x, first, count, col_buf);
            pd_gemm(0, 1, cout, rows, cols, 1, dyc, cols, col, cols, 1, dw, rows);
        }
        if (dx) {
            if (direct) {
                pd_gemm(1, 0, rows, cols, cout, 1, w, rows, dyc, cols, 1, dx + first * s->in_channels * Pin, cols);
            } else {
                pd_gemm(1, 0, rows, cols, cout, 1, w, rows, dyc, cols, 0, col_buf, cols);
                pd_patch_col2im(&s->patch, col_buf, first, count, dx, 1);
            }
        }
    }
    free(owned);
    return PD_OK;
}
