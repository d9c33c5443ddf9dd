/* log.c — rank-aware logging; see log.h. */
#include "core/log.h"

#include <stdarg.h>
#include <unistd.h>

static int log_rank = 0, log_nranks = 1, log_verbose = 0;

void pd_log_init(int rank, int nranks, int verbose)
{
    log_rank = rank;
    log_nranks = nranks;
    log_verbose = verbose;
}

int pd_log_rank(void) { return log_rank; }
int pd_log_verbose(void) { return log_verbose; }
int pd_log_is_tty(void) { return isatty(fileno(stdout)); }

static void emit(FILE *f, const char *tag, const char *fmt, va_list ap)
{
    char line[8192];
    vsnprintf(line, sizeof line, fmt, ap);
    if (log_nranks > 1 && (log_verbose || f == stderr))
        fprintf(f, "[r%d] %s%s\n", log_rank, tag, line);
    else
        fprintf(f, "%s%s\n", tag, line);
    fflush(f);
}

void pd_info(const char *fmt, ...)
{
    if (log_rank != 0 && !log_verbose) return;
    va_list ap;
    va_start(ap, fmt);
    emit(stdout, "", fmt, ap);
    va_end(ap);
}

void pd_debug(const char *fmt, ...)
{
    if (!log_verbose) return;
    va_list ap;
    va_start(ap, fmt);
    emit(stdout, "debug: ", fmt, ap);
    va_end(ap);
}

void pd_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(stderr, "warning: ", fmt, ap);
    va_end(ap);
}

void pd_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(stderr, "error: ", fmt, ap);
    va_end(ap);
}
