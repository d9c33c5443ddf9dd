/* stage.h — what the shared training loop needs from a stage (sc_vae, bb_vae, diffusion,
 * tokenizer, ...): a model in one parameter store, batches read from the dataset, a loss
 * normalised by a GLOBAL count, validation sums, and non-parameter state for checkpoints.
 * A stage never sees ranks or strategies: the engine hands it global counts and sums. */
#ifndef PD_TRAIN_STAGE_H
#define PD_TRAIN_STAGE_H

#include <stdint.h>

#include "core/config.h"
#include "core/error.h"
#include "dataset/reader.h"
#include "nn/params.h"
#include "nn/tape.h"

#define PD_STAGE_MAX_TERMS 16
#define PD_STAGE_MAX_METRICS 32

/* Named values of one step. Loss terms are already divided by the global normaliser, so the
 * engine sums them over ranks to get the global value. */
typedef struct pd_stage_terms {
    int n;
    const char *name[PD_STAGE_MAX_TERMS];  /* static strings: "mse", "kl", "ce", ... */
    double value[PD_STAGE_MAX_TERMS];
} pd_stage_terms;

/* Named validation metrics ("val_mse", "val_baseline_acc", ...). A metric may be a list
 * (per-level values): n_values > 1 and values[] used. */
typedef struct pd_stage_metric {
    const char *name;
    double value;
    int n_values;
    double values[16];
} pd_stage_metric;

typedef struct pd_stage_metrics {
    int n;
    pd_stage_metric m[PD_STAGE_MAX_METRICS];
} pd_stage_metrics;

/* Collective services the engine offers a stage's hooks (the stage does not know the ranks). */
typedef struct pd_stage_comm {
    /* Sum `n` doubles over every rank of the job, in place. */
    pd_status (*sum_f64)(void *user, double *buf, int64_t n);
    /* Rank 0's `n` bytes to every rank (e.g. the vectors a VQ codebook re-seeds from). */
    pd_status (*broadcast)(void *user, void *buf, int64_t bytes);
    void *user;
} pd_stage_comm;

/* Writing and reading arrays of a checkpoint's stage group (checkpoint.c implements them; in a
 * multi-rank job every rank calls them with the same arguments and identical data). */
typedef struct pd_stage_store {
    pd_status (*put_f64)(void *user, const char *name, int64_t n, const double *data);
    pd_status (*get_f64)(void *user, const char *name, int64_t n, double *data);
    pd_status (*put_f32)(void *user, const char *name, int64_t n, const float *data);
    pd_status (*get_f32)(void *user, const char *name, int64_t n, float *data);
    void *user;
} pd_stage_store;

typedef struct pd_stage pd_stage;

/* A batch: the entries this rank processes (indices into the dataset), and whatever the stage
 * read for them. A phantom batch holds the split's cheapest entry with weight 0: a rank
 * without entries in a global batch still runs the forward (sharded strategies gather units
 * there), and the engine zeroes its contribution. */
typedef struct pd_stage_batch {
    int64_t n_entries;
    const int64_t *entries;   /* dataset entry indices */
    int phantom;              /* 1: contribute nothing (loss scaled by 0, sums discarded) */
    int64_t count;            /* this rank's count for global normalisation (0 if phantom) */
    int64_t residues;         /* residues read (throughput) */
    int64_t step;             /* the training step the batch is for (1-based); 0 in validation */
    /* Residue ranges (only for stages with per_residue, in training and validation): entry i
     * contributes its residues [range_first[i], range_first[i] + range_len[i]) only. NULL: whole
     * entries. A long entry cut into ranges spreads over several micro-batches. */
    const int32_t *range_first, *range_len;
    void *data;               /* the stage's own arrays */
    /* Training: the stage's batch_counts summed over every micro-batch of every rank (the engine
     * sets it before `loss`), so a loss split into micro-batches divides by the whole global batch's
     * counts; NULL outside training or when the stage has no batch_counts. */
    const double *global_counts;
} pd_stage_batch;

#define PD_STAGE_MAX_COUNTS 8

