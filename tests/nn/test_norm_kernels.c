/* test_norm_kernels.c — GroupNorm, BatchNorm (train and eval, running statistics) and bilinear
 * upsampling kernels (double build) against direct-definition loops and central differences,
 * and a deliberately wrong normalisation gradient being caught. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conv_fd.h"
#include "nn/norm_kernels.h"
#include "nn/upsample_kernels.h"
#include "test.h"

/* ---- definitions -------------------------------------------------------------------------------- */

/* Normalise every (set of) values sharing a statistic: group (n, g) for GroupNorm (groups > 0),
 * channel c over the batch for BatchNorm (groups = 0); two-pass mean and biased variance. */
static void naive_norm(const double *x, int64_t N, int64_t C, int64_t S, int64_t groups, const double *gamma,
                       const double *beta, double eps, double *y)
{
    const int64_t sets = groups ? N * groups : C;
    for (int64_t t = 0; t < sets; t++) {
        double sum = 0, ss = 0, m = 0;
        for (int64_t n = 0; n < N; n++)
            for (int64_t c = 0; c < C; c++) {
                const int in_set = groups ? (n * groups + c / (C / groups) == t) : (c == t);
                if (!in_set) continue;
                for (int64_t s = 0; s < S; s++) sum += x[(n * C + c) * S + s], m += 1;
            }
        const double mu = sum / m;
        for (int64_t n = 0; n < N; n++)
            for (int64_t c = 0; c < C; c++) {
                const int in_set = groups ? (n * groups + c / (C / groups) == t) : (c == t);
                if (!in_set) continue;
                for (int64_t s = 0; s < S; s++) ss += pow(x[(n * C + c) * S + s] - mu, 2);
            }
        const double sd = sqrt(ss / m + eps);
        for (int64_t n = 0; n < N; n++)
            for (int64_t c = 0; c < C; c++) {
                const int in_set = groups ? (n * groups + c / (C / groups) == t) : (c == t);
                if (!in_set) continue;
                for (int64_t s = 0; s < S; s++) {
                    const int64_t i = (n * C + c) * S + s;
                    y[i] = (x[i] - mu) / sd * (gamma ? gamma[c] : 1) + (beta ? beta[c] : 0);
                }
            }
    }
}

typedef struct norm_case {
    int64_t N, C, S, groups;
    int batch_eval;            /* BatchNorm with fixed statistics */
    double *x, *gamma, *beta, *wy, *y, *rmean, *rvar;
} norm_case;

static double norm_loss(void *ctx)
{
    norm_case *c = ctx;
    if (c->batch_eval) {
        for (int64_t n = 0; n < c->N; n++)
            for (int64_t ch = 0; ch < c->C; ch++)
                for (int64_t s = 0; s < c->S; s++) {
                    const int64_t i = (n * c->C + ch) * c->S + s;
                    c->y[i] = (c->x[i] - c->rmean[ch]) / sqrt(c->rvar[ch] + 1e-5) * c->gamma[ch] + c->beta[ch];
                }
    } else {
        naive_norm(c->x, c->N, c->C, c->S, c->groups, c->gamma, c->beta, 1e-5, c->y);
    }
    return fd_dot(c->y, c->wy, c->N * c->C * c->S);
}

