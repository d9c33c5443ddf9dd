/* comm.h — MPI start-up and the collective failure path. Any command works as a single
 * process (MPI singleton) and under mpirun/srun. Ranks agree on failure at collective points
 * (pd_agree), so one rank's error ends every rank cleanly with that rank's message instead of
 * a hang; pd_abort_all is the last resort where agreement is impossible. */
#ifndef PD_PARALLEL_COMM_H
#define PD_PARALLEL_COMM_H

#include <mpi.h>

#include "core/error.h"

pd_status pd_mpi_init(int *argc, char ***argv);
void pd_mpi_finalize(void);
int pd_world_rank(void);
int pd_world_size(void);

/* Collective over `comm`: every rank passes its local status; all return PD_OK, or all
 * return the first failing rank's status with its message prefixed "rank N: ". */
pd_status pd_agree(MPI_Comm comm, pd_status local);
/* True when the current error came out of pd_agree (every rank holds it). */
int pd_error_agreed(void);
/* Print the current error on this rank and abort the whole job (never hangs). */
void pd_abort_all(pd_status s) __attribute__((noreturn));
/* Broadcast a NUL-terminated string from `root`; *s is malloc'd on the receivers. A NULL
 * string on the root is sent as NULL. */
pd_status pd_bcast_string(MPI_Comm comm, char **s, int root);
/* Describe an MPI error code as a message (for pd_fail). */
const char *pd_mpi_error_string(int code);

#endif
