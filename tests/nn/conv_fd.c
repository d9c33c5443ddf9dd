/* conv_fd.c — finite-difference helpers for the conv/norm/upsample/VQ kernel tests; see
 * conv_fd.h. */
#include "conv_fd.h"

#include <math.h>
#include <stdio.h>

#include "core/rng.h"

int64_t fd_check(const char *what, double *param, int64_t n, const double *analytic, fd_loss_fn loss, void *ctx,
                 double h, double rtol, double atol)
{
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        const double saved = param[i];
        param[i] = saved + h;
        const double up = loss(ctx);
        param[i] = saved - h;
        const double down = loss(ctx);
        param[i] = saved;
        const double numeric = (up - down) / (2 * h);
        const double scale = fmax(fabs(analytic[i]), fabs(numeric));
        if (!(fabs(analytic[i] - numeric) <= atol + rtol * scale)) {
            if (bad < 5)
                fprintf(stderr, "  %s[%lld]: analytic %.12g vs numeric %.12g\n", what, (long long)i, analytic[i],
                        numeric);
            bad++;
        }
    }
    return bad;
}

void fd_fill(double *v, int64_t n, double lo, double hi, uint64_t seed, uint64_t stream)
{
    pd_rng r;
    pd_rng_init(&r, seed, 0, stream, PD_RNG_INIT);
    for (int64_t i = 0; i < n; i++) v[i] = lo + (hi - lo) * pd_rng_uniform(&r);
}

double fd_max_abs_diff(const double *a, const double *b, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

double fd_dot(const double *y, const double *w, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += y[i] * w[i];
    return s;
}
