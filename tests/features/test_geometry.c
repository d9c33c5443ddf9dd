/* test_geometry.c — SPEC.md section 2 and 3 formulas against values worked out by hand (and,
 * where noted, in double precision with numpy from the spec's formulas): dihedral and planar
 * angle on axis-aligned points, the virtual CB, the frame's orthonormality, pixel truncation,
 * and a three-residue distogram with an invalid residue. */
#include <math.h>
#include <string.h>

#include "features/distogram.h"
#include "features/geometry.h"
#include "structure/residues.h"
#include "test.h"

static const double pi = 3.14159265358979323846;

static void test_dihedral_and_angle(void)
{
    float a[3] = {1, 0, 0}, b[3] = {0, 0, 0}, c[3] = {0, 0, 1};
    float d_plus[3] = {0, 1, 1}, d_minus[3] = {0, -1, 1}, d_cis[3] = {1, 0, 1}, d_trans[3] = {-1, 0, 1};
    CHECK_NEAR(pd_dihedral(a, b, c, d_plus), pi / 2, 1e-6);
    CHECK_NEAR(pd_dihedral(a, b, c, d_minus), -pi / 2, 1e-6);
    CHECK_NEAR(pd_dihedral(a, b, c, d_cis), 0.0, 1e-6);
    CHECK_NEAR(fabs(pd_dihedral(a, b, c, d_trans)), pi, 1e-6);
    float d_60[3] = {0.5f, 0.8660254f, 5.0f}; /* 60 degrees, any height along the axis */
    CHECK_NEAR(pd_dihedral(a, b, c, d_60), pi / 3, 1e-6);

    float p[3] = {2, 0, 0}, q_right[3] = {0, 3, 0}, q_45[3] = {4, 4, 0}, q_back[3] = {-1, 0, 0};
    CHECK_NEAR(pd_planar_angle(p, b, q_right), pi / 2, 1e-6);
    CHECK_NEAR(pd_planar_angle(p, b, q_45), pi / 4, 1e-6);
    CHECK_NEAR(pd_planar_angle(p, b, q_back), pi, 1e-6);
    CHECK_NEAR(pd_planar_angle(p, b, p), 0.0, 1e-3); /* clipped: acos(1) even if the dot rounds above 1 */
}

static void test_virtual_cb_and_frame(void)
{
    /* N = 0, CA = x, C = x + y: b = (1,0,0), c = (0,1,0), a = b x c = (0,0,1), so
     * CB = (1 + 0.56802827, -0.54067466, -0.58273431). */
    float n[3] = {0, 0, 0}, ca[3] = {1, 0, 0}, c[3] = {1, 1, 0}, cb[3];
    pd_virtual_cb(n, ca, c, cb);
    CHECK_NEAR(cb[0], 1.56802827, 1e-6);
    CHECK_NEAR(cb[1], -0.54067466, 1e-6);
    CHECK_NEAR(cb[2], -0.58273431, 1e-6);
    /* |CB - CA| of the standard coefficients is ~0.977 for unit bonds, ~1.52 A for real ones. */
    float v[3];
    pd_sub3(cb, ca, v);
    CHECK_NEAR(pd_norm3(v), sqrt(0.56802827 * 0.56802827 + 0.54067466 * 0.54067466 + 0.58273431 * 0.58273431), 1e-6);

    float f[9];
    pd_residue_frame(n, ca, c, cb, f);
    for (int r = 0; r < 3; r++)
        for (int s = 0; s < 3; s++)
            CHECK_NEAR(pd_dot3(f + 3 * r, f + 3 * s), r == s ? 1.0 : 0.0, 1e-6);
    float cross[3];
    pd_cross3(f, f + 3, cross); /* right-handed: x cross y = z */
    for (int k = 0; k < 3; k++)
        CHECK_NEAR(cross[k], f[6 + k], 1e-6);
    float y_expected[3];
    pd_unit3(v, y_expected);
    for (int k = 0; k < 3; k++)
        CHECK_NEAR(f[3 + k], y_expected[k], 1e-7);
    float cn[3];
    pd_sub3(c, n, cn);
    CHECK(pd_dot3(cn, f) > 0.0f);             /* x points along C - N */
    CHECK_NEAR(pd_dot3(cn, f + 6), 0.0, 1e-6); /* and C - N lies in the x-y plane */
}

