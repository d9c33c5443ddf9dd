/* test_rng.c — Philox-4x32-10 against the published known-answer vectors (Random123), and
 * the statistics and stream independence the training code relies on. */
#include <stdint.h>
#include <string.h>

#include "core/rng.h"
#include "test.h"

int main(void)
{
    uint32_t o[4];
    /* Random123 kat_vectors: philox4x32 10 rounds. Our counter words are (lo, hi) pairs. */
    pd_philox4x32(0, 0, 0, o);
    CHECK(o[0] == 0x6627e8d5u && o[1] == 0xe169c58du && o[2] == 0xbc57ac4cu && o[3] == 0x9b00dbd8u);
    pd_philox4x32(0xffffffffffffffffull, 0xffffffffffffffffull, 0xffffffffffffffffull, o);
    CHECK(o[0] == 0x408f276du && o[1] == 0x41c83b0eu && o[2] == 0xa20bc7c6u && o[3] == 0x6d5451fdu);
    pd_philox4x32(((uint64_t)0x299f31d0u << 32) | 0xa4093822u, ((uint64_t)0x03707344u << 32) | 0x13198a2eu,
                  ((uint64_t)0x85a308d3u << 32) | 0x243f6a88u, o);
    CHECK(o[0] == 0xd16cfe09u && o[1] == 0x94fdccebu && o[2] == 0x5001e420u && o[3] == 0x24126ea1u);

    /* Same (seed, step, item, purpose) -> same stream; any change -> a different one. */
    pd_rng a, b;
    pd_rng_init(&a, 42, 7, 3, PD_RNG_NOISE);
    pd_rng_init(&b, 42, 7, 3, PD_RNG_NOISE);
    int same = 1;
    for (int i = 0; i < 100; i++) same &= pd_rng_u32(&a) == pd_rng_u32(&b);
    CHECK(same);
    pd_rng_init(&b, 42, 7, 4, PD_RNG_NOISE);
    pd_rng_init(&a, 42, 7, 3, PD_RNG_NOISE);
    int diff = 0;
    for (int i = 0; i < 100; i++) diff += pd_rng_u32(&a) != pd_rng_u32(&b);
    CHECK(diff > 95);

    /* Moments of uniform and normal draws. */
    pd_rng_init(&a, 1, 0, 0, PD_RNG_INIT);
    double s = 0, s2 = 0, n = 200000;
    for (int i = 0; i < n; i++) { double u = pd_rng_uniform(&a); CHECK(u >= 0 && u < 1); s += u; }
    CHECK_NEAR(s / n, 0.5, 0.005);
    s = 0;
    for (int i = 0; i < n; i++) { double z = pd_rng_normal(&a); s += z; s2 += z * z; }
    CHECK_NEAR(s / n, 0.0, 0.01);
    CHECK_NEAR(s2 / n, 1.0, 0.02);

    /* FNV-1a-64 reference values. */
    CHECK(pd_fnv1a64("", 0) == 0xcbf29ce484222325ull);
    CHECK(pd_fnv1a64("a", 1) == 0xaf63dc4c8601ec8cull);
    CHECK(pd_fnv1a64("foobar", 6) == 0x85944171f73967e8ull);
    return pd_test_finish("test_rng");
}
