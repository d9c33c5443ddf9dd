/* bench_clock.h — the clock the stage benchmarks time a step with: wall time, or with
 * BENCH_CLOCK=cpu the process's CPU time (user + system of all its threads), which a loaded
 * shared machine disturbs far less at one thread (tools/bench/bench-stages). */
#ifndef PD_BENCH_CLOCK_H
#define PD_BENCH_CLOCK_H

#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double bench_clock(void)
{
    static int cpu = -1;
    if (cpu < 0) {
        const char *e = getenv("BENCH_CLOCK");
        cpu = e && strcmp(e, "cpu") == 0;
    }
    struct timespec t;
    clock_gettime(cpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#endif
