/* test_schedule.c — the cosine schedule, β, posterior variance and DDIM timesteps against an
 * independent NumPy computation (tests/reference/diffusion_ref.py schedule), plus the eps/x0
 * conversions and the argument checks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../nn/bundle.h"
#include "models/samplers.h"
#include "models/schedule.h"
#include "test.h"
#include "test_diffusion_util.h"

/* Max relative error of n doubles against the float item (relative to each value, floor atol). */
static double worst_rel(const pd_bundle *b, const char *name, const double *mine, int n, double atol)
{
    const pd_bundle_item *it = pd_bundle_get(b, name);
    if (!it || it->numel != n || it->dtype != PD_BUNDLE_F32) {
        fprintf(stderr, "%s: missing or %lld values, expected %d\n", name, it ? (long long)it->numel : -1LL, n);
        return INFINITY;
    }
    const float *ref = it->data;
    double worst = 0;
    for (int i = 0; i < n; i++) {
        double e = fabs(mine[i] - ref[i]) / (fabs(ref[i]) + atol);
        if (e > worst) worst = e;
    }
    return worst;
}

static void check_against_numpy(const pd_bundle *bundle, int T, int S)
{
    const pd_bundle *b = bundle;
    char ab_name[64], beta_name[64], pv_name[64], tau_name[64];
    snprintf(ab_name, sizeof ab_name, "alpha_bar.%d", T);
    snprintf(beta_name, sizeof beta_name, "beta.%d", T);
    snprintf(pv_name, sizeof pv_name, "posterior_variance.%d", T);
    snprintf(tau_name, sizeof tau_name, "ddim_timesteps.%d.%d", T, S);
    pd_schedule s;
    CHECK(pd_schedule_cosine(&s, T) == PD_OK);
    double *ab = malloc((size_t)T * sizeof *ab), *beta = malloc((size_t)T * sizeof *beta);
    double *pv = malloc((size_t)T * sizeof *pv);
    for (int t = 0; t < T; t++) {
        ab[t] = pd_schedule_alpha_bar(&s, t);
        beta[t] = pd_schedule_beta(&s, t);
        pv[t] = pd_schedule_posterior_variance(&s, t);
    }
    /* the reference values are stored as f32 (relative rounding 6e-8); β and β̃ are exactly 0
     * where ᾱ sits at the clip, hence the 1e-12 absolute floor */
    double e_ab = worst_rel(b, ab_name, ab, T, 0), e_beta = worst_rel(b, beta_name, beta, T, 1e-12);
    double e_pv = worst_rel(b, pv_name, pv, T, 1e-12);
    CHECK_MSG(e_ab < 2e-7, "T=%d alpha_bar worst relative error %g", T, e_ab);
    CHECK_MSG(e_beta < 1e-6, "T=%d beta worst relative error %g", T, e_beta);
    CHECK_MSG(e_pv < 1e-6, "T=%d posterior variance worst relative error %g", T, e_pv);

    int *tau = malloc((size_t)S * sizeof *tau);
    CHECK(pd_ddim_timesteps(T, S, tau) == PD_OK);
    const pd_bundle_item *it = pd_bundle_get(b, tau_name);
    if (it && it->numel == S) {
        const int32_t *ref = it->data;
        int same = 1;
        for (int i = 0; i < S; i++) same &= tau[i] == ref[i];
        CHECK_MSG(same, "T=%d S=%d DDIM timesteps differ from NumPy's (first C %d, NumPy %d; last C %d, NumPy %d)", T, S,
                  tau[0], ref[0], tau[S - 1], ref[S - 1]);
    } else {
        CHECK_MSG(0, "ddim_timesteps: missing or wrong size");
    }
    CHECK(tau[S - 1] == T - 1);
    for (int i = 1; i < S; i++) CHECK_MSG(tau[i] > tau[i - 1], "T=%d S=%d: timesteps not increasing at %d", T, S, i);
    free(tau);
    free(ab);
    free(beta);
    free(pv);
    pd_schedule_free(&s);
}

