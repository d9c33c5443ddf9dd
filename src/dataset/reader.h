/* reader.h — opening a dataset file for every later stage (train, design, export, inspect).
 * Open validates the format, version, completeness and every offset and shape against each
 * other, so a corrupt or truncated file is refused with a message naming the file and the
 * problem instead of being read out of bounds. Entries are then read by index. */
#ifndef PD_DATASET_READER_H
#define PD_DATASET_READER_H

#include <mpi.h>
#include <stdint.h>

#include "core/error.h"
#include "features/entry.h"

typedef struct pd_dataset pd_dataset;

typedef struct pd_entry_info {
    const char *name;          /* owned by the dataset */
    const char *source;        /* owned by the dataset */
    int32_t length;
    int64_t residue_offset;    /* first row in the /residues and /voxels datasets */
    int64_t distogram_offset;  /* first byte in /distograms/data */
    uint8_t split;             /* 0 train, 1 valid, 2 test */
} pd_entry_info;

/* Open `path` read-only; `comm` = MPI_COMM_NULL opens it serially (one process), otherwise
 * every rank of `comm` opens it collectively (MPI-IO) and later reads are independent. */
pd_status pd_dataset_open(pd_dataset **ds, const char *path, MPI_Comm comm);
void pd_dataset_close(pd_dataset *ds);

const char *pd_dataset_path(const pd_dataset *ds);
int64_t pd_dataset_n_entries(const pd_dataset *ds);
int64_t pd_dataset_n_residues(const pd_dataset *ds);
int64_t pd_dataset_distogram_bytes(const pd_dataset *ds);
int64_t pd_dataset_n_failures(const pd_dataset *ds);
int pd_dataset_voxel_size(const pd_dataset *ds);
double pd_dataset_voxel_cell(const pd_dataset *ds);
double pd_dataset_distogram_dmax(const pd_dataset *ds);
const char *pd_dataset_config_text(const pd_dataset *ds);
const char *pd_dataset_created_by(const pd_dataset *ds);

pd_status pd_dataset_entry_info(const pd_dataset *ds, int64_t index, pd_entry_info *out);
/* Every array of entry `index` (allocated; release with pd_entry_free). */
pd_status pd_dataset_read_entry(pd_dataset *ds, int64_t index, pd_entry *out);
/* Only the L*L*3 distogram image of entry `index` into `out`. */
pd_status pd_dataset_read_distogram(pd_dataset *ds, int64_t index, uint8_t *out);
/* Only the amino-acid and chain indices (L each) of entry `index`. */
pd_status pd_dataset_read_sequence(pd_dataset *ds, int64_t index, uint8_t *aa, uint8_t *chain);
/* Only the atom14 coordinates (L*14*3 floats, NaN where missing) of entry `index`. */
pd_status pd_dataset_read_atom14(pd_dataset *ds, int64_t index, float *out);
/* Voxels of residue rows [first, first + count) as float16 bits (count*V^3 values). */
pd_status pd_dataset_read_voxels(pd_dataset *ds, int64_t first, int64_t count, uint16_t *out);
/* The i-th skipped input or chain (strings owned by the dataset). */
pd_status pd_dataset_failure(const pd_dataset *ds, int64_t index, const char **source, const char **reason);

#endif
