/* geometry.h — backbone geometry of SPEC.md section 2 in float32 with a fixed order of
 * operations, so the distogram pixels (section 3) are reproducible bit for bit: virtual C-beta,
 * residue frame, dihedral and planar angle. Vectors are float[3]. */
#ifndef PD_FEATURES_GEOMETRY_H
#define PD_FEATURES_GEOMETRY_H

/* CB = -0.58273431*a + 0.56802827*b - 0.54067466*c + CA, b = CA - N, c = C - CA, a = b x c,
 * evaluated left to right in float32. */
void pd_virtual_cb(const float n[3], const float ca[3], const float c[3], float cb[3]);

/* Residue frame rows [x; y; z] (frame[0..2] = x-hat, ...): y = unit(CB - CA),
 * x = unit((C - N) - ((C - N).y) y), z = x cross y. Origin is CB (not stored here). */
void pd_residue_frame(const float n[3], const float ca[3], const float c[3], const float cb[3], float frame[9]);

/* atan2((b1 x v).w, v.w) with b0 = a - b, b1 = unit(c - b), b2 = d - c, v = b0 - (b0.b1) b1,
 * w = b2 - (b2.b1) b1. Radians in [-pi, pi]. */
float pd_dihedral(const float a[3], const float b[3], const float c[3], const float d[3]);

/* acos(clip(unit(a - b).unit(c - b), -1, 1)), radians in [0, pi]. */
float pd_planar_angle(const float a[3], const float b[3], const float c[3]);

/* Small helpers with the same fixed evaluation order. unit() of a zero vector is zero. */
float pd_dot3(const float a[3], const float b[3]);          /* (a0*b0 + a1*b1) + a2*b2 */
float pd_norm3(const float a[3]);                            /* sqrtf(dot(a, a)) */
void pd_unit3(const float a[3], float out[3]);               /* a / norm(a), per component */
void pd_cross3(const float a[3], const float b[3], float out[3]);
void pd_sub3(const float a[3], const float b[3], float out[3]);

#endif
