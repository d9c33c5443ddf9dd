/* distogram.h — the L x L x 3 uint8 distogram image of SPEC.md section 3 (compatible with the
 * structure-tokenizer research code, with its missing-atom bug fixed). */
#ifndef PD_FEATURES_DISTOGRAM_H
#define PD_FEATURES_DISTOGRAM_H

#include <stdint.h>

#define PD_DISTOGRAM_DMAX 80.0f

/* One normalised value in [-1, 1] to a pixel: (uint8) clip((x + 1) / 2 * 255, 0, 255) in
 * float32 (truncation, not rounding). */
uint8_t pd_distogram_pixel(float x);

/* Fill img[L*L*3] (row i, column j, channel) from the virtual C-beta cb[L*3], the atom14
 * coordinates (N, CA at slots 0 and 1) and valid[L] (nonzero = N, CA and C present).
 * Pairs on the diagonal, beyond 80 A or touching an invalid residue get the sentinel
 * (d = 80, omega = theta = phi = 0); a degenerate angle (coincident atoms) counts as 0. */
void pd_distogram(int L, const float *atom14, const float *cb, const uint8_t *valid, uint8_t *img);

#endif