typedef struct pd_stage_ops {
    const char *name;          /* "sc_vae" */
    const char *count_name;    /* what the global normaliser counts: "residues", "pixels" */
    /* 1: the model treats residues as independent samples (the loss of an entry is the sum of its
     * residues' losses, noise is keyed by residue row): the engine may cut an entry that does not
     * fit a micro-batch into residue ranges (pd_stage_batch.range_*), which load_batch must honour.
     * 0: the model needs whole entries (attention over the chain). */
    int per_residue;
    /* Build the model from the run file with units padded for `pad_multiple` ranks and
     * parameters initialised from `seed`; sets s->params and s->model. */
    pd_status (*create)(pd_stage *s, const pd_config *cfg, uint64_t seed, int64_t pad_multiple);
    void (*destroy)(pd_stage *s);
    /* Read this rank's entries (b->entries) from the dataset; set b->data, b->count, b->residues. */
    pd_status (*load_batch)(pd_stage *s, pd_dataset *ds, pd_stage_batch *b);
    void (*free_batch)(pd_stage *s, pd_stage_batch *b);
    /* The training loss of a batch on graph g (training mode), divided by `normaliser` (the
     * global count); fills terms. NULL when the graph failed (pd_graph_status says why). */
    pd_tensor *(*loss)(pd_stage *s, pd_graph *g, pd_stage_batch *b, int64_t step, double normaliser,
                       pd_stage_terms *terms);
    /* Optional: after each optimizer step (BatchNorm statistics, EMA codebooks). Every rank calls
     * it; the stage sums what it needs over ranks with comm. b is this step's batch (phantom
     * batches too: skip their data). */
    pd_status (*after_step)(pd_stage *s, pd_graph *g, pd_stage_batch *b, int64_t step, const pd_stage_comm *comm);
    /* Validation: sums (n_val_sums doubles) accumulated over the valid split's batches in eval
     * mode on graph g, then summed over ranks by the engine and turned into metrics. */
    int64_t (*n_val_sums)(pd_stage *s);
    pd_status (*val_accumulate)(pd_stage *s, pd_graph *g, pd_stage_batch *b, double *sums);
    void (*val_finish)(pd_stage *s, const double *sums, pd_stage_metrics *out);
    /* Optional: how an entry of a split enters this stage's batches, from its residue count:
     * *cost is what it counts against train.batch_residues (0 = the stage does not use the entry:
     * it is left out of training and validation), *group a key that a global batch never mixes
     * (e.g. the tokenizer's image-length bins). NULL: cost = length, one group. */
    void (*entry_plan)(const pd_config *cfg, int32_t length, int32_t *cost, int32_t *group);
    /* Optional: the learning rate of parameter unit `unit` (index into s->params->units) at
     * training step `step` (0-based, as the schedule's), given the run schedule's value `lr`.
     * 0 freezes the unit for the step (AdamW leaves it and its moments alone). NULL: `lr` for
     * every unit. For stages that train parts of the model in phases. */
    double (*unit_lr)(pd_stage *s, int64_t step, int unit, double lr);
    /* Optional: counts the loss divides by besides b->count (n_counts <= PD_STAGE_MAX_COUNTS, e.g.
     * bb_vae's sequence targets and KL residues): this batch's local values (zeros for a phantom).
     * The engine sums them over the micro-batches and ranks of the step and hands the loss the
     * global values in b->global_counts. */
    int n_counts;
    void (*batch_counts)(pd_stage *s, const pd_stage_batch *b, double *counts);
    /* Optional non-parameter state in checkpoints (identical on every rank). */
    pd_status (*save_state)(pd_stage *s, const pd_stage_store *store);
    pd_status (*load_state)(pd_stage *s, const pd_stage_store *store);
    /* Optional, for `proteindiff encode` (src/train/latents.h, docs/latents-format.md): the
     * per-residue latent size, and the latents of a batch of CONSECUTIVE dataset entries read
     * by load_batch (never phantom), computed on g in eval mode without gradients (z = mean).
     * mu_rows and logvar_rows are [b->residues, latent_dim] row-major and valid_rows [b->residues],
     * all zeroed by the caller; row r is dataset residue row first_row + r (first_row = the
     * residue_offset of b->entries[0]). The hook fills the rows it encodes and sets their
     * valid_rows[r] = 1; rows it does not encode (masked, unlabelled) stay zero. */
    int64_t (*latent_dim)(pd_stage *s);
    pd_status (*encode)(pd_stage *s, pd_graph *g, pd_stage_batch *b, int64_t first_row, float *mu_rows,
                        float *logvar_rows, uint8_t *valid_rows);
} pd_stage_ops;

