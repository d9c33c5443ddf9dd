/* geometry.c — SPEC.md section 2 formulas in float32, evaluated in the order written in
 * geometry.h (tests/reference/features_ref.py mirrors it with numpy float32). */
#include "features/geometry.h"

#include <math.h>

/* Contracting a*b+c into an FMA would change the last bit and with it distogram pixels. */
#pragma GCC optimize("fp-contract=off")

void pd_sub3(const float a[3], const float b[3], float out[3])
{
    out[0] = a[0] - b[0];
    out[1] = a[1] - b[1];
    out[2] = a[2] - b[2];
}

float pd_dot3(const float a[3], const float b[3])
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

float pd_norm3(const float a[3])
{
    return sqrtf(pd_dot3(a, a));
}

void pd_unit3(const float a[3], float out[3])
{
    float n = pd_norm3(a);
    if (n == 0.0f) {
        out[0] = out[1] = out[2] = 0.0f;
        return;
    }
    out[0] = a[0] / n;
    out[1] = a[1] / n;
    out[2] = a[2] / n;
}

void pd_cross3(const float a[3], const float b[3], float out[3])
{
    float x = a[1] * b[2] - a[2] * b[1];
    float y = a[2] * b[0] - a[0] * b[2];
    float z = a[0] * b[1] - a[1] * b[0];
    out[0] = x;
    out[1] = y;
    out[2] = z;
}

void pd_virtual_cb(const float n[3], const float ca[3], const float c[3], float cb[3])
{
    float b[3], cc[3], a[3];
    pd_sub3(ca, n, b);
    pd_sub3(c, ca, cc);
    pd_cross3(b, cc, a);
    for (int k = 0; k < 3; k++)
        cb[k] = -0.58273431f * a[k] + 0.56802827f * b[k] - 0.54067466f * cc[k] + ca[k];
}

void pd_residue_frame(const float n[3], const float ca[3], const float c[3], const float cb[3], float frame[9])
{
    float d[3], y[3], cn[3], x_raw[3], x[3], z[3];
    pd_sub3(cb, ca, d);
    pd_unit3(d, y);
    pd_sub3(c, n, cn);
    float p = pd_dot3(cn, y);
    for (int k = 0; k < 3; k++)
        x_raw[k] = cn[k] - p * y[k];
    pd_unit3(x_raw, x);
    pd_cross3(x, y, z);
    for (int k = 0; k < 3; k++) {
        frame[0 + k] = x[k];
        frame[3 + k] = y[k];
        frame[6 + k] = z[k];
    }
}

float pd_dihedral(const float a[3], const float b[3], const float c[3], const float d[3])
{
    float b0[3], cb[3], b1[3], b2[3], v[3], w[3], bv[3];
    pd_sub3(a, b, b0);
    pd_sub3(c, b, cb);
    pd_unit3(cb, b1);
    pd_sub3(d, c, b2);
    float p0 = pd_dot3(b0, b1), p2 = pd_dot3(b2, b1);
    for (int k = 0; k < 3; k++) {
        v[k] = b0[k] - p0 * b1[k];
        w[k] = b2[k] - p2 * b1[k];
    }
    pd_cross3(b1, v, bv);
    return atan2f(pd_dot3(bv, w), pd_dot3(v, w));
}

float pd_planar_angle(const float a[3], const float b[3], const float c[3])
{
    float ab[3], cb[3], u[3], w[3];
    pd_sub3(a, b, ab);
    pd_sub3(c, b, cb);
    pd_unit3(ab, u);
    pd_unit3(cb, w);
    float cosine = pd_dot3(u, w);
    if (cosine < -1.0f) cosine = -1.0f;
    if (cosine > 1.0f) cosine = 1.0f;
    return acosf(cosine);
}
