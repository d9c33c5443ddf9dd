/* progress.h — what long work shows on rank 0: done/total, rate and ETA. On a terminal it
 * redraws one line; in a batch log it prints a plain line at most every `interval` seconds. */
#ifndef PD_CORE_PROGRESS_H
#define PD_CORE_PROGRESS_H

#include <stdint.h>

typedef struct pd_progress {
    char what[64];      /* "files", "steps" */
    int64_t total;
    int64_t done;
    double t_start, t_last_print;
    double interval;    /* seconds between plain lines (batch logs) */
    int tty;
    int enabled;        /* rank 0 only */
} pd_progress;

void pd_progress_start(pd_progress *p, const char *what, int64_t total, int enabled);
/* Report `done` items; `extra` (may be NULL) is appended, e.g. "loss 1.234". */
void pd_progress_update(pd_progress *p, int64_t done, const char *extra);
void pd_progress_finish(pd_progress *p, const char *extra);
double pd_progress_rate(const pd_progress *p);

#endif
