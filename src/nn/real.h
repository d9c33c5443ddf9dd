/* real.h — the compute precision of the CPU op set. Kernels are written once against
 * `pd_real` and compiled twice: as float into libproteindiff.a (what runs), and as double
 * into a test-only library (PD_REAL_DOUBLE) so finite-difference gradient checks run the
 * very same forward/backward code in double precision. Math goes through these wrappers, which
 * are __host__ __device__ under nvcc so the shared per-element formulas compile for the GPU. */
#ifndef PD_NN_REAL_H
#define PD_NN_REAL_H

#include <math.h>

#include "core/half.h"   /* PD_HOST_DEVICE: __host__ __device__ under nvcc */

#ifdef PD_REAL_DOUBLE
typedef double pd_real;
#define PD_REAL_NAME "f64"
#else
typedef float pd_real;
#define PD_REAL_NAME "f32"
#endif

#ifdef PD_REAL_DOUBLE
static inline PD_HOST_DEVICE pd_real pd_exp(pd_real x) { return exp(x); }
static inline PD_HOST_DEVICE pd_real pd_log(pd_real x) { return log(x); }
static inline PD_HOST_DEVICE pd_real pd_sqrt(pd_real x) { return sqrt(x); }
static inline PD_HOST_DEVICE pd_real pd_tanh(pd_real x) { return tanh(x); }
static inline PD_HOST_DEVICE pd_real pd_erf(pd_real x) { return erf(x); }
static inline PD_HOST_DEVICE pd_real pd_sin(pd_real x) { return sin(x); }
static inline PD_HOST_DEVICE pd_real pd_cos(pd_real x) { return cos(x); }
static inline PD_HOST_DEVICE pd_real pd_pow(pd_real x, pd_real y) { return pow(x, y); }
static inline PD_HOST_DEVICE pd_real pd_fabs(pd_real x) { return fabs(x); }
#else
static inline PD_HOST_DEVICE pd_real pd_exp(pd_real x) { return expf(x); }
static inline PD_HOST_DEVICE pd_real pd_log(pd_real x) { return logf(x); }
static inline PD_HOST_DEVICE pd_real pd_sqrt(pd_real x) { return sqrtf(x); }
static inline PD_HOST_DEVICE pd_real pd_tanh(pd_real x) { return tanhf(x); }
static inline PD_HOST_DEVICE pd_real pd_erf(pd_real x) { return erff(x); }
static inline PD_HOST_DEVICE pd_real pd_sin(pd_real x) { return sinf(x); }
static inline PD_HOST_DEVICE pd_real pd_cos(pd_real x) { return cosf(x); }
static inline PD_HOST_DEVICE pd_real pd_pow(pd_real x, pd_real y) { return powf(x, y); }
static inline PD_HOST_DEVICE pd_real pd_fabs(pd_real x) { return fabsf(x); }
#endif

/* Row-major GEMM: C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, with op = transpose
 * when trans_a/trans_b is non-zero; lda/ldb/ldc are the row strides of the stored matrices.
 * cblas_sgemm or cblas_dgemm depending on pd_real (blas.c). */
void pd_gemm(int trans_a, int trans_b, long m, long n, long k, pd_real alpha, const pd_real *a, long lda,
             const pd_real *b, long ldb, pd_real beta, pd_real *c, long ldc);

/* Set OpenBLAS's thread count, returning the previous one. Ops that call pd_gemm from inside
 * their own OpenMP parallel loops set 1 around the loop: nested BLAS threads oversubscribe. */
int pd_blas_set_threads(int n);

#endif
