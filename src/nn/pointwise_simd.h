/* pointwise_simd.h — what lets the CPU kernels' loops vectorise: PD_CLONES compiles a kernel
 * twice (AVX2 and the x86-64 baseline the build targets) and picks one at load time, and
 * pd_vexp is an exp the compiler can vectorise (libm's expf is a call per element). Host only. */
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
    const int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}
#endif

#endif
