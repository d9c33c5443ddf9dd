/* h5file.h — the protocol every HDF5 file proteindiff writes follows, written once: create
 * NAME<suffix> for writing by every rank (a crash never leaves a file under the final name),
 * stamp it (format, version, created_by, the run file, complete = 0), finish it (every rank
 * agreed: complete = 1 last, close, rank 0 renames it to NAME), and open a file for reading
 * only when it has the expected format, version, complete marker and stage. The dataset,
 * latents, tokens and checkpoint files are written and checked with it. */
#ifndef PD_DATASET_H5FILE_H
#define PD_DATASET_H5FILE_H

#include <hdf5.h>
#include <mpi.h>

#include "core/error.h"

#define PD_H5_PARTIAL_SUFFIX ".partial"

/* Creation flags. Collective metadata: every rank makes the same metadata calls (creates,
 * opens, attribute writes) and HDF5 does them once; without it, ranks may open objects alone
 * (independent raw-data writes of a subset of ranks, as checkpoints do). */
enum { PD_H5_COLLECTIVE_METADATA = 1 };

typedef struct pd_h5_output {
    MPI_Comm comm;
    int rank;
    char *path;      /* the final name */
    char *partial;   /* path + suffix: the name while it is written */
    hid_t file;      /* open on every rank between create and finish */
} pd_h5_output;

/* Collective over comm: create (truncating a stale one) path + suffix with MPI-IO. Fails on
 * every rank naming the file when any rank cannot; o is then empty (nothing to finish). */
pd_status pd_h5_output_create(pd_h5_output *o, const char *path, const char *suffix, int flags, MPI_Comm comm);
/* The root attributes every format has: format, version, created_by, config (the effective
 * run file; skipped when NULL) and complete = 0. Collective. */
pd_status pd_h5_output_stamp(pd_h5_output *o, const char *format, long long version, const char *created_by,
                             const char *config_text);
/* Collective, after the caller closed its own objects in the file: agree on every rank's
 * `local`; when it is OK write complete = 1, close, and let rank 0 rename the partial file to
 * its final name. With a failing status the file is closed and left under its partial name.
 * Returns the agreed status; o is emptied either way. */
pd_status pd_h5_output_finish(pd_h5_output *o, pd_status local);
/* Close and forget without completing (error paths; not collective beyond the close). */
void pd_h5_output_abandon(pd_h5_output *o);

/* What a reader expects of a file. */
typedef struct pd_h5_expect {
    const char *format;    /* "proteindiff-latents" */
    long long version;
    const char *what;      /* for messages: "dataset", "latents file", "checkpoint" */
    const char *stage;     /* the root attribute `stage`; NULL: not checked */
    const char *remedy;    /* what an incomplete file needs ("run `proteindiff featurize` again");
                            * NULL: a generic sentence */
} pd_h5_expect;

/* Check an open file's root attributes: format, version, complete = 1 and stage. Fails with one
 * message style, "PATH: <what is wrong>, <what was expected>" (PD_ERR_FORMAT). */
pd_status pd_h5_verify(hid_t file, const char *path, const pd_h5_expect *e);
/* Open `path` serially read-only and verify it; *file = -1 on failure. HDF5's own error
 * printing is off; a file that cannot be opened fails with HDF5's innermost reason. */
pd_status pd_h5_open_verified(const char *path, const pd_h5_expect *e, hid_t *file);

#endif
