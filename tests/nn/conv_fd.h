/* conv_fd.h — finite differences for the raw-kernel tests of the conv/norm/upsample/VQ ops:
 * central differences of a scalar loss computed by an independent naive double-precision
 * reference, compared against a kernel's analytic gradient, plus seeded random fills. */
#ifndef PD_TEST_CONV_FD_H
#define PD_TEST_CONV_FD_H

#include <stdint.h>

/* Loss of the naive reference at the current contents of the arrays `ctx` points to. */
typedef double (*fd_loss_fn)(void *ctx);

/* For every i < n: numeric = (L(p_i + h) − L(p_i − h)) / 2h, restoring p_i afterwards.
 * Counts elements with |analytic − numeric| > atol + rtol·max(|analytic|, |numeric|), prints
 * the first few as "<what>[i]: analytic vs numeric", and returns the count (0 = all agree). */
int64_t fd_check(const char *what, double *param, int64_t n, const double *analytic, fd_loss_fn loss, void *ctx,
                 double h, double rtol, double atol);

/* Uniform values in [lo, hi) from the counter RNG (seed, stream). */
void fd_fill(double *v, int64_t n, double lo, double hi, uint64_t seed, uint64_t stream);
/* Largest |a − b| over n values. */
double fd_max_abs_diff(const double *a, const double *b, int64_t n);
/* Σ y·w: the loss shape all tests use (w fixed random weights). */
double fd_dot(const double *y, const double *w, int64_t n);

#endif
