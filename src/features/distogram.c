/* distogram.c — SPEC.md section 3: distance, omega, theta and phi between virtual C-betas,
 * normalised and truncated to uint8 in float32, exactly as the research code's images. */
#include "features/distogram.h"

#include <math.h>
#include <stddef.h>

#include "features/geometry.h"
#include "structure/residues.h"

/* Contracting a*b+c into an FMA would change the last bit and with it some pixels. */
#pragma GCC optimize("fp-contract=off")

static const float pi_f = 3.14159265358979323846f;

uint8_t pd_distogram_pixel(float x)
{
    float v = (x + 1.0f) / 2.0f * 255.0f;
    if (!(v >= 0.0f)) /* also NaN */
        v = 0.0f;
    if (v > 255.0f)
        v = 255.0f;
    return (uint8_t)v;
}

static float finite_or_zero(float x)
{
    return isfinite(x) ? x : 0.0f;
}

void pd_distogram(int L, const float *atom14, const float *cb, const uint8_t *valid, uint8_t *img)
{
    for (int i = 0; i < L; i++) {
        const float *n_i = atom14 + (size_t)i * PD_SLOTS * 3;
        const float *ca_i = n_i + 3;
        const float *cb_i = cb + (size_t)i * 3;
        for (int j = 0; j < L; j++) {
            const float *ca_j = atom14 + (size_t)j * PD_SLOTS * 3 + 3;
            const float *cb_j = cb + (size_t)j * 3;
            float dist = PD_DISTOGRAM_DMAX, omega = 0.0f, theta = 0.0f, phi = 0.0f;
            if (i != j && valid[i] && valid[j]) {
                float diff[3];
                pd_sub3(cb_j, cb_i, diff);
                float d = pd_norm3(diff);
                if (d <= PD_DISTOGRAM_DMAX) {
                    dist = d;
                    if (i < j) /* omega is only drawn above the diagonal */
                        omega = finite_or_zero(pd_dihedral(ca_i, cb_i, cb_j, ca_j));
                    theta = finite_or_zero(pd_dihedral(n_i, ca_i, cb_i, cb_j));
                    phi = finite_or_zero(pd_planar_angle(ca_i, cb_i, cb_j));
                }
            }
            uint8_t *px = img + ((size_t)i * L + j) * 3;
            float red = i < j ? omega / pi_f : dist / PD_DISTOGRAM_DMAX * 2.0f - 1.0f;
            px[0] = pd_distogram_pixel(red);
            px[1] = pd_distogram_pixel(theta / pi_f);
            px[2] = pd_distogram_pixel(phi / pi_f * 2.0f - 1.0f);
        }
    }
}
