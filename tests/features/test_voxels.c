/* test_voxels.c — SPEC.md section 4 properties: the field against the formula evaluated in
 * double, invariance of the stored voxels under a rigid motion of a real structure (1CRN), the
 * AVX and scalar paths giving identical bits, binary16 conversion (known bit patterns, and the
 * F16C path equal to the portable one), and X residues contributing nothing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "features/geometry.h"
#include "features/half.h"
#include "features/voxels.h"
#include "structure/structure.h"
#include "test.h"

static void test_half_known_values(void)
{
    CHECK(pd_f32_to_f16(1.0f) == 0x3c00);
    CHECK(pd_f32_to_f16(-2.0f) == 0xc000);
    CHECK(pd_f32_to_f16(65504.0f) == 0x7bff);      /* largest finite half */
    CHECK(pd_f32_to_f16(65520.0f) == 0x7c00);      /* rounds up to infinity */
    CHECK(pd_f32_to_f16(0x1p-24f) == 0x0001);      /* smallest subnormal */
    CHECK(pd_f32_to_f16(0x1p-25f) == 0x0000);      /* tie to even: zero */
    CHECK(pd_f32_to_f16(0.1f) == 0x2e66);
    CHECK(pd_f32_to_f16(1.0f / 3.0f) == 0x3555);
    CHECK(pd_f32_to_f16(1.0f + 0x1p-11f) == 0x3c00); /* tie, even stays */
    CHECK(pd_f32_to_f16(1.0f + 3 * 0x1p-11f) == 0x3c02); /* tie, odd rounds up */
    CHECK(pd_f16_to_f32(0x3555) == 0.333251953125f);
    CHECK(pd_f16_to_f32(0x0001) == 0x1p-24f);
    CHECK(isinf(pd_f16_to_f32(0x7c00)));
    for (uint32_t h = 0; h < 0x7c00; h++) /* every finite half survives the round trip */
        if (pd_f32_to_f16(pd_f16_to_f32((uint16_t)h)) != h) {
            CHECK_MSG(0, "half 0x%04x does not round-trip", h);
            break;
        }
}

static void test_half_f16c_matches(void)
{
    enum { N = 1 << 16 };
    float *in = malloc(N * sizeof(float));
    uint16_t *a = malloc(N * 2), *b = malloc(N * 2);
    pd_rng rng;
    pd_rng_init(&rng, 7, 0, 0, PD_RNG_NOISE);
    for (int i = 0; i < N; i++) {
        uint32_t bits = pd_rng_u32(&rng);
        /* exponents around the half range, plus random float bit patterns */
        float f = (i % 2) ? (float)(pd_rng_normal(&rng) * exp2((double)(int)(bits % 44) - 28.0)) : 0.0f;
        if (i % 2 == 0)
            memcpy(&f, &bits, sizeof f);
        in[i] = isnan(f) ? 1.0f : f;
    }
    pd_half_allow_f16c(1);
    pd_float_to_half_array(N, in, a);
    pd_half_allow_f16c(0);
    pd_float_to_half_array(N, in, b);
    pd_half_allow_f16c(1);
    int mismatch = 0;
    for (int i = 0; i < N; i++)
        mismatch += a[i] != b[i];
    CHECK_MSG(mismatch == 0, "%d of %d conversions differ between F16C and the portable code", mismatch, N);
    free(in);
    free(a);
    free(b);
}

static void test_field_formula(void)
{
    const int V = 8;
    const float cell = 0.75f;
    float ax[2] = {0.3f, -1.5f}, ay[2] = {0.9f, 0.75f}, az[2] = {-0.2f, 0.0f}, q[2] = {0.6f, -0.45f};
    long cells = V * V * V;
    float *e = malloc(3 * cells * sizeof(float));
    pd_voxel_field(V, cell, 2, ax, ay, az, q, e, e + cells, e + 2 * cells);
    double worst = 0;
    int exact_hit = 0;
    for (int i = 0; i < V; i++)
        for (int j = 0; j < V; j++)
            for (int k = 0; k < V; k++) {
                double p[3] = {cell * (i - V / 2), cell * (j - V / 4), cell * (k - V / 2)}, E[3] = {0, 0, 0};
                for (int a = 0; a < 2; a++) {
                    double d[3] = {p[0] - ax[a], p[1] - ay[a], p[2] - az[a]};
                    double r = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
                    if (r == 0) {
                        exact_hit = 1;
                        continue;
                    }
                    double m = r > cell ? r : cell;
                    for (int c = 0; c < 3; c++)
                        E[c] += q[a] * d[c] / (r * m * m);
                }
                long idx = ((long)i * V + j) * V + k;
                for (int c = 0; c < 3; c++) {
                    double err = fabs(e[c * cells + idx] - E[c]) / (1e-3 + fabs(E[c]));
                    if (err > worst)
                        worst = err;
                }
            }
    CHECK(exact_hit); /* atom 1 sits exactly on cell (i=2, j=3, k=4): the skip rule was exercised */
    CHECK_MSG(worst < 1e-4, "field differs from the double-precision formula by %g (relative)", worst);
    free(e);
}

