/* timer.c — monotonic wall clock and human-readable durations. */
#include "core/timer.h"

#include <stdio.h>
#include <time.h>

double pd_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void pd_format_duration(double s, char *buf, int len)
{
    if (s < 0 || s != s) s = 0;
    if (s < 60) snprintf(buf, len, "%.1fs", s);
    else if (s < 3600) snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else snprintf(buf, len, "%dh%02dm", (int)(s / 3600), ((int)s % 3600) / 60);
}
