/* trainer.h — the state the pieces of the training loop share (loop.c drives it,
 * train_step.c runs one optimizer step, validate.c one pass over the valid split). Internal to
 * src/train. */
#ifndef PD_TRAIN_TRAINER_H
#define PD_TRAIN_TRAINER_H

#include <mpi.h>
#include <stdint.h>

#include "core/config.h"
#include "dataset/reader.h"
#include "nn/optim.h"
#include "nn/tape.h"
#include "parallel/collectives.h"
#include "parallel/sampler.h"
#include "parallel/topology.h"
#include "train/engine.h"
#include "train/stage.h"

/* One split's entries: dataset indices and lengths, in dataset order. */
typedef struct pd_split_list {
    int64_t n;
    int64_t *entries;
    int32_t *lengths;   /* the sampler's cost per entry: residues, or the stage's entry_plan cost */
    int32_t *groups;    /* the stage's entry_plan groups, or NULL (one group) */
} pd_split_list;

typedef struct pd_trainer {
    const pd_config *cfg;
    const char *stage_name;
    MPI_Comm world;
    int rank, nranks;
    pd_topology topo;
    pd_coll_set cs;
    pd_dataset *ds;
    pd_stage stage;
    pd_engine engine;
    pd_graph *g;
    pd_split_list train, valid;
    pd_sampler sampler;
    /* settings (train.<stage>.* or train.*) */
    int64_t steps, batch_residues, val_every, log_every, checkpoint_every, keep_checkpoints;
    uint64_t seed;
    double grad_clip;
    pd_lr_schedule schedule;
    /* The memory plan (loop.c, before step 1): micro-batches of at most micro_residues cost (0 =
     * no limit), the stage's activation estimate, the per-rank budget and what the state takes. */
    int64_t micro_residues;
    double micro_bytes;     /* and of at most this activation estimate (0 = no limit) */
    pd_stage_memory mem;
    double budget_bytes, state_bytes, activation_bytes;
    /* The step's measured arena peak and the plan's estimate for its largest micro-batch (max over
     * ranks), and its micro-batch count (max over ranks). */
    double peak_bytes, plan_bytes, max_peak_bytes, max_plan_bytes;
    int64_t micro_batches;
} pd_trainer;

typedef struct pd_step_result {
    double loss;
    pd_stage_terms terms;   /* global values */
    double grad_norm, lr;
    int64_t residues;       /* global residues of the batch */
    double count;           /* the global normaliser */
    int64_t epoch;
    double seconds, comm_seconds;
    double comm_calls, comm_mb;   /* this rank's collective calls and bus MiB this step (max over ranks) */
    double peak_mb, plan_mb;   /* activation arena peak measured, and estimated (max over ranks) */
    int64_t micro_batches;     /* forwards per rank this step (max over ranks) */
} pd_step_result;

/* One optimizer step at index `step` (0-based). Collective. */
pd_status pd_trainer_step(pd_trainer *t, int64_t step, pd_step_result *r);
/* Validation over the whole valid split; out->n = 0 when the split is empty. Collective. */
pd_status pd_trainer_validate(pd_trainer *t, pd_stage_metrics *out);
/* This rank's part of a global batch as a stage batch (a phantom batch of the split's cheapest
 * entry, in the batch's group, when it has none), read from the dataset; agreed across ranks. `step` is the training
 * step, 1-based as in metrics.jsonl (0 for validation: no random subsampling). `entries` is storage for the dataset indices
 * (at least global->n + 1). */
pd_status pd_trainer_load_batch(pd_trainer *t, const pd_split_list *split, const pd_batch *global, int64_t step,
                                int64_t *entries, pd_stage_batch *b);

/* A rank's share of a global batch cut into micro-batches (train_step.c): micro-batch k is items
 * [first[k] .. first[k+1]), item i being the residues [begin[i], begin[i] + cost[i]) of dataset
 * entry entries[i] (begin 0 and the entry's whole cost unless it was cut), consecutive in the
 * share's order, each micro-batch within t->micro_residues cost and t->micro_bytes of estimated
 * activations. An entry over either limit is cut into near-equal residue ranges, each a micro-batch
 * alone, when the stage is per_residue (n_cut counts them), and is a micro-batch alone otherwise.
 * n = this rank's count; n_all the count over ranks (max, >= 1): micro-batches k >= n are phantoms
 * of `phantom`, so every rank runs n_all forwards (sharded strategies gather units in each).
 * Collective. */
typedef struct pd_micro_plan {
    int64_t n_items, n, n_all, n_cut;
    int64_t *entries, *first;
    int32_t *cost, *begin;
    int64_t phantom;       /* dataset index of the phantom entry (-1: the global batch is empty) */
    double max_bytes;      /* the largest micro-batch's activation estimate */
} pd_micro_plan;
pd_status pd_trainer_micro_plan(pd_trainer *t, const pd_split_list *split, const pd_batch *global, pd_micro_plan *mp);
/* How many residue ranges the plan cuts an entry of cost `len` into: 1 (whole) unless the stage is
 * per_residue and the entry alone exceeds t->micro_residues or t->micro_bytes. */
int64_t pd_trainer_entry_pieces(const pd_trainer *t, int32_t len);
void pd_micro_plan_free(pd_micro_plan *mp);
/* Read micro-batch k (a phantom when k >= mp->n) for training step `step` (0 = validation). */
pd_status pd_trainer_load_micro(pd_trainer *t, const pd_micro_plan *mp, int64_t k, int64_t step, pd_stage_batch *b);

#endif