/* mode: 'g' GroupNorm, 't' BatchNorm training, 'e' BatchNorm eval. */
static void check_norm(const char *name, char mode, int64_t N, int64_t C, int64_t S, int64_t groups, uint64_t seed)
{
    const int64_t n = N * C * S;
    norm_case c = {.N = N, .C = C, .S = S, .groups = mode == 'g' ? groups : 0, .batch_eval = mode == 'e'};
    c.x = malloc(n * sizeof(double));
    c.wy = malloc(n * sizeof(double));
    c.y = malloc(n * sizeof(double));
    c.gamma = malloc(C * sizeof(double));
    c.beta = malloc(C * sizeof(double));
    c.rmean = malloc(C * sizeof(double));
    c.rvar = malloc(C * sizeof(double));
    double *y = malloc(n * sizeof(double)), *ref = malloc(n * sizeof(double));
    double *mean = malloc(N * C * sizeof(double)), *rstd = malloc(N * C * sizeof(double));
    fd_fill(c.x, n, -2, 3, seed, 1);
    fd_fill(c.wy, n, -1, 1, seed, 2);
    fd_fill(c.gamma, C, 0.5, 1.5, seed, 3);
    fd_fill(c.beta, C, -1, 1, seed, 4);
    fd_fill(c.rmean, C, -0.5, 0.5, seed, 5);
    fd_fill(c.rvar, C, 0.5, 2, seed, 6);

    double *rm = malloc(C * sizeof(double)), *rv = malloc(C * sizeof(double));
    memcpy(rm, c.rmean, C * sizeof(double));
    memcpy(rv, c.rvar, C * sizeof(double));
    if (mode == 'g') {
        pd_groupnorm_forward(c.x, N, C, S, groups, c.gamma, c.beta, 1e-5, y, mean, rstd);
    } else if (mode == 't') {
        CHECK(pd_batchnorm_forward_train(c.x, N, C, S, c.gamma, c.beta, 1e-5, 0.1, rm, rv, y, mean, rstd) == PD_OK);
        /* Running statistics: r ← 0.9 r + 0.1 stat, unbiased variance, recomputed directly. */
        for (int64_t ch = 0; ch < C; ch++) {
            double sum = 0, ss = 0;
            for (int64_t b = 0; b < N; b++)
                for (int64_t s = 0; s < S; s++) sum += c.x[(b * C + ch) * S + s];
            const double mu = sum / (N * S);
            for (int64_t b = 0; b < N; b++)
                for (int64_t s = 0; s < S; s++) ss += pow(c.x[(b * C + ch) * S + s] - mu, 2);
            CHECK_NEAR(rm[ch], 0.9 * c.rmean[ch] + 0.1 * mu, 1e-12);
            CHECK_NEAR(rv[ch], 0.9 * c.rvar[ch] + 0.1 * ss / (N * S - 1), 1e-12);
        }
    } else {
        pd_batchnorm_forward_eval(c.x, N, C, S, c.gamma, c.beta, 1e-5, c.rmean, c.rvar, y, mean, rstd);
    }
    norm_loss(&c);
    memcpy(ref, c.y, n * sizeof(double));
    CHECK_MSG(fd_max_abs_diff(y, ref, n) < 1e-12, "%s forward differs by %g", name, fd_max_abs_diff(y, ref, n));

    double *dx = calloc(n, sizeof(double)), *dg = calloc(C, sizeof(double)), *db = calloc(C, sizeof(double));
    if (mode == 'g') pd_groupnorm_backward(c.x, c.wy, N, C, S, groups, c.gamma, mean, rstd, dx, dg, db);
    else pd_batchnorm_backward(c.x, c.wy, N, C, S, c.gamma, mean, rstd, mode == 't', dx, dg, db);
    CHECK_MSG(fd_check("dx", c.x, n, dx, norm_loss, &c, 1e-5, 1e-6, 1e-8) == 0, "%s: dx", name);
    CHECK_MSG(fd_check("dgamma", c.gamma, C, dg, norm_loss, &c, 1e-5, 1e-6, 1e-8) == 0, "%s: dgamma", name);
    CHECK_MSG(fd_check("dbeta", c.beta, C, db, norm_loss, &c, 1e-5, 1e-6, 1e-8) == 0, "%s: dbeta", name);

    if (mode == 't') {
        /* Treating batch statistics as constants (the eval formula) is a classic bug: caught. */
        double *wrong = calloc(n, sizeof(double));
        pd_batchnorm_backward(c.x, c.wy, N, C, S, c.gamma, mean, rstd, 0, wrong, NULL, NULL);
        CHECK_MSG(fd_check("eval-formula dx (expected mismatches)", c.x, n, wrong, norm_loss, &c, 1e-5, 1e-6, 1e-8) > 0,
                  "batchnorm dx without the statistics' gradient was not caught");
        free(wrong);
    }
    free(c.x); free(c.wy); free(c.y); free(c.gamma); free(c.beta); free(c.rmean); free(c.rvar);
    free(y); free(ref); free(mean); free(rstd); free(rm); free(rv); free(dx); free(dg); free(db);
}

/* ---- bilinear upsampling --------------------------------------------------------------------------- */

typedef struct up_case {
    int64_t planes, H, W, Ho, Wo;
    double rh, rw;
    double *x, *wy, *y;
} up_case;

