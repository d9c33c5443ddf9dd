/* run_common.c — shared MPI plumbing of `design` and `score` (run_common.h). */
#include "design/run_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parallel/comm.h"

static int text_reserve(pd_text *b, size_t more)
{
    if (b->failed) return 0;
    if (b->len + more + 1 <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 4096;
    while (b->len + more + 1 > cap) cap *= 2;
    char *g = realloc(b->s, cap);
    if (!g) {
        b->failed = 1;
        return 0;
    }
    b->s = g;
    b->cap = cap;
    return 1;
}

void pd_text_add(pd_text *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n >= 0 && text_reserve(b, (size_t)n)) {
        vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void pd_text_add_bytes(pd_text *b, const void *bytes, size_t n)
{
    if (!n || !text_reserve(b, n)) return;
    memcpy(b->s + b->len, bytes, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void pd_text_free(pd_text *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

pd_status pd_gather_bytes(MPI_Comm comm, const pd_text *mine, char **all, size_t *all_len)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    *all = NULL;
    *all_len = 0;
    long long n = (long long)mine->len;
    long long *lens = rank == 0 ? pd_calloc((size_t)size, sizeof *lens) : NULL;
    MPI_Gather(&n, 1, MPI_LONG_LONG, lens, 1, MPI_LONG_LONG, 0, comm);
    int *counts = NULL, *displs = NULL;
    pd_status st = PD_OK;
    if (rank == 0) {
        counts = pd_calloc((size_t)size, sizeof *counts);
        displs = pd_calloc((size_t)size, sizeof *displs);
        long long total = 0;
        for (int r = 0; lens && counts && displs && r < size; r++) {
            if (total + lens[r] > 2000000000LL) st = pd_fail(PD_ERR_UNSUPPORTED, "more than 2 GB of output gathered in one run");
            displs[r] = (int)total;
            counts[r] = (int)lens[r];
            total += lens[r];
        }
        *all = pd_malloc((size_t)total + 1);
        *all_len = (size_t)total;
        if (!*all || !counts || !displs || !lens) st = PD_ERR_NOMEM;
        else (*all)[total] = '\0';
    }
    st = pd_agree(comm, st);
    if (st == PD_OK)
        MPI_Gatherv(mine->s ? mine->s : "", (int)mine->len, MPI_CHAR, rank == 0 ? *all : NULL, counts, displs, MPI_CHAR, 0, comm);
    free(lens);
    free(counts);
    free(displs);
    if (st != PD_OK) {
        free(*all);
        *all = NULL;
    }
    return st;
}

pd_status pd_write_file_atomic(const char *path, const char *bytes, size_t len)
{
    if (!strcmp(path, "-")) {
        fwrite(bytes, 1, len, stdout);
        fflush(stdout);
        return PD_OK;
    }
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return pd_fail(PD_ERR_IO, "cannot write %s (does the folder exist?)", tmp);
    int bad = fwrite(bytes, 1, len, f) != len;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return pd_fail(PD_ERR_IO, "cannot write %s", path);
    }
    return PD_OK;
}

pd_status pd_structures_share(const char *pattern, MPI_Comm comm, pd_skip_fn skip, void *skip_arg, pd_input_list *list,
                              int **owner, uint8_t **done)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    memset(list, 0, sizeof *list);
    *owner = NULL;
    *done = NULL;
    pd_status st = PD_OK;
    if (rank == 0) {
        char *patterns[1] = {(char *)pattern};
        st = pd_inputs_expand(1, patterns, list);
        if (st == PD_OK && list->n == 0) st = pd_fail(PD_ERR_USAGE, "--structure %s: no structure file found", pattern);
        if (st == PD_OK) {
            *owner = pd_calloc((size_t)list->n + 1, sizeof **owner);
            *done = pd_calloc((size_t)list->n + 1, 1);
            int64_t *work = pd_calloc((size_t)list->n + 1, sizeof *work);
            int *sub_owner = pd_calloc((size_t)list->n + 1, sizeof *sub_owner);
            int *index = pd_calloc((size_t)list->n + 1, sizeof *index);
            if (!*owner || !*done || !work || !sub_owner || !index) st = PD_ERR_NOMEM;
            if (st == PD_OK && skip) st = skip(list, *done, skip_arg);
            if (st == PD_OK) {
                int m = 0;
                for (int i = 0; i < list->n; i++) {
                    (*owner)[i] = -1;
                    if ((*done)[i]) continue;
                    index[m] = i;
                    work[m++] = list->items[i].work;
                }
                if (m) pd_inputs_partition(work, m, size, sub_owner);
                for (int k = 0; k < m; k++) (*owner)[index[k]] = sub_owner[k];
            }
            free(work);
            free(sub_owner);
            free(index);
        }
    }
    st = pd_agree(comm, st);
    if (st == PD_OK) st = pd_inputs_bcast(comm, list, owner, 0);
    if (st == PD_OK) {
        int n = list->n;
        if (rank != 0) *done = pd_calloc((size_t)n + 1, 1);
        st = pd_agree(comm, *done ? PD_OK : PD_ERR_NOMEM);
        if (st == PD_OK) MPI_Bcast(*done, n, MPI_UNSIGNED_CHAR, 0, comm);
    }
    if (st != PD_OK) {
        pd_inputs_free(list);
        free(*owner);
        free(*done);
        *owner = NULL;
        *done = NULL;
    }
    return st;
}
