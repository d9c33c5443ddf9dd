/* comm.c — MPI start-up, failure agreement and small broadcast helpers; see comm.h. */
#include "parallel/comm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

static int world_rank = 0, world_size = 1, we_initialized = 0, error_agreed = 0;

int pd_error_agreed(void) { return error_agreed; }

pd_status pd_mpi_init(int *argc, char ***argv)
{
    int inited = 0, provided = 0;
    MPI_Initialized(&inited);
    if (!inited) {
        if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
            return pd_fail(PD_ERR_MPI, "MPI_Init_thread failed");
        we_initialized = 1;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    return PD_OK;
}

void pd_mpi_finalize(void)
{
    int fin = 0;
    MPI_Finalized(&fin);
    if (we_initialized && !fin) MPI_Finalize();
}

int pd_world_rank(void) { return world_rank; }
int pd_world_size(void) { return world_size; }

const char *pd_mpi_error_string(int code)
{
    static char buf[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, buf, &len) != MPI_SUCCESS) snprintf(buf, sizeof buf, "MPI error %d", code);
    return buf;
}

pd_status pd_agree(MPI_Comm comm, pd_status local)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    /* The lowest failing rank speaks for everyone. */
    int mine = local != PD_OK ? rank : size, first = size;
    if (MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm) != MPI_SUCCESS) {
        pd_fail(PD_ERR_MPI, "MPI_Allreduce failed while agreeing on errors");
        pd_abort_all(PD_ERR_MPI);
    }
    if (first == size) return PD_OK;
    int code = (int)local;
    char *msg = NULL;
    if (rank == first) msg = strdup(pd_last_error());
    MPI_Bcast(&code, 1, MPI_INT, first, comm);
    pd_bcast_string(comm, &msg, first);
    if (size > 1) pd_fail((pd_status)code, "rank %d: %s", first, msg ? msg : "failed");
    else pd_fail((pd_status)code, "%s", msg ? msg : "failed");
    free(msg);
    error_agreed = 1;
    return (pd_status)code;
}

void pd_abort_all(pd_status s)
{
    fprintf(stderr, "[r%d] error: %s (aborting all ranks)\n", world_rank, pd_last_error());
    fflush(stderr);
    int inited = 0, fin = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&fin);
    if (inited && !fin) MPI_Abort(MPI_COMM_WORLD, pd_exit_code(s) ? pd_exit_code(s) : 1);
    exit(pd_exit_code(s) ? pd_exit_code(s) : 1);
}

pd_status pd_bcast_string(MPI_Comm comm, char **s, int root)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    long long len = -1;
    if (rank == root && *s) len = (long long)strlen(*s);
    if (MPI_Bcast(&len, 1, MPI_LONG_LONG, root, comm) != MPI_SUCCESS)
        return pd_fail(PD_ERR_MPI, "MPI_Bcast of a string length failed");
    if (len < 0) {
        if (rank != root) *s = NULL;
        return PD_OK;
    }
    if (rank != root) {
        *s = malloc((size_t)len + 1);
        if (!*s) return pd_fail(PD_ERR_NOMEM, "out of memory receiving %lld bytes", len);
    }
    /* Large strings go in chunks below INT_MAX. */
    for (long long off = 0; off < len;) {
        int n = (int)(len - off > (1 << 30) ? (1 << 30) : len - off);
        if (MPI_Bcast(*s + off, n, MPI_CHAR, root, comm) != MPI_SUCCESS)
            return pd_fail(PD_ERR_MPI, "MPI_Bcast of a string failed");
        off += n;
    }
    (*s)[len] = '\0';
    return PD_OK;
}
