/* progress.c — rate and ETA lines for long work; see progress.h. */
#include "core/progress.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/timer.h"

void pd_progress_start(pd_progress *p, const char *what, int64_t total, int enabled)
{
    memset(p, 0, sizeof *p);
    snprintf(p->what, sizeof p->what, "%s", what);
    p->total = total;
    p->t_start = p->t_last_print = pd_now();
    p->tty = enabled && pd_log_is_tty();
    p->interval = p->tty ? 0.2 : 10.0;
    p->enabled = enabled;
}

double pd_progress_rate(const pd_progress *p)
{
    double dt = pd_now() - p->t_start;
    return dt > 0 ? (double)p->done / dt : 0.0;
}

static void print_line(pd_progress *p, const char *extra, int final)
{
    char eta[32], el[32];
    double rate = pd_progress_rate(p);
    double elapsed = pd_now() - p->t_start;
    pd_format_duration(elapsed, el, sizeof el);
    if (rate > 0 && p->total > p->done) pd_format_duration((double)(p->total - p->done) / rate, eta, sizeof eta);
    else snprintf(eta, sizeof eta, "0s");
    double pct = p->total > 0 ? 100.0 * (double)p->done / (double)p->total : 100.0;
    char line[512];
    snprintf(line, sizeof line, "%s %lld/%lld (%5.1f%%)  %.2f %s/s  elapsed %s  ETA %s%s%s",
             p->what, (long long)p->done, (long long)p->total, pct, rate, p->what, el, final ? "-" : eta,
             extra && *extra ? "  " : "", extra ? extra : "");
    if (p->tty) {
        printf("\r\033[K%s%s", line, final ? "\n" : "");
    } else {
        printf("%s\n", line);
    }
    fflush(stdout);
}

void pd_progress_update(pd_progress *p, int64_t done, const char *extra)
{
    p->done = done;
    if (!p->enabled) return;
    double t = pd_now();
    if (t - p->t_last_print < p->interval && done < p->total) return;
    p->t_last_print = t;
    print_line(p, extra, 0);
}

void pd_progress_finish(pd_progress *p, const char *extra)
{
    if (!p->enabled) return;
    /* In a log, the update that reached the total always prints; do not repeat that line. */
    if (!p->tty && p->total > 0 && p->done == p->total && !(extra && *extra)) return;
    print_line(p, extra, 1);
}
