/* samplers.h — reverse diffusion samplers over any denoiser: DDIM (deterministic by default,
 * S steps on a trailing timestep grid) and ancestral DDPM (all T steps, posterior variance β̃),
 * for eps- and x0-predicting denoisers. The DiT plugs in through pd_diffusion_sample
 * (diffusion.h); tests plug in analytic denoisers. Formulas: docs/models/diffusion.md. */
#ifndef PD_MODELS_SAMPLERS_H
#define PD_MODELS_SAMPLERS_H

#include <stdint.h>

#include "core/config.h"
#include "core/error.h"
#include "models/schedule.h"

typedef enum pd_sampler_kind { PD_SAMPLER_DDIM = 0, PD_SAMPLER_DDPM = 1 } pd_sampler_kind;

typedef struct pd_sampler_config {
    pd_sampler_kind kind;
    int steps;       /* DDIM steps S, 1..T (default 50); DDPM always runs T steps */
    double eta;      /* DDIM stochasticity η (0 = deterministic, 1 = DDPM-like variance) */
} pd_sampler_config;

/* DDIM, 50 steps, η = 0. */
void pd_sampler_config_default(pd_sampler_config *c);
/* design.sampler and design.steps of a run file. */
pd_status pd_sampler_config_from(const pd_config *cfg, pd_sampler_config *c);
/* "ddim" | "ddpm" -> kind; fails naming design.sampler otherwise. */
pd_status pd_sampler_kind_parse(const char *name, pd_sampler_kind *out);

/* DDIM timesteps, "trailing" spacing (as diffusers): tau[S-1-k] = round(T - k·T/S) - 1 for
 * k = 0..S-1, round half to even; ascending, distinct, tau[S-1] = T-1 so sampling starts from
 * pure noise at the last timestep (T = 1000, S = 50: 19, 39, ..., 999). Fails unless 1 <= S <= T. */
pd_status pd_ddim_timesteps(int T, int S, int *tau);

/* The denoiser: the network's prediction (eps or x0, as the problem's target says) for x_t
 * [rows, dim] at timestep t (the same t for every row), written to pred [rows, dim]. */
typedef pd_status (*pd_denoiser_fn)(void *user, int t, const float *x_t, float *pred);

typedef struct pd_sampler_problem {
    int64_t rows;                 /* residues sampled together (one design) */
    int dim;                      /* latent size */
    const pd_schedule *schedule;
    pd_diffusion_target target;
    pd_denoiser_fn denoise;
    void *user;
    /* Noise: row r draws its dim normals at stage k from the counter RNG keyed by
     * (seed, k, row_ids[r] (NULL: r), PD_RNG_DESIGN); k = 0 is the starting x_{T-1} ~ N(0, I),
     * k = t + 1 the noise added when stepping down from timestep t. A residue's draws therefore
     * do not depend on how rows are batched. */
    uint64_t seed;
    const uint64_t *row_ids;
} pd_sampler_problem;

/* Run the sampler; x [rows, dim] receives the sample x_0. The denoiser's failures are passed
 * on with the step that failed as context. */
pd_status pd_sample(const pd_sampler_problem *p, const pd_sampler_config *c, float *x);

#endif
