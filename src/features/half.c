/* half.c — float <-> binary16 by bit manipulation, so the stored voxels do not depend on the
 * compiler's _Float16 support; rounding is to nearest, ties to even, like numpy. */
#include "features/half.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PD_HAVE_F16C_PATH 1
#endif

uint16_t pd_float_to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t exp = (x >> 23) & 0xffu;
    uint32_t mant = x & 0x7fffffu;
    if (exp == 0xffu) /* inf or NaN (keep NaN quiet and non-zero) */
        return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u | (mant >> 13) : 0u));
    int e = (int)exp - 127 + 15;
    if (e >= 31) /* overflow */
        return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) { /* subnormal half or zero */
        if (e < -10)
            return (uint16_t)sign;
        mant |= 0x800000u;
        int shift = 14 - e;                 /* 14..24 */
        uint32_t half_mant = mant >> shift;
        uint32_t rest = mant & ((1u << shift) - 1u);
        uint32_t halfway = 1u << (shift - 1);
        if (rest > halfway || (rest == halfway && (half_mant & 1u)))
            half_mant++;
        return (uint16_t)(sign | half_mant);
    }
    uint32_t h = sign | ((uint32_t)e << 10) | (mant >> 13);
    uint32_t rest = mant & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u)))
        h++; /* a carry into the exponent is the correct rounding, up to infinity */
    return (uint16_t)h;
}

float pd_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t x;
    if (exp == 0) {
        if (mant == 0) {
            x = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                e++;
                mant <<= 1;
            } while (!(mant & 0x400u));
            x = sign | ((uint32_t)(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        x = sign | 0x7f800000u | (mant << 13);
    } else {
        x = sign | ((exp - 15 + 127) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}

static int f16c_allowed = 1;

void pd_half_allow_f16c(int allowed)
{
    f16c_allowed = allowed;
}

#ifdef PD_HAVE_F16C_PATH
__attribute__((target("avx,f16c"))) static void to_half_f16c(long n, const float *in, uint16_t *out)
{
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128((__m128i *)(out + i), h);
    }
    for (; i < n; i++)
        out[i] = pd_float_to_half(in[i]);
}
#endif

void pd_float_to_half_array(long n, const float *in, uint16_t *out)
{
#ifdef PD_HAVE_F16C_PATH
    static int have = -1;
    if (have < 0)
        have = __builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c");
    if (have && f16c_allowed) {
        to_half_f16c(n, in, out);
        return;
    }
#endif
    for (long i = 0; i < n; i++)
        out[i] = pd_float_to_half(in[i]);
}
