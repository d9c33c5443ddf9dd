/* rng.c — Philox-4x32-10 (Salmon et al., SC'11) and FNV-1a; see rng.h. */
#include "core/rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static inline uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t *hi)
{
    uint64_t p = (uint64_t)a * b;
    *hi = (uint32_t)(p >> 32);
    return (uint32_t)p;
}

void pd_philox4x32(uint64_t key, uint64_t ctr_hi, uint64_t ctr_lo, uint32_t out[4])
{
    uint32_t c0 = (uint32_t)ctr_lo, c1 = (uint32_t)(ctr_lo >> 32), c2 = (uint32_t)ctr_hi, c3 = (uint32_t)(ctr_hi >> 32);
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    for (int r = 0; r < 10; r++) {
        uint32_t hi0, hi1;
        uint32_t lo0 = mulhilo(PHILOX_M0, c0, &hi0);
        uint32_t lo1 = mulhilo(PHILOX_M1, c2, &hi1);
        uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

uint64_t pd_fnv1a64(const void *data, uint64_t len)
{
    const unsigned char *p = data;
    uint64_t h = 14695981039346656037ull;
    for (uint64_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

void pd_rng_init(pd_rng *r, uint64_t seed, uint64_t step, uint64_t item, uint32_t purpose)
{
    r->key = seed;
    /* Mix (step, item, purpose) into the high counter word through one Philox call, so
     * nearby (step, item) pairs give unrelated streams. */
    uint32_t o[4];
    pd_philox4x32(seed ^ 0x5851F42D4C957F2Dull, step, (item << 8) ^ purpose, o);
    r->hi = ((uint64_t)o[0] << 32) | o[1];
    r->counter = 0;
    r->avail = 0;
}

uint32_t pd_rng_u32(pd_rng *r)
{
    if (r->avail == 0) {
        pd_philox4x32(r->key, r->hi, r->counter++, r->buf);
        r->avail = 4;
    }
    return r->buf[4 - r->avail--];
}

double pd_rng_uniform(pd_rng *r)
{
    uint64_t a = pd_rng_u32(r) >> 5, b = pd_rng_u32(r) >> 6;
    return (double)(a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

float pd_rng_uniformf(pd_rng *r) { return (float)(pd_rng_u32(r) >> 8) * (1.0f / 16777216.0f); }

double pd_rng_normal(pd_rng *r)
{
    double u1 = pd_rng_uniform(r), u2 = pd_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint64_t pd_rng_below(pd_rng *r, uint64_t n)
{
    if (n <= 1) return 0;
    uint64_t x = ((uint64_t)pd_rng_u32(r) << 32) | pd_rng_u32(r);
    return x % n; /* bias < n / 2^64: negligible for the sizes we draw */
}
