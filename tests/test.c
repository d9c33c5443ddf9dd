/* test.c — counters and the summary line behind tests/test.h. */
#include "test.h"

#include <math.h>

int pd_test_failures = 0;
int pd_test_checks = 0;

int pd_close(double a, double b, double rtol, double atol) { return fabs(a - b) <= atol + rtol * fabs(b); }

int pd_test_finish(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, pd_test_checks, pd_test_failures);
    return pd_test_failures ? 1 : 0;
}
