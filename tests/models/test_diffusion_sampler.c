/* test_diffusion_sampler.c — the samplers with ANALYTIC denoisers instead of a network, so the
 * sampler math is checked independently of training. For data N(m, s²) per dimension the optimal
 * predictions at ᾱ are known in closed form (σ² = ᾱ s² + 1 - ᾱ, y = x_t - sqrt(ᾱ) m):
 *   x0* = m + sqrt(ᾱ) s² y / σ²,   eps* = sqrt(1 - ᾱ) y / σ²;   s = 0 is a single point m.
 * Deterministic DDIM then maps the start noise affinely; its exact gain follows from geometry
 * (see check_ddim_gaussian), DDPM's output distribution must be N(m, s²) up to Monte-Carlo error. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "models/samplers.h"
#include "test.h"

#define DIMS 4
static const double data_mean[DIMS] = {1.5, -2.0, 0.3, 0.0};
static const double data_std[DIMS] = {0.5, 1.0, 2.0, 0.1};

typedef struct analytic {
    const pd_schedule *s;
    pd_diffusion_target target;
    int point;           /* 1: data is the single point m (s = 0) */
    int calls;
    int fail_at_call;    /* > 0: return an error on that call */
} analytic;

static pd_status analytic_denoise(void *user, int t, const float *x_t, float *pred)
{
    analytic *a = user;
    if (++a->calls == a->fail_at_call) return pd_fail(PD_ERR, "analytic denoiser asked to fail");
    (void)t;
    return PD_OK;
}

/* The real work, with the row count known. */
typedef struct analytic_rows { analytic a; int64_t rows; } analytic_rows;

static pd_status denoise_rows(void *user, int t, const float *x_t, float *pred)
{
    analytic_rows *ar = user;
    PD_TRY(analytic_denoise(&ar->a, t, x_t, pred));
    double ab = pd_schedule_alpha_bar(ar->a.s, t);
    for (int64_t r = 0; r < ar->rows; r++)
        for (int j = 0; j < DIMS; j++) {
            double m = data_mean[j], s2 = ar->a.point ? 0 : data_std[j] * data_std[j];
            double var = ab * s2 + 1 - ab, y = x_t[r * DIMS + j] - sqrt(ab) * m;
            double v = ar->a.target == PD_TARGET_EPS ? sqrt(1 - ab) * y / var : m + sqrt(ab) * s2 * y / var;
            pred[r * DIMS + j] = (float)v;
        }
    return PD_OK;
}

static pd_sampler_problem problem(analytic_rows *ar, const pd_schedule *s, pd_diffusion_target target, int point,
                                  int64_t rows, uint64_t seed)
{
    memset(ar, 0, sizeof *ar);
    ar->a.s = s;
    ar->a.target = target;
    ar->a.point = point;
    ar->rows = rows;
    return (pd_sampler_problem){.rows = rows, .dim = DIMS, .schedule = s, .target = target, .denoise = denoise_rows,
                                .user = ar, .seed = seed};
}

/* Data = a single point: every sampler must land on it. */
static void check_point(const pd_schedule *s)
{
    for (int kind = 0; kind < 2; kind++)
        for (int target = 0; target < 2; target++) {
            analytic_rows ar;
            pd_sampler_problem p = problem(&ar, s, (pd_diffusion_target)target, 1, 64, 7);
            pd_sampler_config c;
            pd_sampler_config_default(&c);
            c.kind = (pd_sampler_kind)kind;
            float x[64 * DIMS];
            CHECK(pd_sample(&p, &c, x) == PD_OK);
            double worst = 0;
            for (int r = 0; r < 64; r++)
                for (int j = 0; j < DIMS; j++) worst = fmax(worst, fabs(x[r * DIMS + j] - data_mean[j]));
            CHECK_MSG(worst < 1e-4, "%s, %s target: point data, worst |x - x*| = %g",
                      kind ? "DDPM" : "DDIM", target ? "x0" : "eps", worst);
            CHECK_MSG(ar.a.calls == (kind ? s->T : 50), "%d denoiser calls", ar.a.calls);
        }
}

