/* pointwise_simd.h — what lets the CPU kernels' loops vectorise: PD_CLONES compiles a kernel
 * twice (AVX2 and the x86-64 baseline the build targets) and picks one at load time, and
 * pd_vexp / pd_verf are an exp and an erf the compiler can vectorise (libm's expf and erff are a
 * call per element), pd_vgelu / pd_vgelu_df exact GELU and its derivative on them. Host only. */
#ifndef PD_NN_POINTWISE_SIMD_H
#define PD_NN_POINTWISE_SIMD_H

#include <stdint.h>
#include <string.h>

#include "nn/real.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__CUDACC__) && \
    !defined(__SANITIZE_ADDRESS__)
#define PD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define PD_CLONES
#endif

#ifdef PD_REAL_DOUBLE
/* The double build (gradient checks) keeps libm. */
static inline pd_real pd_vexp(pd_real x) { return exp(x); }
static inline pd_real pd_verf(pd_real x) { return erf(x); }
#else
/* e^x in float, max error ~2 ulp against expf (Cephes' polynomial on x − n·ln2, n = round(x/ln2),
 * times 2^n built in the exponent bits). x is clamped to [−87, 88] so 2^n stays a normal float:
 * e^−87 ≈ 1.6e−38 stands for anything smaller (−inf included), e^88 ≈ 1.65e38 for anything
 * larger; NaN stays NaN. Only for uses where that clamp is harmless (sigmoid, SiLU). */
static inline float pd_vexp(float x)
{
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;   /* round to nearest */
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    /* NaN: any finite n (p is NaN already); keeps the conversion and the shift defined */
    const float n_ok = n == n ? n : 0.0f;
    const uint32_t bits = (uint32_t)((int32_t)n_ok + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* erf(x) in float, max absolute error 8.2e-8 against erf in double (libm's erff: 5.8e-8; checked
 * on every third float of [0, 8] and the symmetry for x < 0, by a throw-away program, not a test
 * of the suite; the parity tests bound it through GELU). Branch-free so it
 * vectorises: both pieces are computed and one is selected.
 *   |x| <= 0.921875: erf(x) = x + x P(x^2), P degree 5 (relative error of the fit 1.6e-8);
 *   |x| >  0.921875: erf(x) = sign(x) (1 - exp(Q(t))), t = min(|x|, 4), Q degree 7 fitting
 *   log erfc(t) (absolute error of the fit 4e-11; erf(4) rounds to 1). Coefficients: weighted
 *   least squares iterated towards minimax (Lawson), rounded to float. NaN gives NaN, ±inf ±1. */
static inline float pd_verf(float x)
{
    const float t = fabsf(x), s = x * x;
    float p = -5.9910485288e-04f;
    p = p * s + 4.9932263792e-03f;
    p = p * s + -2.6766655967e-02f;
    p = p * s + 1.1281817406e-01f;
    p = p * s + -3.7612494826e-01f;
    p = p * s + 1.2837915123e-01f;
    const float small = x + x * p;
    const float u = t < 4.0f ? t : 4.0f;
    float q = -2.1184498109505512e-05f;
    q = q * u + 4.354806151241064e-04f;
    q = q * u + -4.1759139858186245e-03f;
    q = q * u + 2.513197995722294e-02f;
    q = q * u + -1.082991510629654e-01f;
    q = q * u + -6.333299279212952e-01f;
    q = q * u + -1.1295231580734253f;
    q = q * u + 1.763653999660164e-04f;
    const float big = copysignf(1.0f - pd_vexp(q), x);
    return t > 0.921875f ? big : small;
}
#endif

/* Exact GELU x Phi(x) and its derivative Phi(x) + x phi(x) on pd_verf / pd_vexp (the formulas of
 * pointwise.h; in the double build the same libm calls). phi is 0 past x^2 = 170, where exp
 * underflows (pd_vexp would clamp at e^-87). */
static inline pd_real pd_vgelu(pd_real x) { return (pd_real)0.5 * x * (1 + pd_verf(x * (pd_real)0.70710678118654752440)); }
static inline pd_real pd_vgelu_df(pd_real x)
{
    const pd_real cdf = (pd_real)0.5 * (1 + pd_verf(x * (pd_real)0.70710678118654752440));
    const pd_real e = pd_vexp((pd_real)-0.5 * x * x);
    const pd_real pdf = (pd_real)0.39894228040143267794 * (x * x < 170 ? e : 0);
    return cdf + x * pdf;
}

#endif
