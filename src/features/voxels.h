/* voxels.h — the per-residue side-chain divergence voxels of SPEC.md section 4: the unit
 * electric field of the residue's own heavy atoms (ff19SB united-atom charges) sampled on a
 * V^3 grid in the residue frame, and its divergence, stored as binary16. */
#ifndef PD_FEATURES_VOXELS_H
#define PD_FEATURES_VOXELS_H

#include <stdint.h>

#include "structure/charges.h"

/* Floats of scratch space pd_voxels_residue needs for a grid of side V. */
long pd_voxels_workspace_floats(int V);

/* The raw field on the grid in the residue frame: atoms at local coordinates (ax, ay, az)
 * with charges q; cell (i, j, k) sits at (cell*(i - V/2), cell*(j - V/4), cell*(k - V/2)).
 * E = sum q d / (|d| max(|d|, cell)^2), d = p - r; an atom exactly at p adds nothing.
 * ex/ey/ez[V^3] are overwritten; index ((i*V) + j)*V + k. This is the hot loop. */
void pd_voxel_field(int V, float cell, int n_atoms, const float *ax, const float *ay, const float *az,
                    const float *q, float *ex, float *ey, float *ez);

/* 1 when pd_voxel_field uses its AVX path for this V (x86 with AVX and V % 8 == 0); the
 * scalar path gives the same bits. */
int pd_voxel_field_simd(int V);
/* Tests and benchmarks: 0 forces the scalar path (process-wide), 1 restores the default. */
void pd_voxel_field_allow_simd(int allowed);

/* Normalise each cell's field (|E| < 1e-12 -> 0) and take the divergence with central
 * differences inside and one-sided ones on the faces (spacing cell), into div[V^3]. The
 * field arrays are overwritten with the unit vectors. */
void pd_voxel_divergence(int V, float cell, float *ex, float *ey, float *ez, float *div);

/* One residue: atom14[14*3] (NaN = missing), amino-acid index aa (X adds no charges), its
 * virtual CB and frame (geometry.h). Writes V^3 binary16 values to out. `work` holds
 * pd_voxels_workspace_floats(V) floats. */
void pd_voxels_residue(int V, float cell, const float *atom14, int aa, const float cb[3], const float frame[9],
                       const pd_charge_table *charges, float *work, uint16_t *out);

#endif