/* DDIM (η = 0) on Gaussian data: the update maps y_t = x_t - sqrt(ᾱ_t) m to y_s by the factor
 * (sqrt(ᾱ_s ᾱ_t) s² + sqrt((1-ᾱ_s)(1-ᾱ_t))) / σ_t² = cos(θ_t - θ_s) σ_s / σ_t, with
 * θ = atan2(sqrt(1-ᾱ), sqrt(ᾱ) s) (the angle of the vector (sqrt(ᾱ) s, sqrt(1-ᾱ))). The whole
 * sampler is therefore x0 = m + G (x_start - sqrt(ᾱ_{T-1}) m), G = s/σ_{T-1} Π cos Δθ: check G and
 * the offset exactly, by regressing the output on the start noise (redrawn from the same keys). */
static void check_ddim_gaussian(const pd_schedule *s, int steps, pd_diffusion_target target)
{
    enum { ROWS = 16 };
    analytic_rows ar;
    pd_sampler_problem p = problem(&ar, s, target, 0, ROWS, 11);
    pd_sampler_config c;
    pd_sampler_config_default(&c);
    c.steps = steps;
    float x[ROWS * DIMS];
    CHECK(pd_sample(&p, &c, x) == PD_OK);
    int *tau = malloc((size_t)steps * sizeof *tau);
    CHECK(pd_ddim_timesteps(s->T, steps, tau) == PD_OK);
    for (int j = 0; j < DIMS; j++) {
        double sd = data_std[j], m = data_mean[j];
        double gain = 1, ab_start = pd_schedule_alpha_bar(s, s->T - 1);
        for (int i = steps - 1; i >= 0; i--) {
            double a1 = pd_schedule_alpha_bar(s, tau[i]), a0 = pd_schedule_alpha_bar(s, i > 0 ? tau[i - 1] : -1);
            gain *= cos(atan2(sqrt(1 - a1), sqrt(a1) * sd) - atan2(sqrt(1 - a0), sqrt(a0) * sd));
        }
        gain *= sd / sqrt(ab_start * sd * sd + 1 - ab_start);
        double worst = 0;
        for (int r = 0; r < ROWS; r++) {
            pd_rng rng;
            pd_rng_init(&rng, 11, 0, (uint64_t)r, PD_RNG_DESIGN);
            double z = 0;
            for (int k = 0; k <= j; k++) z = pd_rng_normal(&rng);
            double expect = m + gain * (z - sqrt(ab_start) * m);
            worst = fmax(worst, fabs(x[r * DIMS + j] - expect));
        }
        CHECK_MSG(worst < 2e-4 * (1 + sd), "DDIM %d steps, %s target, dim %d (s = %g): worst |x - expected| = %g (gain %g)",
                  steps, target ? "x0" : "eps", j, sd, worst, gain);
    }
    free(tau);
}

/* Ancestral DDPM on Gaussian data: mean and variance of many samples against N(m, s²). */
static void check_ddpm_gaussian(const pd_schedule *s, pd_diffusion_target target)
{
    enum { ROWS = 10000 };
    analytic_rows ar;
    pd_sampler_problem p = problem(&ar, s, target, 0, ROWS, 23);
    pd_sampler_config c;
    pd_sampler_config_default(&c);
    c.kind = PD_SAMPLER_DDPM;
    float *x = malloc(sizeof(float) * ROWS * DIMS);
    CHECK(pd_sample(&p, &c, x) == PD_OK);
    for (int j = 0; j < DIMS; j++) {
        double sum = 0, sq = 0;
        for (int r = 0; r < ROWS; r++) sum += x[r * DIMS + j];
        double mean = sum / ROWS;
        for (int r = 0; r < ROWS; r++) sq += (x[r * DIMS + j] - mean) * (x[r * DIMS + j] - mean);
        double var = sq / (ROWS - 1), sd = data_std[j];
        /* 5 standard errors: mean s/sqrt(n), variance s² sqrt(2/(n-1)) (1.4% at n = 10000). The
         * variance also carries the discretisation bias of the ancestral sampler with β̃: the exact
         * moment recursion (NumPy, docs/models/diffusion.md) gives final/true variance 0.961 for
         * s = 0.1, 0.992 for 0.5, 0.995 for 1, 0.996 for 2 at T = 1000: allow 0.04 for it */
        CHECK_MSG(fabs(mean - data_mean[j]) < 5 * sd / sqrt(ROWS), "DDPM %s: dim %d mean %g, data %g",
                  target ? "x0" : "eps", j, mean, data_mean[j]);
        CHECK_MSG(fabs(var / (sd * sd) - 1) < 5 * sqrt(2.0 / (ROWS - 1)) + 0.04, "DDPM %s: dim %d variance %g, data %g",
                  target ? "x0" : "eps", j, var, sd * sd);
    }
    free(x);
}

