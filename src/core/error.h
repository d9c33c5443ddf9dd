/* error.h — errors are values: every fallible function returns a pd_status and leaves a
 * message (what, where, what to do) in a thread-local buffer that the caller can read,
 * extend with context, or pass to the collective failure path (parallel/comm.h). */
#ifndef PD_CORE_ERROR_H
#define PD_CORE_ERROR_H

#include <stddef.h>

typedef enum pd_status {
    PD_OK = 0,
    PD_ERR = 1,             /* generic failure */
    PD_ERR_USAGE,           /* bad command line */
    PD_ERR_CONFIG,          /* bad run file or --set override */
    PD_ERR_IO,              /* cannot open/read/write a file */
    PD_ERR_PARSE,           /* malformed input data */
    PD_ERR_FORMAT,          /* an HDF5 file that is not what it claims to be */
    PD_ERR_MPI,             /* a collective failed or another rank failed */
    PD_ERR_NOMEM,           /* allocation failed */
    PD_ERR_UNSUPPORTED,     /* valid request we cannot serve (e.g. no GPU) */
    PD_ERR_NOT_IMPLEMENTED, /* a feature that has not landed yet */
    PD_ERR_INTERRUPTED      /* SIGTERM/SIGINT asked us to stop */
} pd_status;

/* Record a message and return `code`, so call sites read `return pd_fail(PD_ERR_IO, ...)`. */
pd_status pd_fail(pd_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prepend context to the current message: "reading x.pdb: <old message>". */
void pd_error_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *pd_last_error(void);
void pd_clear_error(void);
const char *pd_status_name(pd_status s);
/* Exit code a command should return for a status (0 for PD_OK). */
int pd_exit_code(pd_status s);

/* Allocation helpers that record PD_ERR_NOMEM with the size on failure. */
void *pd_malloc(size_t bytes);
void *pd_calloc(size_t n, size_t size);
void *pd_realloc(void *p, size_t bytes);
char *pd_strdup(const char *s);

#define PD_TRY(expr) do { pd_status pd_try_s_ = (expr); if (pd_try_s_ != PD_OK) return pd_try_s_; } while (0)

#endif
