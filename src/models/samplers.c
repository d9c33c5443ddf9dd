/* samplers.c — DDIM and ancestral DDPM reverse processes over a denoiser callback, with all
 * noise from the counter RNG so a sample depends on (seed, residue), never on batching. */
#include "models/samplers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

void pd_sampler_config_default(pd_sampler_config *c)
{
    c->kind = PD_SAMPLER_DDIM;
    c->steps = 50;
    c->eta = 0.0;
}

pd_status pd_sampler_kind_parse(const char *name, pd_sampler_kind *out)
{
    if (name && strcmp(name, "ddim") == 0) *out = PD_SAMPLER_DDIM;
    else if (name && strcmp(name, "ddpm") == 0) *out = PD_SAMPLER_DDPM;
    else
        return pd_fail(PD_ERR_CONFIG, "diffusion sampler '%s' is not one of ddim|ddpm (design.sampler)",
                       name ? name : "(null)");
    return PD_OK;
}

pd_status pd_sampler_config_from(const pd_config *cfg, pd_sampler_config *c)
{
    pd_sampler_config_default(c);
    PD_TRY(pd_sampler_kind_parse(pd_cfg_str(cfg, "design.sampler"), &c->kind));
    c->steps = (int)pd_cfg_int(cfg, "design.steps");
    return PD_OK;
}

pd_status pd_ddim_timesteps(int T, int S, int *tau)
{
    if (S < 1 || S > T)
        return pd_fail(PD_ERR_CONFIG, "DDIM: %d steps for T = %d timesteps; use 1..%d steps (design.steps)", S, T, T);
    /* diffusers' trailing spacing: round(arange(T, 0, -T/S)) - 1, with NumPy's arithmetic
     * (start + k·step) and round-half-to-even (nearbyint in the default rounding mode) */
    double step = -(double)T / S;
    for (int k = 0; k < S; k++) tau[S - 1 - k] = (int)nearbyint((double)T + (double)k * step) - 1;
    return PD_OK;
}

/* x[r, :] = N(0, 1) draws of stage k (see samplers.h), or x += scale * draws when accumulate. */
static void draw_noise(const pd_sampler_problem *p, uint64_t stage, double scale, int accumulate, float *x)
{
    for (int64_t r = 0; r < p->rows; r++) {
        pd_rng rng;
        pd_rng_init(&rng, p->seed, stage, p->row_ids ? p->row_ids[r] : (uint64_t)r, PD_RNG_DESIGN);
        float *row = x + r * p->dim;
        for (int j = 0; j < p->dim; j++) {
            double z = pd_rng_normal(&rng);
            row[j] = accumulate ? (float)(row[j] + scale * z) : (float)(scale * z);
        }
    }
}

static pd_status call_denoiser(const pd_sampler_problem *p, int t, const float *x, float *pred)
{
    pd_status s = p->denoise(p->user, t, x, pred);
    if (s != PD_OK) pd_error_context("denoiser at timestep %d", t);
    return s;
}

/* x_{t_prev} = sqrt(ᾱ') x0 + sqrt(1 - ᾱ' - σ²) eps + σ z,
 * σ = η sqrt((1 - ᾱ') / (1 - ᾱ)) sqrt(1 - ᾱ / ᾱ'). */
static pd_status sample_ddim(const pd_sampler_problem *p, const pd_sampler_config *c, float *x, float *pred,
                             float *x0, float *eps)
{
    const pd_schedule *s = p->schedule;
    int *tau = pd_malloc((size_t)c->steps * sizeof *tau);
    if (!tau) return PD_ERR_NOMEM;
    pd_status st = pd_ddim_timesteps(s->T, c->steps, tau);
    int64_t n = p->rows * p->dim;
    for (int i = c->steps - 1; st == PD_OK && i >= 0; i--) {
        int t = tau[i], t_prev = i > 0 ? tau[i - 1] : -1;
        st = call_denoiser(p, t, x, pred);
        if (st != PD_OK) break;
        double ab = pd_schedule_alpha_bar(s, t), ab_prev = pd_schedule_alpha_bar(s, t_prev);
        pd_diffusion_split_prediction(p->target, ab, n, x, pred, x0, eps);
        double sigma = 0;
        if (c->eta > 0) sigma = c->eta * sqrt((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev));
        double dir = 1 - ab_prev - sigma * sigma;
        double c0 = sqrt(ab_prev), ce = sqrt(dir > 0 ? dir : 0);
        for (int64_t k = 0; k < n; k++) x[k] = (float)(c0 * x0[k] + ce * eps[k]);
        if (sigma > 0) draw_noise(p, (uint64_t)t + 1, sigma, 1, x);
    }
    free(tau);
    return st;
}

/* x_{t-1} = c1 x0 + c2 x_t + sqrt(β̃_t) z with c1 = sqrt(ᾱ_{t-1}) β_t / (1 - ᾱ_t),
 * c2 = sqrt(α_t) (1 - ᾱ_{t-1}) / (1 - ᾱ_t), α_t = ᾱ_t / ᾱ_{t-1}; no noise at t = 0. */
static pd_status sample_ddpm(const pd_sampler_problem *p, float *x, float *pred, float *x0)
{
    const pd_schedule *s = p->schedule;
    int64_t n = p->rows * p->dim;
    for (int t = s->T - 1; t >= 0; t--) {
        PD_TRY(call_denoiser(p, t, x, pred));
        double ab = pd_schedule_alpha_bar(s, t), ab_prev = pd_schedule_alpha_bar(s, t - 1);
        double beta = pd_schedule_beta(s, t), alpha = ab / ab_prev;
        pd_diffusion_split_prediction(p->target, ab, n, x, pred, x0, NULL);
        double c1 = sqrt(ab_prev) * beta / (1 - ab), c2 = sqrt(alpha) * (1 - ab_prev) / (1 - ab);
        for (int64_t k = 0; k < n; k++) x[k] = (float)(c1 * x0[k] + c2 * x[k]);
        double var = pd_schedule_posterior_variance(s, t);
        if (t > 0 && var > 0) draw_noise(p, (uint64_t)t + 1, sqrt(var), 1, x);
    }
    return PD_OK;
}

pd_status pd_sample(const pd_sampler_problem *p, const pd_sampler_config *c, float *x)
{
    if (!p->schedule || !p->denoise || p->rows < 0 || p->dim < 1)
        return pd_fail(PD_ERR, "sampler: incomplete problem (schedule, denoiser, rows >= 0, dim >= 1 are required)");
    if (c->kind == PD_SAMPLER_DDIM && (c->steps < 1 || c->steps > p->schedule->T))
        return pd_fail(PD_ERR_CONFIG, "DDIM: %d steps for T = %d timesteps; use 1..%d steps (design.steps)", c->steps,
                       p->schedule->T, p->schedule->T);
    if (!(c->eta >= 0)) return pd_fail(PD_ERR_CONFIG, "DDIM: eta %g must be >= 0", c->eta);
    int64_t n = p->rows * p->dim;
    float *work = pd_malloc((size_t)(3 * n + 1) * sizeof *work);
    if (!work) return PD_ERR_NOMEM;
    float *pred = work, *x0 = work + n, *eps = work + 2 * n;
    draw_noise(p, 0, 1.0, 0, x);
    pd_status s = c->kind == PD_SAMPLER_DDIM ? sample_ddim(p, c, x, pred, x0, eps) : sample_ddpm(p, x, pred, x0);
    free(work);
    if (s != PD_OK) pd_error_context("%s sampler", c->kind == PD_SAMPLER_DDIM ? "DDIM" : "DDPM");
    return s;
}