/* A residue's sample depends on (seed, its row id), not on the rows sampled with it. */
static void check_row_keys(const pd_schedule *s)
{
    uint64_t ids[10], one = 105;
    for (int i = 0; i < 10; i++) ids[i] = 100 + (uint64_t)i;
    for (int kind = 0; kind < 2; kind++) {
        pd_sampler_config c;
        pd_sampler_config_default(&c);
        c.kind = (pd_sampler_kind)kind;
        c.steps = 20;
        c.eta = kind ? 0 : 1.0;   /* stochastic DDIM too, so per-step noise is keyed as well */
        analytic_rows ar;
        float all[10 * DIMS], single[DIMS];
        pd_sampler_problem p = problem(&ar, s, PD_TARGET_EPS, 0, 10, 3);
        p.row_ids = ids;
        CHECK(pd_sample(&p, &c, all) == PD_OK);
        p = problem(&ar, s, PD_TARGET_EPS, 0, 1, 3);
        p.row_ids = &one;
        CHECK(pd_sample(&p, &c, single) == PD_OK);
        CHECK_MSG(memcmp(all + 5 * DIMS, single, sizeof single) == 0, "%s: row 105 differs when sampled alone",
                  kind ? "DDPM" : "DDIM eta=1");
        p = problem(&ar, s, PD_TARGET_EPS, 0, 1, 4);
        p.row_ids = &one;
        CHECK(pd_sample(&p, &c, single) == PD_OK);
        CHECK_MSG(memcmp(all + 5 * DIMS, single, sizeof single) != 0, "another seed gives the same sample");
    }
}

static void check_errors(const pd_schedule *s)
{
    analytic_rows ar;
    pd_sampler_problem p = problem(&ar, s, PD_TARGET_EPS, 0, 2, 1);
    pd_sampler_config c;
    pd_sampler_config_default(&c);
    float x[2 * DIMS];
    ar.a.fail_at_call = 3;
    CHECK(pd_sample(&p, &c, x) == PD_ERR);
    CHECK_MSG(strstr(pd_last_error(), "timestep") && strstr(pd_last_error(), "asked to fail"), "%s", pd_last_error());
    p = problem(&ar, s, PD_TARGET_EPS, 0, 2, 1);
    c.steps = s->T + 1;
    CHECK(pd_sample(&p, &c, x) == PD_ERR_CONFIG);
}

int main(void)
{
    pd_schedule s;
    if (pd_schedule_cosine(&s, 1000) != PD_OK) return 1;
    check_point(&s);
    for (int target = 0; target < 2; target++) {
        check_ddim_gaussian(&s, 50, (pd_diffusion_target)target);
        check_ddim_gaussian(&s, 7, (pd_diffusion_target)target);
        check_ddim_gaussian(&s, 1000, (pd_diffusion_target)target);
        check_ddpm_gaussian(&s, (pd_diffusion_target)target);
    }
    check_row_keys(&s);
    check_errors(&s);
    pd_schedule_free(&s);
    return pd_test_finish("test_diffusion_sampler");
}
