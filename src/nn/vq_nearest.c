/* vq_nearest.c — nearest-code search by GEMM (‖x‖² − 2x·e + ‖e‖², argmin, ties → lowest
 * index) and the code lookup; see vq_kernels.h. Works on chunks of vectors so the distance
 * matrix stays cache-sized. */
#include "nn/vq_kernels.h"

#include <stdlib.h>

#include "nn/conv_patch.h"
#include "nn/pointwise_index.h"

/* Vectors per chunk: distance rows [rows, K] plus the gathered vectors [D, rows]. */
static int64_t chunk_samples(const pd_vq_codebook *book, int64_t N, int64_t P)
{
    return pd_patch_chunk_samples(N, P, book->codes + book->dim);
}

int64_t pd_vq_work_numel(const pd_vq_codebook *book, int64_t N, int64_t P)
{
    return chunk_samples(book, N, P) * P * (book->codes + book->dim) + book->codes;
}

pd_status pd_vq_nearest(const pd_vq_codebook *book, const pd_real *x, int64_t N, int64_t P, int32_t *index,
                        pd_real *work)
{
    const int64_t K = book->codes, D = book->dim, chunk = chunk_samples(book, N, P);
    pd_real *owned = NULL;
    if (!work) {
        owned = work = pd_malloc((size_t)pd_vq_work_numel(book, N, P) * sizeof(pd_real));
        if (!owned) {
            pd_error_context("vector quantisation scratch");
            return PD_ERR_NOMEM;
        }
    }
    pd_real *code_sq = work, *dots = work + K;
    for (int64_t k = 0; k < K; k++) {
        double s = 0;
        for (int64_t d = 0; d < D; d++) s += (double)book->embed[k * D + d] * book->embed[k * D + d];
        code_sq[k] = (pd_real)s;
    }
    for (int64_t first = 0; first < N; first += chunk) {
        const int64_t count = N - first < chunk ? N - first : chunk, rows = count * P;
        pd_real *xt = dots + rows * K; /* [D, rows] when gathered */
        const pd_real *xs;
        int64_t xs_stride_d, xs_stride_r;
        if (P == 1) {
            /* Already [rows, D]: dots = X · Eᵀ. */
            xs = x + first * D;
            xs_stride_d = 1;
            xs_stride_r = D;
            pd_gemm(0, 1, rows, K, D, 1, xs, D, book->embed, D, 0, dots, K);
        } else {
            pd_batch_to_channel_major(x, D, P, first, count, xt);
            xs = xt;
            xs_stride_d = rows;
            xs_stride_r = 1;
            pd_gemm(1, 1, rows, K, D, 1, xt, rows, book->embed, D, 0, dots, K);
        }
        for (int64_t r = 0; r < rows; r++) {
            double s = 0;
            for (int64_t d = 0; d < D; d++) {
                const double v = xs[d * xs_stride_d + r * xs_stride_r];
                s += v * v;
            }
            const pd_real x_sq = (pd_real)s;
            const pd_real *row = dots + r * K;
            int32_t best = 0;
            pd_real best_dist = pd_vq_distance(x_sq, row[0], code_sq[0]);
            for (int64_t k = 1; k < K; k++) {
                const pd_real dist = pd_vq_distance(x_sq, row[k], code_sq[k]);
                if (dist < best_dist) {
                    best_dist = dist;
                    best = (int32_t)k;
                }
            }
            index[first * P + r] = best;
        }
    }
    free(owned);
    return PD_OK;
}

void pd_vq_lookup(const pd_vq_codebook *book, const int32_t *index, int64_t N, int64_t P, pd_real *q)
{
    const int64_t D = book->dim;
    for (int64_t n = 0; n < N; n++)
        for (int64_t p = 0; p < P; p++) {
            const pd_real *e = book->embed + (int64_t)index[n * P + p] * D;
            pd_real *qn = q + n * D * P + p;
            for (int64_t d = 0; d < D; d++) qn[d * P] = e[d];
        }
}
