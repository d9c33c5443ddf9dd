/* run_common.h — the MPI plumbing `design` and `score` share: a growing text buffer, gathering
 * every rank's bytes to rank 0 in rank order, writing a file through NAME.tmp + rename, and
 * expanding --structure on rank 0 into a list every rank holds, with the structures still to do
 * cut into contiguous, size-balanced runs per rank. */
#ifndef PD_DESIGN_RUN_COMMON_H
#define PD_DESIGN_RUN_COMMON_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "dataset/inputs.h"

typedef struct pd_text {
    char *s;
    size_t len, cap;
    int failed;            /* an allocation failed; later adds are ignored */
} pd_text;

void pd_text_add(pd_text *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pd_text_add_bytes(pd_text *b, const void *bytes, size_t n);
void pd_text_free(pd_text *b);

/* Collective: rank 0 gets every rank's bytes concatenated in rank order (*all malloc'd, NUL
 * added after the end); other ranks get nothing. */
pd_status pd_gather_bytes(MPI_Comm comm, const pd_text *mine, char **all, size_t *all_len);

/* Write `len` bytes to `path` via `path`.tmp + rename ("-" = standard output). */
pd_status pd_write_file_atomic(const char *path, const char *bytes, size_t len);

/* Collective. Rank 0 expands `pattern` (a file, folder, list file or glob; none found is an
 * error naming it); skip (rank 0 only, may be NULL) is called with the list and fills done[i] = 1
 * for structures that need no work; the other structures are cut into contiguous runs
 * balanced by file size. Every rank gets the list, owner[i] (the rank, -1 when done) and done. */
typedef pd_status (*pd_skip_fn)(const pd_input_list *list, uint8_t *done, void *arg);
pd_status pd_structures_share(const char *pattern, MPI_Comm comm, pd_skip_fn skip, void *skip_arg, pd_input_list *list,
                              int **owner, uint8_t **done);

#endif
