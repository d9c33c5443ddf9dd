/* diffusion_backbone.h — one residue's backbone as the DiT's geometry (diffusion_geometry.h) and
 * environment (diffusion_environment.h) read it, so the two agree on what a usable backbone is:
 * N, CA, C (all finite, and the residue valid), O (CA when missing), the virtual Cβ and the
 * residue frame of SPEC §2 (features/geometry.h). */
#ifndef PD_MODELS_DIFFUSION_BACKBONE_H
#define PD_MODELS_DIFFUSION_BACKBONE_H

enum { PD_BB_ATOM_N, PD_BB_ATOM_CA, PD_BB_ATOM_C, PD_BB_ATOM_O, PD_BB_ATOM_CB, PD_BB_ATOMS };

typedef struct pd_backbone_residue {
    int ok;                        /* 0: no usable backbone, everything else zero */
    float atom[PD_BB_ATOMS][3];    /* N, CA, C, O (CA when missing), Cβ */
    float frame[9];                /* rows: the frame's axes x, y, z */
    float u[3];                    /* unit(Cβ − CA) */
} pd_backbone_residue;

/* From one residue's atom14 row ([14][3], slots N, CA, C, O first) and its valid flag. */
void pd_backbone_residue_from(const float *atom14, int valid, pd_backbone_residue *r);

#endif
