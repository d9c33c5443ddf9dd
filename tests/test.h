/* test.h — the few assertions C unit tests need. A test binary runs its checks, prints one
 * line per failure with file:line, and exits 0 (all passed) or 1; 77 means skipped. */
#ifndef PD_TEST_H
#define PD_TEST_H

#include <math.h>
#include <stdio.h>

extern int pd_test_failures;
extern int pd_test_checks;

#define CHECK(cond) do { pd_test_checks++; if (!(cond)) { pd_test_failures++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_MSG(cond, ...) do { pd_test_checks++; if (!(cond)) { pd_test_failures++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)
#define CHECK_NEAR(a, b, tol) do { double pd_a_ = (a), pd_b_ = (b); pd_test_checks++; \
    if (!(fabs(pd_a_ - pd_b_) <= (tol))) { pd_test_failures++; \
    fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s = %.9g vs %s = %.9g (tol %g)\n", __FILE__, __LINE__, \
            #a, pd_a_, #b, pd_b_, (double)(tol)); } } while (0)

/* Relative-or-absolute closeness: |a-b| <= atol + rtol*|b|. */
int pd_close(double a, double b, double rtol, double atol);
/* Print a summary and return the exit code for main(). */
int pd_test_finish(const char *name);

#endif
