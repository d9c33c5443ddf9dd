/* error.c — the thread-local error message behind pd_fail(); see error.h. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char pd_msg[4096];

pd_status pd_fail(pd_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pd_msg, sizeof pd_msg, fmt, ap);
    va_end(ap);
    return code;
}

void pd_error_context(const char *fmt, ...)
{
    char prefix[1024], old[sizeof pd_msg - 1100];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t n = strnlen(pd_msg, sizeof old - 1);
    memcpy(old, pd_msg, n);
    old[n] = '\0';
    snprintf(pd_msg, sizeof pd_msg, "%s: %s", prefix, old);
}

const char *pd_last_error(void) { return pd_msg[0] ? pd_msg : "unknown error"; }
void pd_clear_error(void) { pd_msg[0] = '\0'; }

const char *pd_status_name(pd_status s)
{
    switch (s) {
    case PD_OK: return "ok";
    case PD_ERR: return "error";
    case PD_ERR_USAGE: return "usage error";
    case PD_ERR_CONFIG: return "run-file error";
    case PD_ERR_IO: return "I/O error";
    case PD_ERR_PARSE: return "parse error";
    case PD_ERR_FORMAT: return "format error";
    case PD_ERR_MPI: return "MPI error";
    case PD_ERR_NOMEM: return "out of memory";
    case PD_ERR_UNSUPPORTED: return "unsupported";
    case PD_ERR_NOT_IMPLEMENTED: return "not implemented";
    case PD_ERR_INTERRUPTED: return "interrupted";
    }
    return "error";
}

int pd_exit_code(pd_status s)
{
    switch (s) {
    case PD_OK: return 0;
    case PD_ERR_USAGE: return 2;
    case PD_ERR_CONFIG: return 3;
    case PD_ERR_NOT_IMPLEMENTED: return 4;
    case PD_ERR_INTERRUPTED: return 130;
    default: return 1;
    }
}

void *pd_malloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) pd_fail(PD_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
    return p;
}

void *pd_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) pd_fail(PD_ERR_NOMEM, "out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

void *pd_realloc(void *p, size_t bytes)
{
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q) pd_fail(PD_ERR_NOMEM, "out of memory growing a buffer to %zu bytes", bytes);
    return q;
}

char *pd_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = pd_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}
