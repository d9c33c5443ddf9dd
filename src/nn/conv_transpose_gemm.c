/* conv_transpose_gemm.c — forward and backward of the k=2 s=2 transposed convolution as GEMMs:
 * Z[Cout·K, cols] = Wᵀ · X[Cin, cols] scattered to the output without overlap (col2im), and
 * for backward dZ = im2col(dY), dW += X · dZᵀ, dX = W · dZ. See conv_kernels.h. */
#include "nn/conv_kernels.h"

#include <stdlib.h>

static pd_status get_work(const pd_conv_shape *s, pd_real **work, pd_real **owned)
{
    *owned = NULL;
    if (*work) return PD_OK;
    *owned = pd_malloc((size_t)pd_conv_work_numel(s) * sizeof(pd_real));
    if (!*owned) {
        pd_error_context("conv transpose scratch");
        return PD_ERR_NOMEM;
    }
    *work = *owned;
    return PD_OK;
}

pd_status pd_conv_transpose_forward(const pd_conv_shape *s, const pd_real *x, const pd_real *w,
                                    const pd_real *bias, pd_real *y, pd_real *work)
{
    if (!s->transposed) return pd_fail(PD_ERR_USAGE, "pd_conv_transpose_forward given a plain conv shape");
    pd_real *owned;
    PD_TRY(get_work(s, &work, &owned));
    const int64_t K = pd_conv_kernel_cells(s), rows = s->out_channels * K, cin = s->in_channels;
    const int64_t Pin = s->in_size[0] * s->in_size[1] * s->in_size[2];
    const int64_t Pout = s->out_size[0] * s->out_size[1] * s->out_size[2], chunk = pd_conv_chunk_samples(s);
    for (int64_t first = 0; first < s->batch; first += chunk) {
        const int64_t count = s->batch - first < chunk ? s->batch - first : chunk, cols = count * Pin;
        pd_real *z = work, *x_buf = work + rows * cols;
        const pd_real *xc = x + first * cin * Pin;
        if (count > 1) {
            pd_batch_to_channel_major(x, cin, Pin, first, count, x_buf);
            xc = x_buf;
        }
        pd_gemm(1, 0, rows, cols, cin, 1, w, rows, xc, cols, 0, z, cols);
        pd_patch_col2im(&s->patch, z, first, count, y, 0);
        if (bias)
            for (int64_t b = first; b < first + count; b++)
                for (int64_t c = 0; c < s->out_channels; c++) {
                    pd_real *row = y + (b * s->out_channels + c) * Pout;
                    for (int64_t p = 0; p < Pout; p++) row[p] += bias[c];
                }
    }
    free(owned);
    return PD_OK;
}

pd_status pd_conv_transpose_backward(const pd_conv_shape *s, const pd_real *x, const pd_real *w,
                                     const pd_real *dy, pd_real *dx, pd_real *dw, pd_real *dbias, pd_real *work)
{
    if (!s->transposed) return pd_fail(PD_ERR_USAGE, "pd_conv_transpose_backward given a plain conv shape");
    const int64_t K = pd_conv_kernel_cells(s), rows = s->out_channels * K, cin = s->in_channels;
    const int64_t Pin = s->in_size[0] * s->in_size[1] * s->in_size[2];
    const int64_t Pout = s->out_size[0] * s->out_size[1] * s->out_size[2], chunk = pd_conv_chunk_samples(s);
    if (dbias) pd_channel_sum_add(dy, s->batch, s->out_channels, Pout, dbias);
    if (!dx && !dw) return PD_OK;
    pd_real *owned;
    PD_TRY(get_work(s, &work, &owned));
    for (int64_t first = 0; first < s->batch; first += chunk) {
        const int64_t count = s->batch - first < chunk ? s->batch - first : chunk, cols = count * Pin;
        pd_real *dz = work, *x_buf = work + rows * cols;
        pd_patch_im2col(&s->patch, dy, first, count, dz);
        if (dw) {
            const pd_real *xc = x + first * cin * Pin;
            if (count > 1) {
                pd_batch_to_channel_major(x, cin, Pin, first, count, x_buf);
                xc = x_buf;
            }
            pd_gemm(0, 1, cin, rows, cols, 1, xc, cols, dz, cols, 1, dw, rows);
        }
        if (dx) {
            if (count == 1) {
                pd_gemm(0, 0, cin, cols, rows, 1, w, rows, dz, cols, 1, dx + first * cin * Pin, cols);
            } else {
                pd_gemm(0, 0, cin, cols, rows, 1, w, rows, dz, cols, 0, x_buf, cols);
                pd_channel_major_to_batch(x_buf, cin, Pin, first, count, dx, 1);
            }
        }
    }
    free(owned);
    return PD_OK;
}
