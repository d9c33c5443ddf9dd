/* engine.h — the training state of one model under one parallel strategy: where parameters,
 * gradients and AdamW moments live (replicated, sharded per unit, gathered on demand), the
 * FSDP/ZeRO unit hooks that move them during forward and backward, the gradient reduction,
 * the global gradient norm and the sharded optimizer step. The model never sees any of it.
 *
 * Every unit is handled in one of four modes (the strategy picks; see docs/training.md):
 *   REPLICATED  ddp: full parameters and gradients, gradients allreduced in buckets that are
 *               launched from the backward hooks as soon as all their units are final;
 *   ZERO1       full parameters and gradients, reduce-scatter after backward, AdamW on the
 *               owned slice, all-gather of the parameters after the step;
 *   ZERO2       full parameters; each unit's gradient is bound to a work buffer in backward
 *               and reduce-scattered into a shard-sized buffer when the unit's backward ends;
 *   FSDP        parameters kept as the owned slice; the unit is all-gathered before its
 *               forward and again before its backward; gradients as in ZERO2 (fsdp, hsdp).
 * hsdp additionally allreduces the gradient shards across replicas after backward. */
#ifndef PD_TRAIN_ENGINE_H
#define PD_TRAIN_ENGINE_H

#include <stdint.h>

#include "core/error.h"
#include "nn/optim.h"
#include "nn/params.h"
#include "nn/tape.h"
#include "parallel/collectives.h"
#include "parallel/shard.h"
#include "parallel/topology.h"

typedef enum pd_unit_mode { PD_UNIT_REPLICATED = 0, PD_UNIT_ZERO1, PD_UNIT_ZERO2, PD_UNIT_FSDP } pd_unit_mode;

/* Bytes of training state this rank actually allocated (not a formula). */
typedef struct pd_engine_memory {
    uint64_t params, grads, optimizer, work;
} pd_engine_memory;

typedef struct pd_engine {
    const pd_topology *topo;
    pd_coll_set *cs;
    pd_params *P;
    pd_shard_layout layout;     /* units of P (their padded sizes) over the partition group */
    int n_units;
    int prank, psize;           /* this rank in the partition group, its size */
    pd_unit_mode *mode;
    int *fwd_uses, *bwd_uses;   /* per step: forward passes through a unit with grad recorded */
    float *shard_data;          /* FSDP units: owned slices (layout.shard_total) */
    float *shard_grad;          /* ZERO2/FSDP units: reduced gradient slices */
    float *work_data;           /* FSDP: one gathered unit (layout.max_padded) */
    float *work_grad;           /* ZERO2/FSDP: one unit's local gradient */
    float *scratch;             /* one reduce-scattered slice */
    pd_adamw *opt;              /* one AdamW per unit over the owned flat range */
    /* ddp buckets */
    pd_bucket *buckets;
    int n_buckets, next_bucket;
    int *bucket_of_unit, *bucket_pending;
    pd_coll_request *requests;
    pd_engine_memory mem;
    pd_graph *g;                /* graph whose hooks we serve (grad-mode queries) */
    int sync;                   /* 0 while accumulating micro-batches that are not the step's last:
                                 * ddp holds its bucket allreduces until the last one */
} pd_engine;

/* Build the state of P under the topology's plan. P must have been finalized with
 * pad_multiple = the partition group's size. Full buffers the strategy does not keep are
 * released from P (P->data under fsdp/hsdp, P->grad under zero2/fsdp/hsdp). */
pd_status pd_engine_init(pd_engine *e, const pd_topology *topo, pd_coll_set *cs, pd_params *P,
                         const pd_adamw_config *adamw, double bucket_mb);
void pd_engine_free(pd_engine *e);
/* Install the unit hooks on g (forward gathers, backward reductions). */
void pd_engine_attach(pd_engine *e, pd_graph *g);

/* Before a step's forward: zero gradients, reset the per-step unit counters. */
void pd_engine_begin_step(pd_engine *e);
/* Before micro-batch k of a step's `n` (gradient accumulation): the first zeroes gradients like
 * pd_engine_begin_step; every one resets the unit counters (one graph per micro-batch). zero2/fsdp/
 * hsdp reduce-scatter each micro-batch's unit gradients into the owned slices as they go (and fsdp
 * gathers each unit again for every micro-batch); ddp launches its bucket allreduces only in the
 * last one, zero1 reduces once after it (pd_engine_finish_backward). */
void pd_engine_begin_micro(pd_engine *e, int64_t k, int64_t n);
/* After pd_backward: finish every reduction. Then each rank's owned gradient slices hold the
 * gradient summed over all ranks. */
pd_status pd_engine_finish_backward(pd_engine *e);
/* Global squared gradient norm (owned slices summed over the partition group). */
pd_status pd_engine_grad_sumsq(pd_engine *e, double *sumsq);
/* AdamW on the owned slices with learning rate lr and gradient factor grad_scale (clipping),
 * then the all-gathers that restore full parameters where the mode keeps them. */
pd_status pd_engine_apply(pd_engine *e, double lr, double grad_scale);
/* The same with a learning rate per unit (e->n_units values); a unit at 0 is frozen for the step:
 * its parameters, AdamW moments and weight decay are left alone. */
pd_status pd_engine_apply_per_unit(pd_engine *e, const double *unit_lr, double grad_scale);
/* ddp (engine_hooks.c): start the allreduce of every bucket whose units are all final, in
 * bucket order; force = 1 starts the rest (units never seen in a hook). */
pd_status pd_engine_launch_ready_buckets(pd_engine *e, int force);
/* Optimizer steps taken (AdamW's bias-correction counter). */
int64_t pd_engine_opt_step(const pd_engine *e);
void pd_engine_set_opt_step(pd_engine *e, int64_t step);

/* Checkpoint access, per unit u: the flat range [*begin, *begin + *n) of P's layout this rank
 * owns (its slice of the unit; the whole unit under ddp) and the memory holding parameters,
 * AdamW m and v for it. */
void pd_engine_owned(const pd_engine *e, int u, int64_t *begin, int64_t *n, float **data, float **m, float **v);
/* The full parameters of unit u on this rank (ddp/zero), or NULL when only the slice is kept. */
float *pd_engine_full_unit(const pd_engine *e, int u);
/* 1 when this rank writes its owned ranges into checkpoints (the first replica). */
int pd_engine_writes_checkpoint(const pd_engine *e);

/* Per-rank bytes, the layout's prediction and the formulas, as lines on rank 0's log. */
void pd_engine_report_memory(const pd_engine *e);

#endif