struct pd_stage {
    const pd_stage_ops *ops;
    const pd_config *cfg;
    uint64_t seed;
    pd_params *params;   /* the model's store (owned by the model) */
    void *model;         /* the stage's model object */
    void *priv;          /* adapter state */
    /* Collectives during `loss` (set by the engine for the duration of a training step, NULL
     * otherwise): for global batch statistics inside the forward (synchronised BatchNorm). Every
     * rank's loss must then make the same calls in the same order. */
    const pd_stage_comm *comm;
};

/* The stage called `name`; PD_ERR_USAGE listing the stages when unknown, PD_ERR_NOT_IMPLEMENTED
 * for a planned stage whose adapter has not landed. */
pd_status pd_stage_find(const char *name, const pd_stage_ops **out);
/* "sc_vae, probe, ..." for messages and usage text. */
const char *pd_stage_names(void);

/* The activation memory of one training micro-batch (forward and backward on the tape: the graph
 * arena's peak), estimated from the run file's model settings (src/train/stage_memory.c):
 *     bytes = fixed + sum over its n entries of (per_entry + per_cost * c + per_cost_sq * c^2)
 *             + n * (padded_cost * longest + padded_cost_sq * longest^2)
 * with c the entry's cost (what counts against train.batch_residues: residues, or the tokenizer's
 * image pixels). whole_batch = 1: the stage cannot split a rank's share into micro-batches (the
 * tokenizer's synchronised BatchNorm and EMA codebook need the whole batch in one forward). */
typedef struct pd_stage_memory {
    double fixed, per_entry, per_cost, per_cost_sq;
    /* stages that pad every entry to the micro-batch's longest (attention): n x longest, n x longest^2 */
    double padded_cost, padded_cost_sq;
    int whole_batch;
    char basis[160];      /* how the figures were derived, for the plan's log line */
} pd_stage_memory;

/* The estimate of stage `name` for run file cfg (feature sizes from featurize.*). PD_ERR_NOT_IMPLEMENTED
 * for a stage without one. */
pd_status pd_stage_memory_model(const char *name, const pd_config *cfg, pd_stage_memory *m);
/* Inference (eval mode, gradients off: encode, design, evaluate, score, tokenize): the activation
 * estimate of one forward of a part of stage `name`'s model, in the same form (entries of cost c):
 *   "encode"  sc_vae / bb_vae encoder (bb_vae with its sequence head), tokenizer encoder + decoder
 *             (tokenize decodes to check the reconstruction);
 *   "decode"  sc_vae decoder + classifier (per residue);
 *   "denoise" one DiT call of the diffusion sampler (entries padded to the longest).
 * The training estimate's feature maps times a constant measured with the arena's peak (forward
 * outputs only: no gradients, nothing saved for backward). PD_ERR_NOT_IMPLEMENTED otherwise. */
pd_status pd_stage_memory_infer(const char *name, const char *part, const pd_config *cfg, pd_stage_memory *m);
/* Bytes of a micro-batch of n entries of costs c[] under m. */
double pd_stage_memory_bytes(const pd_stage_memory *m, const int32_t *c, int64_t n);
/* The same for n entries of one cost c (design's samples of one backbone, tokenize's images of
 * one side: c = side^2 pixels). */
double pd_stage_memory_bytes_uniform(const pd_stage_memory *m, double c, int64_t n);

/* Add a metric to a stage's validation output. */
void pd_stage_metric_add(pd_stage_metrics *out, const char *name, double value);
/* Add a loss term. */
void pd_stage_term_add(pd_stage_terms *t, const char *name, double value);

#endif
