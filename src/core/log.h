/* log.h — one place that decides who prints: rank 0 by default, every rank with a "[rN]"
 * prefix under --verbose. Errors print on whichever rank has them. */
#ifndef PD_CORE_LOG_H
#define PD_CORE_LOG_H

#include <stdio.h>

typedef enum { PD_LOG_ERROR = 0, PD_LOG_WARN = 1, PD_LOG_INFO = 2, PD_LOG_DEBUG = 3 } pd_log_level;

void pd_log_init(int rank, int nranks, int verbose);
int pd_log_rank(void);
int pd_log_verbose(void);
/* Messages from rank 0 only (all ranks with --verbose). */
void pd_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pd_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Warnings and errors print on any rank, prefixed with the rank when there is more than one. */
void pd_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pd_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* True when progress may redraw one line in place: stdout is a terminal and we are not under
 * an MPI launcher (PD_PROGRESS=redraw|lines forces it); batch logs get plain lines. */
int pd_log_is_tty(void);

#endif
