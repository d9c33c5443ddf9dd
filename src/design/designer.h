/* designer.h — the inference chain of SPEC §7 "Design" for one backbone: BB-VAE encoder μ →
 * diffusion sampler (fixed positions as conditioning tokens) → SC-VAE decoder → classifier →
 * per-residue log-probabilities, for several samples at once. Shared by `design` and
 * `evaluate`; what is done with the distributions (omit/bias/temperature) is sequence.h. */
#ifndef PD_DESIGN_DESIGNER_H
#define PD_DESIGN_DESIGNER_H

#include <stdint.h>

#include "core/config.h"
#include "core/error.h"
#include "design/models.h"
#include "models/samplers.h"
#include "train/stage.h"
#include "nn/tape.h"

#define PD_DESIGN_AA 20

/* One backbone to design: residues of its chains in order (a view, nothing owned). */
typedef struct pd_design_backbone {
    int32_t length;
    const float *atom14;     /* [L*14*3]; N, CA, C = slots 0..2 (NaN where missing); side chains unused */
    const uint8_t *chain;    /* [L] chain index within the backbone */
    const int32_t *tokens;   /* [L] 0..19 a fixed amino acid (conditioning), PD_DIFFUSION_TOKEN_MASK to design */
} pd_design_backbone;

typedef struct pd_designer {
    pd_design_models *models;   /* not owned */
    pd_graph *g;
    pd_sampler_config sampler;
    int decode_rows;            /* residues per SC-VAE decode call (design.decode_rows, capped by the budget) */
    double classifier_temperature;   /* logits / T before the softmax (design.classifier_temperature) */
    int latent_classifier;      /* design.classifier = "latent": the DiT's latent classifier reads x0 */
    int hidden_classifier;      /* design.classifier = "hidden": the DiT's sequence head on its last hidden state */
    /* The memory plan (issue 21): the per-rank budget less the models' parameters is the room for one
     * network call; a backbone's samples go through the sampler in groups that fit it. */
    double budget, room, model_bytes;
    char budget_how[160];
    pd_stage_memory mem_bb, mem_denoise, mem_decode;
    double peak_bytes, peak_plan;   /* the largest arena peak of a sampler run and its estimate */
    double decode_peak, decode_plan;   /* the same for an SC-VAE decode call */
    int64_t groups, runs;           /* sampler groups and backbones designed */
    const char *name;               /* the backbone being designed, for messages (callers may set it; NULL:
                                     * the caller names it in the error's context) */
} pd_designer;

/* sampler settings from design.sampler / design.steps, decode_rows from design.decode_rows, the
 * classifier's temperature from design.classifier_temperature, and the memory plan: the budget of
 * run.memory_budget_mb (parallel/memory_budget.h), printed with the estimates. Collective over
 * MPI_COMM_WORLD (the budget is the smallest rank's); every caller runs it on every rank. */
pd_status pd_designer_init(pd_designer *d, pd_design_models *models, const pd_config *cfg);
/* Prints the largest measured arena peak against the plan when something was designed. */
void pd_designer_free(pd_designer *d);

/* n_samples diffusion samples of the backbone (noise keyed by (seed, sample, residue), so a
 * sample does not depend on how many are drawn together or on the rank that draws it). The
 * samples go through the sampler in groups whose DiT call fits the memory plan; a backbone of
 * which not even one sample fits fails (PD_ERR_NOMEM) naming it, its length and the bytes:
 *   logp [n_samples, L, 20]: log-probabilities of the classifier on the decoded latents;
 *   valid [L]: 1 where the backbone (N, CA, C) is complete; rows of other residues are 0;
 *   head_logp [L, 20] (may be NULL): log-probabilities of the BB-VAE sequence head. */
pd_status pd_designer_run(pd_designer *d, const pd_design_backbone *bb, int n_samples, uint64_t seed, float *logp,
                          uint8_t *valid, float *head_logp);

/* The SC-VAE decoder + classifier (design.classifier = "decoder") or the DiT's latent classifier
 * ("latent") on latents x0 [n, latent] in blocks of decode_rows residues: log-probabilities
 * logp [n, 20] of logits / classifier_temperature. */
pd_status pd_designer_decode_classify(pd_designer *d, const float *x0, int64_t n, float *logp);

/* log-softmax(logits / classifier_temperature) of n rows of 20 (the DiT's latent classifier or
 * hidden head); logp may be logits (in place). */
void pd_designer_logits_to_logp(const pd_designer *d, const float *logits, int64_t n, float *logp);

#endif