static void test_pixels(void)
{
    CHECK(pd_distogram_pixel(1.0f) == 255);
    CHECK(pd_distogram_pixel(0.0f) == 127);    /* 127.5 truncates */
    CHECK(pd_distogram_pixel(-1.0f) == 0);
    CHECK(pd_distogram_pixel(-0.5f) == 63);    /* 63.75: truncation, not rounding */
    CHECK(pd_distogram_pixel(0.5f) == 191);    /* 191.25 */
    CHECK(pd_distogram_pixel(3.0f) == 255);    /* clipped */
    CHECK(pd_distogram_pixel(-3.0f) == 0);
}

/* Residue 1 is residue 0 moved by T = (2, 6, 9), |T| = 11; residue 2 has no C (invalid).
 * Expected pixels from the spec's formulas in double precision (numpy):
 * d: (11/80*2 - 1 + 1)/2*255 = 35.06; theta_01 8.78, phi_01 66.35; theta_10 136.28,
 * phi_10 188.65; omega_01 = 0 (parallel CA-CB bonds) -> 127.5. */
static void test_small_distogram(void)
{
    float atom14[3 * PD_SLOTS * 3];
    for (size_t i = 0; i < sizeof atom14 / sizeof atom14[0]; i++)
        atom14[i] = NAN;
    const float base[3][3] = {{0, 0, 0}, {1, 0, 0}, {1, 1, 0}}, t[3] = {2, 6, 9};
    for (int s = 0; s < 3; s++)
        for (int k = 0; k < 3; k++) {
            atom14[0 * 42 + s * 3 + k] = base[s][k];
            atom14[1 * 42 + s * 3 + k] = base[s][k] + t[k];
            if (s < 2)
                atom14[2 * 42 + s * 3 + k] = base[s][k] - 30.0f;
        }
    uint8_t valid[3] = {1, 1, 0};
    float cb[9];
    for (int r = 0; r < 2; r++)
        pd_virtual_cb(atom14 + r * 42, atom14 + r * 42 + 3, atom14 + r * 42 + 6, cb + r * 3);
    cb[6] = cb[7] = cb[8] = NAN;
    uint8_t img[3 * 3 * 3];
    memset(img, 0xAB, sizeof img);
    pd_distogram(3, atom14, cb, valid, img);
#define PX(i, j, ch) img[((i) * 3 + (j)) * 3 + (ch)]
    for (int i = 0; i < 3; i++) { /* diagonal: sentinel, lower-triangle style */
        CHECK(PX(i, i, 0) == 255 && PX(i, i, 1) == 127 && PX(i, i, 2) == 0);
    }
    CHECK(PX(0, 1, 0) == 127);              /* omega = 0 */
    CHECK(PX(1, 0, 0) == 35);               /* distance 11 */
    CHECK_MSG(PX(0, 1, 1) == 8, "theta_01 pixel %d", PX(0, 1, 1));
    CHECK_MSG(PX(0, 1, 2) == 66, "phi_01 pixel %d", PX(0, 1, 2));
    CHECK_MSG(PX(1, 0, 1) == 136, "theta_10 pixel %d", PX(1, 0, 1));
    CHECK_MSG(PX(1, 0, 2) == 188, "phi_10 pixel %d", PX(1, 0, 2));
    for (int i = 0; i < 2; i++) { /* pairs touching the invalid residue: sentinels */
        CHECK(PX(i, 2, 0) == 127 && PX(i, 2, 1) == 127 && PX(i, 2, 2) == 0);
        CHECK(PX(2, i, 0) == 255 && PX(2, i, 1) == 127 && PX(2, i, 2) == 0);
    }
#undef PX
}

/* Beyond 80 A a valid pair is a sentinel too. */
static void test_far_pair(void)
{
    float atom14[2 * 42], cb[6];
    for (int i = 0; i < 84; i++)
        atom14[i] = NAN;
    const float base[3][3] = {{0, 0, 0}, {1, 0, 0}, {1, 1, 0}};
    for (int s = 0; s < 3; s++)
        for (int k = 0; k < 3; k++) {
            atom14[s * 3 + k] = base[s][k];
            atom14[42 + s * 3 + k] = base[s][k] + (k == 0 ? 80.5f : 0.0f);
        }
    pd_virtual_cb(atom14, atom14 + 3, atom14 + 6, cb);
    pd_virtual_cb(atom14 + 42, atom14 + 45, atom14 + 48, cb + 3);
    uint8_t valid[2] = {1, 1}, img[12];
    pd_distogram(2, atom14, cb, valid, img);
    CHECK(img[3] == 127 && img[4] == 127 && img[5] == 0);
    CHECK(img[6] == 255 && img[7] == 127 && img[8] == 0);
}

int main(void)
{
    test_dihedral_and_angle();
    test_virtual_cb_and_frame();
    test_pixels();
    test_small_distogram();
    test_far_pair();
    return pd_test_finish("test_geometry");
}