/* PyTorch's formula written out per output cell (double). */
static void naive_upsample(const up_case *u, const double *x, double *y)
{
    for (int64_t p = 0; p < u->planes; p++)
        for (int64_t oh = 0; oh < u->Ho; oh++)
            for (int64_t ow = 0; ow < u->Wo; ow++) {
                double sh = fmax(0.0, u->rh * (oh + 0.5) - 0.5), sw = fmax(0.0, u->rw * (ow + 0.5) - 0.5);
                int64_t h0 = (int64_t)floor(sh), w0 = (int64_t)floor(sw);
                int64_t h1 = h0 < u->H - 1 ? h0 + 1 : h0, w1 = w0 < u->W - 1 ? w0 + 1 : w0;
                double lh = sh - h0, lw = sw - w0;
                const double *xp = x + p * u->H * u->W;
                y[(p * u->Ho + oh) * u->Wo + ow] =
                    (1 - lh) * ((1 - lw) * xp[h0 * u->W + w0] + lw * xp[h0 * u->W + w1]) +
                    lh * ((1 - lw) * xp[h1 * u->W + w0] + lw * xp[h1 * u->W + w1]);
            }
}

static double up_loss(void *ctx)
{
    up_case *u = ctx;
    naive_upsample(u, u->x, u->y);
    return fd_dot(u->y, u->wy, u->planes * u->Ho * u->Wo);
}

static void check_upsample(const char *name, int64_t planes, int64_t H, int64_t W, int64_t Ho, int64_t Wo, double scale)
{
    up_case u = {.planes = planes, .H = H, .W = W, .Ho = Ho, .Wo = Wo, .rh = pd_upsample_ratio(H, Ho, scale),
                 .rw = pd_upsample_ratio(W, Wo, scale)};
    const int64_t nx = planes * H * W, ny = planes * Ho * Wo;
    u.x = malloc(nx * sizeof(double));
    u.wy = malloc(ny * sizeof(double));
    u.y = malloc(ny * sizeof(double));
    double *y = malloc(ny * sizeof(double)), *dx = calloc(nx, sizeof(double));
    fd_fill(u.x, nx, -1, 1, 21, 1);
    fd_fill(u.wy, ny, -1, 1, 21, 2);
    CHECK(pd_upsample_bilinear_forward(u.x, planes, H, W, Ho, Wo, u.rh, u.rw, y) == PD_OK);
    up_loss(&u);
    CHECK_MSG(fd_max_abs_diff(y, u.y, ny) < 1e-12, "%s forward differs by %g", name, fd_max_abs_diff(y, u.y, ny));
    CHECK(pd_upsample_bilinear_backward(u.wy, planes, H, W, Ho, Wo, u.rh, u.rw, dx) == PD_OK);
    CHECK_MSG(fd_check("dx", u.x, nx, dx, up_loss, &u, 1e-5, 1e-7, 1e-9) == 0, "%s: dx", name);
    free(u.x); free(u.wy); free(u.y); free(y); free(dx);
}

int main(void)
{
    check_norm("groupnorm 3d", 'g', 2, 6, 8, 3, 1);
    check_norm("groupnorm 1 group", 'g', 3, 4, 5, 1, 2);
    check_norm("groupnorm C groups", 'g', 2, 4, 3, 4, 3);
    check_norm("batchnorm train", 't', 3, 4, 6, 0, 4);
    check_norm("batchnorm train no spatial", 't', 5, 3, 1, 0, 5);
    check_norm("batchnorm eval", 'e', 3, 4, 6, 0, 6);
    double y1[4], m1[2], r1[2];
    const double x1[2] = {1, 2};
    CHECK(pd_batchnorm_forward_train(x1, 1, 2, 1, NULL, NULL, 1e-5, 0.1, NULL, NULL, y1, m1, r1) == PD_ERR_USAGE);

    check_upsample("upsample x2", 3, 4, 5, 8, 10, 2.0);
    check_upsample("upsample x3", 2, 3, 2, 9, 6, 3.0);
    check_upsample("upsample to size", 2, 3, 5, 7, 8, 0);
    check_upsample("downsample to size", 2, 6, 5, 4, 3, 0);
    return pd_test_finish("test_norm_kernels");
}
