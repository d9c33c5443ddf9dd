/* half.h — IEEE-754 binary16 arrays for the stored voxels (SPEC.md section 4), rounding to
 * nearest even as numpy's astype(float16). */
#ifndef PD_FEATURES_HALF_H
#define PD_FEATURES_HALF_H

#include <stdint.h>

#include "core/half.h" /* pd_f32_to_f16 / pd_f16_to_f32 per element */

/* n conversions; uses the F16C instruction when the CPU has it (same rounding, same bits). */
void pd_float_to_half_array(long n, const float *in, uint16_t *out);
/* Tests: 0 forces the portable conversion in pd_float_to_half_array, 1 restores the default. */
void pd_half_allow_f16c(int allowed);

#endif
