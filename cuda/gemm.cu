/* gemm.cu — row-major GEMM on cuBLAS (the C = op(A)·op(B) of pd_gemm, computed as the
 * column-major Cᵀ = op(B)ᵀ·op(A)ᵀ): fp32, or bf16 operands with fp32 accumulation
 * (cublasGemmEx / cublasGemmStridedBatchedEx with CUBLAS_COMPUTE_32F). */
#include <climits>
#include <cublas_v2.h>

#include "kernel_common.cuh"

namespace {

cublasHandle_t handle() { return static_cast<cublasHandle_t>(pd_cuda_cublas_handle()); }

pd_status cublas_ok(cublasStatus_t s, const char *what, int64_t m, int64_t n, int64_t k)
{
    if (s == CUBLAS_STATUS_SUCCESS) return PD_OK;
    return pd_fail(PD_ERR, "%s (m %lld, n %lld, k %lld) failed with cuBLAS status %d (%s)", what, (long long)m,
                   (long long)n, (long long)k, (int)s, cublasGetStatusString(s));
}

pd_status check_sizes(const char *what, int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldb, int64_t ldc)
{
    if (!handle()) return pd_fail(PD_ERR_UNSUPPORTED, "%s: no cuBLAS handle; call pd_cuda_init first", what);
    const int64_t v[] = {m, n, k, lda, ldb, ldc};
    for (int64_t x : v)
        if (x < 0 || x > INT_MAX)
            return pd_fail(PD_ERR_UNSUPPORTED, "%s: dimension %lld does not fit cuBLAS's 32-bit sizes; split the batch", what,
                           (long long)x);
    return PD_OK;
}

cudaDataType_t operand_type(pd_cuda_precision p) { return p == PD_CUDA_BF16 ? CUDA_R_16BF : CUDA_R_32F; }

} // namespace

extern "C" pd_status pd_cuda_gemm(pd_cuda_precision p, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                                  float alpha, const void *a, int64_t lda, const void *b, int64_t ldb, float beta,
                                  float *c, int64_t ldc)
{
    if (m == 0 || n == 0) return PD_OK;
    PD_TRY(check_sizes("GEMM", m, n, k, lda, ldb, ldc));
    const cudaDataType_t t = operand_type(p);
    return cublas_ok(cublasGemmEx(handle(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                  (int)n, (int)m, (int)k, &alpha, b, t, (int)ldb, a, t, (int)lda, &beta, c, CUDA_R_32F,
                                  (int)ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                     p == PD_CUDA_BF16 ? "cublasGemmEx (bf16 in, fp32 accumulate)" : "cublasGemmEx (fp32)", m, n, k);
}

extern "C" pd_status pd_cuda_gemm_strided_batched(pd_cuda_precision p, int trans_a, int trans_b, int64_t m, int64_t n,
                                                  int64_t k, float alpha, const void *a, int64_t lda, int64_t stride_a,
                                                  const void *b, int64_t ldb, int64_t stride_b, float beta, float *c,
                                                  int64_t ldc, int64_t stride_c, int64_t batch)
{
    if (m == 0 || n == 0 || batch == 0) return PD_OK;
    PD_TRY(check_sizes("batched GEMM", m, n, k, lda, ldb, ldc));
    if (batch > INT_MAX) return pd_fail(PD_ERR_UNSUPPORTED, "batched GEMM: %lld matrices is too many", (long long)batch);
    const cudaDataType_t t = operand_type(p);
    return cublas_ok(cublasGemmStridedBatchedEx(handle(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                                trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, (int)n, (int)m, (int)k, &alpha, b, t,
                                                (int)ldb, stride_b, a, t, (int)lda, stride_a, &beta, c, CUDA_R_32F,
                                                (int)ldc, stride_c, (int)batch, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                     "cublasGemmStridedBatchedEx", m, n, k);
}
