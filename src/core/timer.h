/* timer.h — wall-clock seconds from a monotonic clock, for rates, ETAs and benchmarks. */
#ifndef PD_CORE_TIMER_H
#define PD_CORE_TIMER_H

double pd_now(void);
/* "1h02m", "3m07s", "12.4s": durations people read. */
void pd_format_duration(double seconds, char *buf, int len);

#endif
