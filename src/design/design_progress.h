/* design_progress.h — the progress line of `design` over many structures: every rank tells rank
 * 0 (small point-to-point messages on a private communicator) each time it finishes a structure,
 * and rank 0 shows structures done, the rate and the ETA (core/progress.h) as the messages
 * arrive, also after its own share is done. */
#ifndef PD_DESIGN_DESIGN_PROGRESS_H
#define PD_DESIGN_DESIGN_PROGRESS_H

#include <mpi.h>
#include <stdint.h>

#include "core/error.h"
#include "core/progress.h"

typedef struct pd_design_progress {
    MPI_Comm comm;            /* a duplicate, so the messages never meet other traffic */
    int rank, size;
    pd_progress bar;          /* rank 0 */
    int64_t done, residues;   /* rank 0: global so far */
    int finished;             /* rank 0: ranks that said they are done */
    int64_t (*sent)[2];       /* other ranks: message buffers, alive until the sends complete */
    MPI_Request *req;
    int n_req, cap;
} pd_design_progress;

/* Collective. total: the structures this run designs (all ranks). */
pd_status pd_design_progress_start(pd_design_progress *p, MPI_Comm comm, int64_t total);
/* This rank finished one structure of `residues` residues. */
void pd_design_progress_step(pd_design_progress *p, int64_t residues);
/* Collective: this rank is done; rank 0 keeps showing progress until every rank is. */
void pd_design_progress_finish(pd_design_progress *p);

#endif
