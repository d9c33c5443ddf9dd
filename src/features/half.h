/* half.h — IEEE-754 binary16 conversion for the stored voxels (SPEC.md section 4): float to
 * half with round-to-nearest-even (as numpy's astype(float16)), and back. */
#ifndef PD_FEATURES_HALF_H
#define PD_FEATURES_HALF_H

#include <stdint.h>

uint16_t pd_float_to_half(float f);
float pd_half_to_float(uint16_t h);
/* n conversions; uses the F16C instruction when the CPU has it (same rounding, same bits). */
void pd_float_to_half_array(long n, const float *in, uint16_t *out);
/* Tests: 0 forces the portable conversion in pd_float_to_half_array, 1 restores the default. */
void pd_half_allow_f16c(int allowed);

#endif
