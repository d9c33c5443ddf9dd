/* half.c — float arrays to binary16 for the stored voxels: the F16C instruction where the CPU
 * has it, else the portable per-element formula of core/half.h (identical bits: round to
 * nearest, ties to even, like numpy). */
#include "features/half.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PD_HAVE_F16C_PATH 1
#endif

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
        out[i] = pd_f32_to_f16(in[i]);
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
        out[i] = pd_f32_to_f16(in[i]);
}
