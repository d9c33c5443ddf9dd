/* mds.h — from distances back to 3-D: classical multidimensional scaling of a distance matrix,
 * Kabsch-superposed RMSD (mirror images allowed, since distances cannot tell them apart), and
 * the structure check of a (reconstructed) distogram image against the true virtual Cβ. */
#ifndef PD_FEATURES_MDS_H
#define PD_FEATURES_MDS_H

#include <stdint.h>

#include "core/error.h"

/* Classical MDS: B = −½ J D⊙D J (J = I − 11ᵀ/n), coords[i*3 + k] = v_k[i]·sqrt(max(λ_k, 0)) for the
 * three largest eigenpairs (LAPACK dsyevr from OpenBLAS), λ_1 ≥ λ_2 ≥ λ_3 into eig (may be NULL).
 * dist: n×n row-major, symmetric, zero diagonal (Å). n ≥ 3. */
pd_status pd_mds(int n, const double *dist, double *coords, double eig[3]);

/* RMSD of a onto b (n×3 each) after removing centroids and the best rotation (Kabsch, via the
 * singular values of the 3×3 covariance). allow_mirror: the best orthogonal map including
 * reflections; *mirrored (may be NULL) = 1 when the reflection was the better one. */
double pd_kabsch_rmsd(int n, const double *a, const double *b, int allow_mirror, int *mirrored);

/* The Cβ distance matrix of a SPEC §3 distogram image (L×L×3 uint8): the R channel of the lower
 * triangle i > j, pixel p -> (p + 0.5)·80/255 Å (the middle of the truncation bin), capped at
 * 80; symmetric; zero diagonal. */
void pd_distogram_distances(const uint8_t *img, int L, double *dist);

typedef struct pd_structure_check {
    int residues;              /* valid residues used */
    int64_t pairs;             /* valid pairs i < j */
    double rmsd;               /* Cβ RMSD of the MDS coordinates vs the true Cβ, Kabsch, mirror allowed */
    int mirrored;              /* 1 if the MDS solution is the mirror image */
    double rmsd_proper;        /* the same without allowing the reflection */
    double frac_pairs_1a;      /* pairs with |d_MDS − d_true| < 1 Å */
    double frac_image_pairs_1a;/* pairs with |d_image − d_true| < 1 Å (before MDS) */
    double image_mae;          /* mean |d_image − d_true| over pairs with d_true < 80 Å */
} pd_structure_check;

/* img: a (reconstructed) distogram image of L residues; cb: the true virtual Cβ [L*3]; valid[L]
 * (nonzero = residue used; those with NaN Cβ are skipped too). Needs >= 4 valid residues. */
pd_status pd_distogram_structure_check(const uint8_t *img, int L, const float *cb, const uint8_t *valid,
                                       pd_structure_check *out);

#endif