/* Voxels of every valid residue of a chain; returns the number of residues done. */
static int chain_voxels(const pd_chain *ch, int V, float cell, uint16_t *out)
{
    float *work = malloc(pd_voxels_workspace_floats(V) * sizeof(float));
    long cells = (long)V * V * V;
    int done = 0;
    for (int r = 0; r < ch->n; r++) {
        const float *a = ch->atom14 + r * 42;
        if (isnan(a[0]) || isnan(a[3]) || isnan(a[6]))
            continue;
        float cb[3], frame[9];
        pd_virtual_cb(a, a + 3, a + 6, cb);
        pd_residue_frame(a, a + 3, a + 6, cb, frame);
        pd_voxels_residue(V, cell, a, ch->aa[r], cb, frame, pd_charges_builtin(), work, out + done * cells);
        done++;
    }
    free(work);
    return done;
}

/* Fraction of cells where the two voxel sets disagree beyond float tolerance. */
static double disagreement(long n, const uint16_t *a, const uint16_t *b, double *max_abs)
{
    long bad = 0;
    *max_abs = 0;
    for (long c = 0; c < n; c++) {
        double x = pd_f16_to_f32(a[c]), y = pd_f16_to_f32(b[c]), d = fabs(x - y);
        if (d > *max_abs)
            *max_abs = d;
        if (d > 1e-2 + 2e-3 * fabs(x))
            bad++;
    }
    return (double)bad / (double)n;
}

static void test_rigid_motion_invariance(const char *shared)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/data/pdb/1CRN.cif", shared);
    pd_structure s;
    if (pd_structure_read(path, &s) != PD_OK) {
        CHECK_MSG(0, "cannot read %s: %s", path, pd_last_error());
        return;
    }
    pd_chain *ch = &s.chains[0];
    const int V = 16;
    const float cell = 0.75f;
    long cells = (long)V * V * V;
    uint16_t *ref = calloc((size_t)ch->n * cells, 2), *moved = calloc((size_t)ch->n * cells, 2),
             *scalar = calloc((size_t)ch->n * cells, 2);
    int n_ref = chain_voxels(ch, V, cell, ref);
    CHECK(n_ref == 46);

    /* The same bits from the scalar path. */
    pd_voxel_field_allow_simd(0);
    chain_voxels(ch, V, cell, scalar);
    pd_voxel_field_allow_simd(1);
    CHECK_MSG(memcmp(ref, scalar, (size_t)n_ref * cells * 2) == 0, "AVX and scalar voxel paths differ");

    /* Rotate by 2.1 rad about (1, -2, 0.5)/|.| and translate by (31.7, -12.2, 48.9). */
    double axis[3] = {1, -2, 0.5}, len = sqrt(1 + 4 + 0.25), th = 2.1, R[9];
    for (int k = 0; k < 3; k++)
        axis[k] /= len;
    double cs = cos(th), sn = sin(th), t = 1 - cs, x = axis[0], y = axis[1], z = axis[2];
    double rot[9] = {t * x * x + cs, t * x * y - sn * z, t * x * z + sn * y, t * x * y + sn * z, t * y * y + cs,
                     t * y * z - sn * x, t * x * z - sn * y, t * y * z + sn * x, t * z * z + cs};
    memcpy(R, rot, sizeof R);
    const double shift[3] = {31.7, -12.2, 48.9};
    float *original = malloc((size_t)ch->n * 42 * sizeof(float));
    memcpy(original, ch->atom14, (size_t)ch->n * 42 * sizeof(float));
    for (long a = 0; a < (long)ch->n * 14; a++) {
        float *p = ch->atom14 + a * 3;
        double q[3] = {p[0], p[1], p[2]};
        for (int r = 0; r < 3; r++)
            p[r] = (float)(R[3 * r] * q[0] + R[3 * r + 1] * q[1] + R[3 * r + 2] * q[2] + shift[r]);
    }
    int n_moved = chain_voxels(ch, V, cell, moved);
    CHECK(n_moved == n_ref);
    double max_abs, frac = disagreement((long)n_ref * cells, ref, moved, &max_abs);
    printf("rigid motion: %.5f%% of %ld cells beyond tolerance, max |diff| %.4g\n", 100 * frac, (long)n_ref * cells,
           max_abs);
    CHECK_MSG(frac < 1e-3, "voxels are not invariant: %.4f%% of cells differ", 100 * frac);

    /* The check can fail: moving one side-chain atom by 0.4 A is noticed. */
    memcpy(ch->atom14, original, (size_t)ch->n * 42 * sizeof(float));
    ch->atom14[0 * 42 + 5 * 3 + 0] += 0.4f; /* residue 0 (THR), slot 5 (OG1) */
    chain_voxels(ch, V, cell, moved);
    frac = disagreement(cells, ref, moved, &max_abs);
    CHECK_MSG(frac > 0.01, "a moved atom changed only %.4f%% of the residue's cells", 100 * frac);

    /* An X residue has no charges: all zeros. */
    memcpy(ch->atom14, original, (size_t)ch->n * 42 * sizeof(float));
    ch->aa[0] = PD_AA_UNKNOWN;
    chain_voxels(ch, V, cell, moved);
    int nonzero = 0;
    for (long c = 0; c < cells; c++)
        nonzero += moved[c] != 0;
    CHECK(nonzero == 0);

    free(original);
    free(ref);
    free(moved);
    free(scalar);
    pd_structure_free(&s);
}

int main(void)
{
    const char *shared = getenv("PD_SHARED");
    test_half_known_values();
    test_half_f16c_matches();
    test_field_formula();
    test_rigid_motion_invariance(shared ? shared : "../shared");
    return pd_test_finish("test_voxels");
}
