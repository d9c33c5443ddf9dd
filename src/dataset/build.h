/* build.h — the featurize run as a library call (the CLI only parses arguments): expand and
 * balance the inputs, featurize in rounds of featurize.files_per_round files per rank, write
 * every round collectively, mark the file complete, rename it, and summarise. */
#ifndef PD_DATASET_BUILD_H
#define PD_DATASET_BUILD_H

#include <mpi.h>
#include <stdint.h>

#include "core/config.h"
#include "core/error.h"

typedef struct pd_build_summary {
    int skipped;               /* the dataset was already complete: nothing was done */
    int64_t files, entries, residues, failures;
    double seconds;
    int64_t bytes_on_disk;
} pd_build_summary;

/* Collective over `comm`. `force` rebuilds a complete dataset. `created_by` goes into the
 * file. Fails (non-OK on every rank) on errors, and when no usable entry came out. */
pd_status pd_dataset_build(const pd_config *cfg, MPI_Comm comm, int force, const char *created_by,
                           pd_build_summary *summary);

#endif
