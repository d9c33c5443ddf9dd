/* diffusion_geometry.h — backbone geometry the DiT reads when model.diffusion.geometry is
 * "backbone": per-residue features (backbone dihedrals, Cβ neighbour counts) and per-pair
 * features (Cβ–Cβ distance RBFs, the direction of j's Cβ in i's frame, the cosine between the
 * two CA→Cβ directions, the §5 relative-position class) for the padded [B, L, L] layout. They
 * are constants of the backbone (no gradient); the model turns the pair features into one
 * additive attention bias per head and block. Formulas: docs/models/diffusion.md, "Geometry". */
#ifndef PD_MODELS_DIFFUSION_GEOMETRY_H
#define PD_MODELS_DIFFUSION_GEOMETRY_H

#include <stdint.h>

/* per residue: sin/cos of φ, ψ, ω (0 where undefined), Cβ counts within 8, 10, 12 Å / 10 */
#define PD_DIFFUSION_GEO_NODE 9
/* per pair: 16 RBFs of the Cβ–Cβ distance (centres 2..22 Å, width 1.25 Å), the unit
 * direction of Cβ_j in residue i's frame (3), cos(CA→Cβ_i, CA→Cβ_j) (1) */
#define PD_DIFFUSION_GEO_PAIR 20
#define PD_DIFFUSION_GEO_RBF 16

/* Backbone of one padded batch: entry b's residues are rows offset[b]..offset[b+1] of atom14
 * [N, 14, 3] (N, CA, C = slots 0..2; NaN or a valid = 0 residue means no backbone) and chain
 * [N] (NULL: one chain). Rows are relative to offset[0]. */
typedef struct pd_diffusion_geo_input {
    int n_entries;
    const int64_t *offset;
    const float *atom14;
    const uint8_t *chain;
    const uint8_t *valid;      /* [N] or NULL */
} pd_diffusion_geo_input;

/* node [N, GEO_NODE] packed rows. */
void pd_diffusion_geo_nodes(const pd_diffusion_geo_input *in, float *node);
/* pair [B, L, L, GEO_PAIR] and relpos class [B, L, L] (PD_BB_RELPOS_* classes, 0..65) for the
 * padded layout with L >= the longest entry; padding pairs are zero / class 0. */
void pd_diffusion_geo_pairs(const pd_diffusion_geo_input *in, int64_t L, float *pair, int32_t *relpos);

#endif
