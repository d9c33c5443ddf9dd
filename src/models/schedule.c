/* schedule.c — the cosine noise schedule (ᾱ per timestep, β, posterior variance) and the
 * eps/x0 conversions used by the diffusion loss and the samplers. */
#include "models/schedule.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double cosine_f(double u)
{
    double c = cos((u + PD_SCHEDULE_COSINE_S) / (1.0 + PD_SCHEDULE_COSINE_S) * M_PI / 2.0);
    return c * c;
}

pd_status pd_schedule_cosine(pd_schedule *s, int T)
{
    memset(s, 0, sizeof *s);
    if (T < 2) return pd_fail(PD_ERR_CONFIG, "diffusion schedule: T = %d timesteps, need >= 2 (model.diffusion.timesteps)", T);
    s->alpha_bar = pd_malloc((size_t)T * sizeof *s->alpha_bar);
    if (!s->alpha_bar) return PD_ERR_NOMEM;
    s->T = T;
    double f0 = cosine_f(0.0);
    for (int t = 0; t < T; t++) {
        double a = cosine_f((double)(t + 1) / T) / f0;
        if (a < PD_SCHEDULE_ALPHA_BAR_MIN) a = PD_SCHEDULE_ALPHA_BAR_MIN;
        if (a > 1.0) a = 1.0;
        s->alpha_bar[t] = a;
    }
    return PD_OK;
}

void pd_schedule_free(pd_schedule *s)
{
    free(s->alpha_bar);
    memset(s, 0, sizeof *s);
}

double pd_schedule_alpha_bar(const pd_schedule *s, int t)
{
    if (t < 0) return 1.0;
    if (t >= s->T) t = s->T - 1;
    return s->alpha_bar[t];
}

double pd_schedule_beta(const pd_schedule *s, int t)
{
    return 1.0 - pd_schedule_alpha_bar(s, t) / pd_schedule_alpha_bar(s, t - 1);
}

double pd_schedule_posterior_variance(const pd_schedule *s, int t)
{
    double ab = pd_schedule_alpha_bar(s, t), ab_prev = pd_schedule_alpha_bar(s, t - 1);
    return pd_schedule_beta(s, t) * (1.0 - ab_prev) / (1.0 - ab);
}

pd_status pd_diffusion_target_parse(const char *name, pd_diffusion_target *out)
{
    if (name && strcmp(name, "eps") == 0) *out = PD_TARGET_EPS;
    else if (name && strcmp(name, "x0") == 0) *out = PD_TARGET_X0;
    else
        return pd_fail(PD_ERR_CONFIG, "diffusion: target '%s' is not one of eps|x0 (model.diffusion.target)",
                       name ? name : "(null)");
    return PD_OK;
}

const char *pd_diffusion_target_name(pd_diffusion_target t) { return t == PD_TARGET_X0 ? "x0" : "eps"; }

void pd_diffusion_split_prediction(pd_diffusion_target target, double alpha_bar, int64_t n, const float *x_t,
                                   const float *pred, float *x0, float *eps)
{
    double sa = sqrt(alpha_bar), sb = sqrt(1.0 - alpha_bar);
    for (int64_t i = 0; i < n; i++) {
        double e, c;
        if (target == PD_TARGET_EPS) {
            e = pred[i];
            c = (x_t[i] - sb * e) / sa;
        } else {
            c = pred[i];
            e = (x_t[i] - sa * c) / sb;
        }
        if (x0) x0[i] = (float)c;
        if (eps) eps[i] = (float)e;
    }
}