static void check_properties(void)
{
    pd_schedule s;
    CHECK(pd_schedule_cosine(&s, 1000) == PD_OK);
    CHECK(pd_schedule_alpha_bar(&s, -1) == 1.0);
    CHECK(pd_schedule_alpha_bar(&s, 999) == PD_SCHEDULE_ALPHA_BAR_MIN);
    CHECK(pd_schedule_alpha_bar(&s, 0) < 1.0 && pd_schedule_alpha_bar(&s, 0) > 0.9999);
    int monotone = 1;
    for (int t = 0; t < 1000; t++) {
        monotone &= pd_schedule_alpha_bar(&s, t) <= pd_schedule_alpha_bar(&s, t - 1);
        double b = pd_schedule_beta(&s, t), v = pd_schedule_posterior_variance(&s, t);
        monotone &= b >= 0 && b < 1 && v >= 0 && v <= b + 1e-15;
    }
    CHECK_MSG(monotone, "alpha_bar must not increase; 0 <= posterior variance <= beta < 1");
    CHECK(pd_schedule_posterior_variance(&s, 0) == 0);
    /* the midpoint of a cosine schedule: ᾱ(t) = f(0.5)/f(0) at (t+1)/T = 0.5 */
    double f0 = pow(cos(0.008 / 1.008 * M_PI / 2), 2), fh = pow(cos(0.508 / 1.008 * M_PI / 2), 2);
    CHECK_NEAR(pd_schedule_alpha_bar(&s, 499), fh / f0, 1e-15);
    pd_schedule_free(&s);
    CHECK(pd_schedule_cosine(&s, 1) == PD_ERR_CONFIG);

    int tau[4];
    CHECK(pd_ddim_timesteps(10, 0, tau) == PD_ERR_CONFIG);
    CHECK(pd_ddim_timesteps(3, 4, tau) == PD_ERR_CONFIG);
    CHECK(pd_ddim_timesteps(4, 4, tau) == PD_OK && tau[0] == 0 && tau[3] == 3);

    pd_diffusion_target tg;
    CHECK(pd_diffusion_target_parse("x0", &tg) == PD_OK && tg == PD_TARGET_X0);
    CHECK(pd_diffusion_target_parse("eps", &tg) == PD_OK && tg == PD_TARGET_EPS);
    CHECK(pd_diffusion_target_parse("v", &tg) == PD_ERR_CONFIG);
    pd_sampler_kind k;
    CHECK(pd_sampler_kind_parse("ddpm", &k) == PD_OK && k == PD_SAMPLER_DDPM);
    CHECK(pd_sampler_kind_parse("euler", &k) == PD_ERR_CONFIG);

    /* eps <-> x0: x_t built from known (x0, eps) gives them back from either prediction */
    float x0[3] = {0.5f, -1.25f, 2.0f}, eps[3] = {-0.3f, 1.1f, 0.7f}, xt[3], a[3], e[3];
    double ab = 0.37;
    for (int i = 0; i < 3; i++) xt[i] = (float)(sqrt(ab) * x0[i] + sqrt(1 - ab) * eps[i]);
    pd_diffusion_split_prediction(PD_TARGET_EPS, ab, 3, xt, eps, a, NULL);
    pd_diffusion_split_prediction(PD_TARGET_X0, ab, 3, xt, x0, NULL, e);
    for (int i = 0; i < 3; i++) {
        CHECK_NEAR(a[i], x0[i], 1e-6);
        CHECK_NEAR(e[i], eps[i], 1e-6);
    }
}

int main(void)
{
    check_properties();
    int skip = tdu_have_torch();
    if (skip) {
        printf("SKIP NumPy comparison: no numpy/torch in $PYTHON_REF\n");
        return pd_test_failures ? pd_test_finish("test_schedule") : 77;
    }
    char *dir = tdu_tmpdir();
    CHECK(dir != NULL);
    static const int cases[][2] = {{1000, 50}, {1000, 1000}, {10, 3}, {10, 4}, {7, 1}};
    char out[4200], args[8600];
    snprintf(out, sizeof out, "%s/schedule.bin", dir ? dir : "/nonexistent");
    int n = snprintf(args, sizeof args, "schedule '%s'", out);
    for (int i = 0; i < 5; i++) n += snprintf(args + n, sizeof args - (size_t)n, " %d %d", cases[i][0], cases[i][1]);
    pd_bundle b;
    if (dir && tdu_run_reference(args) == 0 && pd_bundle_read(&b, out) == PD_OK) {
        for (int i = 0; i < 5; i++) check_against_numpy(&b, cases[i][0], cases[i][1]);
        pd_bundle_free(&b);
    } else {
        CHECK_MSG(0, "no NumPy schedule: %s", pd_last_error());
    }
    tdu_rmdir(dir);
    return pd_test_finish("test_schedule");
}
