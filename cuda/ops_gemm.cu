/* ops_gemm.cu — linear and batched matmul on cuBLAS, forward and backward, with the same
 * GEMM calls (shapes, transposes, accumulation into gradients) as src/nn/ops_gemm.c. The bias
 * gradient is a per-column sum over rows in order (one thread per column, no atomics). */
#include "operand.cuh"

namespace {

using pdk::global_index;
using pdk::global_stride;

__global__ void bias_rows_kernel(const float *b, float *y, int64_t rows, int64_t out)
{
    for (int64_t t = global_index(); t < rows * out; t += global_stride()) y[t] = b[t % out];
}

__global__ void column_sum_kernel(const float *gy, float *gb, int64_t rows, int64_t out)
{
    for (int64_t j = global_index(); j < out; j += global_stride()) {
        float s = 0;
        for (int64_t r = 0; r < rows; r++) s += gy[r * out + j];
        gb[j] += s;
    }
}

} // namespace

extern "C" pd_status pd_cuda_linear_forward(pd_cuda_arena *work, pd_cuda_precision p, const float *x, const float *w,
                                            const uint16_t *w_bf16, const float *b, float *y, int64_t rows, int64_t in,
                                            int64_t out)
{
    if (b && rows * out > 0) {
        bias_rows_kernel<<<pdk::blocks_for(rows * out), pdk::kThreads, 0, pdk::stream()>>>(b, y, rows, out);
        PD_TRY(pdk::launched("linear bias"));
    }
    const void *xa, *wa;
    PD_TRY(pdk::gemm_operand(work, p, x, rows * in, NULL, &xa));
    PD_TRY(pdk::gemm_operand(work, p, w, out * in, w_bf16, &wa));
    return pd_cuda_gemm(p, 0, 1, rows, out, in, 1.0f, xa, in, wa, in, b ? 1.0f : 0.0f, y, out);
}

extern "C" pd_status pd_cuda_linear_backward(pd_cuda_arena *work, pd_cuda_precision p, const float *x, const float *w,
                                             const float *gy, float *gx, float *gw, float *gb, int64_t rows, int64_t in,
                                             int64_t out)
{
    const void *gya;
    PD_TRY(pdk::gemm_operand(work, p, gy, rows * out, NULL, &gya));
    if (gx) {
        const void *wa;
        PD_TRY(pdk::gemm_operand(work, p, w, out * in, NULL, &wa));
        PD_TRY(pd_cuda_gemm(p, 0, 0, rows, in, out, 1.0f, gya, out, wa, in, 1.0f, gx, in));
    }
    if (gw) {
        const void *xa;
        PD_TRY(pdk::gemm_operand(work, p, x, rows * in, NULL, &xa));
        PD_TRY(pd_cuda_gemm(p, 1, 0, out, in, rows, 1.0f, gya, out, xa, in, 1.0f, gw, in));
    }
    if (gb && out > 0) {
        column_sum_kernel<<<pdk::blocks_for(out), pdk::kThreads, 0, pdk::stream()>>>(gy, gb, rows, out);
        PD_TRY(pdk::launched("linear bias gradient"));
    }
    return PD_OK;
}

extern "C" pd_status pd_cuda_matmul_forward(pd_cuda_arena *work, pd_cuda_precision p, const float *a, const float *b,
                                            float *c, int64_t batch, int64_t m, int64_t n, int64_t k, int trans_a,
                                            int trans_b, int b_shared)
{
    const void *aa, *ba;
    PD_TRY(pdk::gemm_operand(work, p, a, batch * m * k, NULL, &aa));
    PD_TRY(pdk::gemm_operand(work, p, b, (b_shared ? 1 : batch) * k * n, NULL, &ba));
    return pd_cuda_gemm_strided_batched(p, trans_a, trans_b, m, n, k, 1.0f, aa, trans_a ? m : k, m * k, ba,
                                        trans_b ? k : n, b_shared ? 0 : k * n, 0.0f, c, n, m * n, batch);
}

extern "C" pd_status pd_cuda_matmul_backward(pd_cuda_arena *work, pd_cuda_precision p, const float *a, const float *b,
                                             const float *gc, float *ga, float *gb, int64_t batch, int64_t m, int64_t n,
                                             int64_t k, int trans_a, int trans_b, int b_shared)
{
    const int64_t lda = trans_a ? m : k, ldb = trans_b ? k : n, sb = b_shared ? 0 : k * n;
    const void *aa, *ba, *gca;
    PD_TRY(pdk::gemm_operand(work, p, gc, batch * m * n, NULL, &gca));
    if (ga) {
        PD_TRY(pdk::gemm_operand(work, p, b, (b_shared ? 1 : batch) * k * n, NULL, &ba));
        if (!trans_a)
            PD_TRY(pd_cuda_gemm_strided_batched(p, 0, trans_b ? 0 : 1, m, k, n, 1.0f, gca, n, m * n, ba, ldb, sb, 1.0f, ga,
                                                lda, m * k, batch));
        else
            PD_TRY(pd_cuda_gemm_strided_batched(p, trans_b ? 1 : 0, 1, k, m, n, 1.0f, ba, ldb, sb, gca, n, m * n, 1.0f, ga,
                                                lda, m * k, batch));
    }
    if (gb) {
        PD_TRY(pdk::gemm_operand(work, p, a, batch * m * k, NULL, &aa));
        /* A shared b sums the batch into one gradient: one GEMM per entry, in batch order (a
         * batched call would race on dB). */
        const int64_t calls = b_shared ? batch : 1, per_call = b_shared ? 1 : batch;
        for (int64_t i = 0; i < calls; i++) {
            const void *Ai = pdk::operand_at(p, aa, i * m * k), *dCi = pdk::operand_at(p, gca, i * m * n);
            if (!trans_b)
                PD_TRY(pd_cuda_gemm_strided_batched(p, trans_a ? 0 : 1, 0, k, n, m, 1.0f, Ai, lda, m * k, dCi, n, m * n,
                                                    1.0f, gb, ldb, sb, per_call));
            else
                PD_TRY(pd_cuda_gemm_strided_batched(p, 1, trans_a ? 1 : 0, n, k, m, 1.0f, dCi, n, m * n, Ai, lda, m * k,
                                                    1.0f, gb, ldb, sb, per_call));
        }
    }
    return PD_OK;
}
