/* writer.h — the collective dataset writer (SPEC.md section 6). All ranks open one file
 * (MPI-IO), and each round every rank hands over what it featurized, tagged with the slot of
 * its input in the round's global (sorted) order. The writer exchanges the sizes, places each
 * input's entries, residues, distogram bytes and failures at their global offsets (so the
 * file's content does not depend on the number of ranks), extends the datasets and writes
 * them with collective transfers. The file is NAME.partial until pd_writer_finish. */
#ifndef PD_DATASET_WRITER_H
#define PD_DATASET_WRITER_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "features/entry.h"

typedef struct pd_dataset_params {
    int voxel_size;            /* V */
    double voxel_cell;         /* Angstrom */
    double distogram_dmax;     /* SPEC.md section 3: 80 */
    int compression;           /* gzip level for /voxels/divergence, 0 = none */
    size_t name_width;         /* bytes of the fixed-length /entries/name strings */
    size_t source_width;       /* bytes of /entries/source and /failed/source */
    const char *config_text;   /* effective run file, stored as the `config` attribute */
    const char *created_by;    /* "proteindiff 0.1.0" */
} pd_dataset_params;

/* What one rank produced from one input file in a round. */
typedef struct pd_file_output {
    int slot;                  /* position of the input in the round's global order, 0-based */
    const pd_entry *entries;
    int n_entries;
    const uint8_t *splits;     /* [n_entries]: 0 train, 1 valid, 2 test */
    const pd_failure *failures;
    int n_failures;
} pd_file_output;

typedef struct pd_dataset_totals {
    int64_t entries, residues, distogram_bytes, failures;
} pd_dataset_totals;

typedef struct pd_writer pd_writer;

/* Collective: create `path`.partial (truncating a stale one) with every dataset empty and the
 * root attributes set. */
pd_status pd_writer_create(pd_writer **w, const char *path, MPI_Comm comm, const pd_dataset_params *p);
/* Collective: every rank passes its outputs for this round (any order, possibly none); the
 * round has `n_slots` inputs in total and every slot is owned by at most one rank. */
/* Test hook: with the environment variable PD_DEBUG_FAIL_WRITE_RANK=N, rank N reports a failed
 * extend of /voxels/divergence in every round (after taking part in every collective call, as
 * with a real I/O error), so tests can prove that one rank's write failure ends every rank with
 * its message instead of a hang (tests/hardening/no_hang.sh). Unset in normal runs. */
pd_status pd_writer_write_round(pd_writer *w, int n_slots, const pd_file_output *outs, int n_outs);
/* What has been written so far (identical on every rank). */
pd_dataset_totals pd_writer_totals(const pd_writer *w);
/* Seconds spent in this rank's round calls: waiting for the other ranks to arrive (the size
 * exchange; load imbalance shows here) and in the HDF5 extend + collective writes. */
void pd_writer_seconds(const pd_writer *w, double *wait_s, double *io_s);
/* Collective: write `complete = 1`, close, and rename NAME.partial to NAME (rank 0). */
pd_status pd_writer_finish(pd_writer *w);
/* Collective: close without marking complete; NAME.partial stays for inspection. */
void pd_writer_abort(pd_writer *w);

#endif
