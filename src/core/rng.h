/* rng.h — counter-based random numbers (Philox-4x32-10). A draw is a pure function of
 * (seed, a 64-bit counter, a stream key), so results depend on what is drawn, never on which
 * rank or thread draws it: the basis of rank-count-independent, resumable training. */
#ifndef PD_CORE_RNG_H
#define PD_CORE_RNG_H

#include <stdint.h>

/* Purposes: distinct streams for independent uses of the same (seed, step, item). */
enum { PD_RNG_INIT = 1, PD_RNG_SAMPLER = 2, PD_RNG_NOISE = 3, PD_RNG_DROPOUT = 4, PD_RNG_DESIGN = 5, PD_RNG_VQ = 6, PD_RNG_SUBSAMPLE = 7 };

/* Four 32-bit random words for (key, counter). */
void pd_philox4x32(uint64_t key, uint64_t ctr_hi, uint64_t ctr_lo, uint32_t out[4]);

/* A stream: seed, then (step, item, purpose) fix the key; `counter` advances per draw. */
typedef struct pd_rng {
    uint64_t key;
    uint64_t hi;
    uint64_t counter;
    uint32_t buf[4];
    int avail;
} pd_rng;

void pd_rng_init(pd_rng *r, uint64_t seed, uint64_t step, uint64_t item, uint32_t purpose);
uint32_t pd_rng_u32(pd_rng *r);
double pd_rng_uniform(pd_rng *r);   /* [0, 1) with 53 random bits */
float pd_rng_uniformf(pd_rng *r);   /* [0, 1) with 24 random bits */
double pd_rng_normal(pd_rng *r);    /* standard normal (Box-Muller) */
uint64_t pd_rng_below(pd_rng *r, uint64_t n); /* uniform in [0, n) */
/* FNV-1a 64-bit: stable hashes of names (dataset split, stream keys). */
uint64_t pd_fnv1a64(const void *data, uint64_t len);

#endif
