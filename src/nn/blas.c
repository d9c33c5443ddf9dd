/* blas.c — pd_gemm: the one GEMM entry point of the CPU op set, cblas_sgemm or cblas_dgemm
 * depending on pd_real (real.h), row-major. */
#include "nn/real.h"

#include <cblas.h>

void pd_gemm(int trans_a, int trans_b, long m, long n, long k, pd_real alpha, const pd_real *a, long lda,
             const pd_real *b, long ldb, pd_real beta, pd_real *c, long ldc)
{
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {   /* BLAS would skip the product but we must still apply beta */
        for (long i = 0; i < m; i++)
            for (long j = 0; j < n; j++) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
        return;
    }
#ifdef PD_REAL_DOUBLE
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                (int)m, (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
#else
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                (int)m, (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
#endif
}

int pd_blas_set_threads(int n)
{
    int old = openblas_get_num_threads();
    if (n != old) openblas_set_num_threads(n);
    return old;
}
