/* voxel_batch.h — the residues of a list of entries as the voxel stages (sc_vae, probe) use
 * them: each residue's divergence voxel as float, its amino-acid label and its global row id
 * (which keys rank-independent noise). Residues without a label (X) or with an empty voxel
 * (missing side chain) are left out, so the count is the number of residues that enter the loss. */
#ifndef PD_TRAIN_VOXEL_BATCH_H
#define PD_TRAIN_VOXEL_BATCH_H

#include <stdint.h>

#include "core/error.h"
#include "dataset/reader.h"
#include "train/stage.h"

typedef struct pd_voxel_batch {
    int64_t n;          /* residues kept */
    int voxel;          /* V */
    float *voxels;      /* [n, V^3] */
    int32_t *aa;        /* [n] 0..19 */
    uint64_t *row_ids;  /* [n] dataset residue rows */
    int64_t residues;   /* residues of the entries read (kept or not) */
} pd_voxel_batch;

/* The residues of entries[i], or only its residues [first[i], first[i] + len[i]) when first and
 * len are given (a long entry cut into micro-batches; residues keep their dataset row ids). */
pd_status pd_voxel_batch_read(pd_dataset *ds, const int64_t *entries, int64_t n_entries, const int32_t *first,
                              const int32_t *len, pd_voxel_batch *out);
void pd_voxel_batch_free(pd_voxel_batch *b);
/* Keep each residue with probability `keep` (>= 1: all), decided by the counter RNG keyed by
 * (seed, step, dataset row): residues drawn at random from many entries, and the same residues
 * whatever the rank count. At least one residue stays. train.residue_sample sets keep = residue_sample / batch_residues. */
void pd_voxel_batch_subsample(pd_voxel_batch *b, double keep, uint64_t seed, int64_t step);
/* The load/free hooks the voxel stages share: read the batch's entries (their residue ranges
 * when b->range_first is set) into b->data (a pd_voxel_batch), after checking the dataset's voxel size against the model's `voxel`. */
pd_status pd_voxel_stage_load(pd_dataset *ds, int voxel, pd_stage_batch *b);
void pd_voxel_stage_free(pd_stage_batch *b);

#endif
