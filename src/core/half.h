/* half.h — per-element conversions between f32 and the 16-bit storage formats (bf16 with
 * round-to-nearest-even, IEEE binary16). Header-only so the CPU code, featurize's float16
 * voxels and a CUDA build (where PD_HOST_DEVICE means __host__ __device__) share one formula. */
#ifndef PD_CORE_HALF_H
#define PD_CORE_HALF_H

#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define PD_HOST_DEVICE __host__ __device__
#else
#define PD_HOST_DEVICE
#endif

static inline PD_HOST_DEVICE uint32_t pd_f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline PD_HOST_DEVICE float pd_bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* f32 -> bf16, round to nearest, ties to even; NaN stays a (quiet) NaN. */
static inline PD_HOST_DEVICE uint16_t pd_f32_to_bf16(float f)
{
    uint32_t u = pd_f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x0040u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline PD_HOST_DEVICE float pd_bf16_to_f32(uint16_t h) { return pd_bits_f32((uint32_t)h << 16); }

/* f32 -> IEEE binary16, round to nearest even, overflow to ±inf, subnormals kept. */
static inline PD_HOST_DEVICE uint16_t pd_f32_to_f16(float f)
{
    uint32_t u = pd_f32_bits(f);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t absu = u & 0x7fffffffu;
    if (absu > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);            /* NaN */
    if (absu >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);           /* >= 65520 rounds to inf */
    if (absu < 0x38800000u) {                                             /* below 2^-14: subnormal or 0 */
        if (absu < 0x33000000u) return (uint16_t)sign;                    /* < 2^-25 rounds to 0 */
        uint32_t exp = absu >> 23;                                        /* 102 .. 112 */
        uint32_t mant = (absu & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126u - exp;                                      /* 14 .. 24 */
        uint32_t half = mant >> shift;
        uint32_t rem = mant & ((1u << shift) - 1u);
        uint32_t mid = 1u << (shift - 1u);
        if (rem > mid || (rem == mid && (half & 1u))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t h = ((absu >> 13) - (112u << 10));                           /* rebias 127 -> 15 */
    uint32_t rem = absu & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;
    return (uint16_t)(sign | h);
}

static inline PD_HOST_DEVICE float pd_f16_to_f32(uint16_t h)
{
    uint32_t sign = ((uint32_t)h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0x1fu) return pd_bits_f32(sign | 0x7f800000u | (mant << 13));   /* inf / NaN */
    if (exp == 0) {
        if (mant == 0) return pd_bits_f32(sign);
        /* subnormal: value = mant * 2^-24 */
        float v = (float)mant * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    return pd_bits_f32(sign | ((exp + 112u) << 23) | (mant << 13));
}

#endif
