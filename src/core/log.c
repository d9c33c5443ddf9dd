/* log.c — rank-aware logging; see log.h. */
#include "core/log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
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
/* Redraw in place only on a real terminal. Under an MPI launcher a rank's stdout is a pty
 * (Open MPI forwards it) even when mpirun's output goes to a log file, so there plain lines
 * are the default; PD_PROGRESS=redraw or PD_PROGRESS=lines overrides either way. */
int pd_log_is_tty(void)
{
    const char *choice = getenv("PD_PROGRESS");
    if (choice && !strcmp(choice, "redraw")) return 1;
    if (choice && !strcmp(choice, "lines")) return 0;
    if (getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK")) return 0;
    return isatty(fileno(stdout));
}

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
