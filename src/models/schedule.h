/* schedule.h — the diffusion noise schedule of SPEC §7 (cosine, T steps, ᾱ clipped to
 * [1e-5, 1]) and the conversions between the two prediction targets (eps, x0) that the
 * training loss and both samplers share. Formulas: docs/models/diffusion.md. */
#ifndef PD_MODELS_SCHEDULE_H
#define PD_MODELS_SCHEDULE_H

#include <stdint.h>

#include "core/error.h"

/* Offset s of the cosine schedule (Nichol & Dhariwal 2021) and the clip of ᾱ. */
#define PD_SCHEDULE_COSINE_S 0.008
#define PD_SCHEDULE_ALPHA_BAR_MIN 1e-5

/* What the denoiser predicts (model.diffusion.target). */
typedef enum pd_diffusion_target { PD_TARGET_EPS = 0, PD_TARGET_X0 = 1 } pd_diffusion_target;

typedef struct pd_schedule {
    int T;                /* timesteps t = 0 .. T-1 */
    double *alpha_bar;    /* [T] ᾱ_t = clip(f((t+1)/T) / f(0), 1e-5, 1), f(u) = cos²((u+s)/(1+s)·π/2) */
} pd_schedule;

/* Cosine schedule over T >= 2 steps (ᾱ strictly decreasing until it reaches the clip). */
pd_status pd_schedule_cosine(pd_schedule *s, int T);
void pd_schedule_free(pd_schedule *s);

/* ᾱ_t for t in [-1, T-1]; t = -1 is the clean data (ᾱ = 1). */
double pd_schedule_alpha_bar(const pd_schedule *s, int t);
/* β_t = 1 - ᾱ_t / ᾱ_{t-1} (ᾱ_{-1} = 1): the forward step variance; 0 where ᾱ sits at the clip. */
double pd_schedule_beta(const pd_schedule *s, int t);
/* Posterior variance β̃_t = β_t (1 - ᾱ_{t-1}) / (1 - ᾱ_t) of q(x_{t-1} | x_t, x_0); 0 at t = 0. */
double pd_schedule_posterior_variance(const pd_schedule *s, int t);

/* "eps" | "x0" -> target; fails naming model.diffusion.target otherwise. */
pd_status pd_diffusion_target_parse(const char *name, pd_diffusion_target *out);
const char *pd_diffusion_target_name(pd_diffusion_target t);

/* From a prediction of the network at ᾱ = alpha_bar on x_t (n values), the implied clean
 * sample x0 and noise eps (either output may be NULL):
 *   eps target: eps = pred, x0 = (x_t - sqrt(1-ᾱ) eps) / sqrt(ᾱ)
 *   x0 target:  x0 = pred,  eps = (x_t - sqrt(ᾱ) x0) / sqrt(1-ᾱ)
 * Computed in double per element. ᾱ must be in (0, 1) (the clip keeps it there for t >= 0). */
void pd_diffusion_split_prediction(pd_diffusion_target target, double alpha_bar, int64_t n, const float *x_t,
                                   const float *pred, float *x0, float *eps);

#endif
