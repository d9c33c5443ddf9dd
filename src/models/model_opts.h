/* model_opts.h — what every model's create takes beside its configuration, by name: the seed of
 * its initial values and the shard-group size its parameter units are padded for. The four
 * models (sc_vae, bb_vae, diffusion, tokenizer) are built one way:
 *     pd_X_config pc;  pd_X_config_from(cfg, &pc);
 *     pd_X *m;         pd_X_create(&m, &pc, &(pd_model_opts){.seed = s, .pad_multiple = S});
 *     pd_X_params(m) ... pd_X_destroy(m);
 * (opts NULL: seed 0, unpadded, as inference loads a checkpoint over the initial values). */
#ifndef PD_MODELS_MODEL_OPTS_H
#define PD_MODELS_MODEL_OPTS_H

#include <stdint.h>

typedef struct pd_model_opts {
    uint64_t seed;         /* initial values depend on (seed, parameter name) only */
    int64_t pad_multiple;  /* units padded for a shard group of this many ranks (0 or 1: none) */
} pd_model_opts;

static inline uint64_t pd_model_seed(const pd_model_opts *o) { return o ? o->seed : 0; }
static inline int64_t pd_model_pad(const pd_model_opts *o) { return o && o->pad_multiple > 1 ? o->pad_multiple : 1; }

#endif
