/* topology.h — who talks to whom. Splits the world into shard groups of S ranks (default: the
 * ranks of one node) and replica groups across them, and says for each parallel.strategy
 * which group parameters/gradients/optimizer state are partitioned over and which group the
 * partitioned gradients are summed across. The training engine reads only the plan. */
#ifndef PD_PARALLEL_TOPOLOGY_H
#define PD_PARALLEL_TOPOLOGY_H

#include <mpi.h>

#include "core/config.h"
#include "core/error.h"

typedef enum pd_strategy {
    PD_STRATEGY_DDP = 0, /* everything replicated; gradients allreduced over the world */
    PD_STRATEGY_ZERO1,   /* optimizer state partitioned over the world */
    PD_STRATEGY_ZERO2,   /* optimizer state and gradients partitioned over the world */
    PD_STRATEGY_FSDP,    /* parameters too, gathered per unit for forward/backward (world) */
    PD_STRATEGY_HSDP     /* fsdp within a shard group, replicated across shard groups */
} pd_strategy;

/* "ddp" ... "hsdp" -> enum; PD_ERR_CONFIG naming parallel.strategy otherwise. */
pd_status pd_strategy_parse(const char *name, pd_strategy *out);
const char *pd_strategy_name(pd_strategy s);

/* A communicator with its rank and size; `comm` is always a valid communicator (a size-1
 * group is a duplicate of MPI_COMM_SELF), so collectives on it are plain copies. */
typedef struct pd_group {
    const char *name; /* "world", "node", "shard", "replica", "self" */
    MPI_Comm comm;
    int rank, size;
} pd_group;

/* What a strategy does with the groups. Every strategy is the same two-level scheme:
 * state is partitioned over `partition` (P ranks) and replicated across `replicate` (R
 * ranks), with P * R = world size. A step reduce-scatters gradients over `partition` (a copy
 * when P = 1) and then allreduces the gradient shard over `replicate` (nothing when R = 1). */
typedef struct pd_plan {
    pd_strategy strategy;
    const pd_group *partition;  /* ddp: self; zero1/zero2/fsdp: world; hsdp: shard */
    const pd_group *replicate;  /* ddp: world; zero1/zero2/fsdp: self; hsdp: replica */
    int shard_optimizer;        /* optimizer state holds only the owned slice (all but ddp) */
    int shard_gradients;        /* gradients kept only as the owned slice after the backward
                                 * pass (zero2, fsdp, hsdp); zero1 keeps the full buffer */
    int shard_parameters;       /* parameters held as the owned slice, units gathered for
                                 * forward and again for backward (fsdp, hsdp) */
    int gather_after_step;      /* zero1/zero2: all-gather the updated parameter slices
                                 * into the replicated full buffer after the optimizer step */
} pd_plan;

/* plan's pointers refer to the groups inside the struct: keep a pd_topology where it was
 * created (pass pointers, never copies). */
typedef struct pd_topology {
    pd_group world;    /* a duplicate of the world communicator given at creation */
    pd_group node;     /* ranks sharing memory with this one (MPI_COMM_TYPE_SHARED) */
    pd_group shard;    /* S ranks; world ranks [g*S, (g+1)*S) or the node when S = 0 */
    pd_group replica;  /* world/S ranks with the same shard-group rank, one per shard group */
    pd_group self;     /* this rank alone */
    int shard_size;    /* S */
    int shard_index;   /* g: which shard group this rank is in (= replica.rank) */
    pd_plan plan;
} pd_topology;

/* Collective over `world`. shard_group = 0 takes the ranks of one node (every node must have
 * the same number of ranks); S > 0 takes consecutive world ranks (srun's block distribution
 * puts them on one node). S must divide the world size; otherwise every rank returns the
 * same PD_ERR_CONFIG saying which sizes would work. */
pd_status pd_topology_create(pd_topology *t, MPI_Comm world, pd_strategy strategy, int shard_group);
/* The same from the run file's parallel.strategy and parallel.shard_group. */
pd_status pd_topology_from_config(pd_topology *t, MPI_Comm world, const pd_config *cfg);
void pd_topology_free(pd_topology *t);
/* One line for the run log: "fsdp: partition over world (4 ranks), replicate over self (1)". */
void pd_topology_describe(const pd_topology *t, char *buf, int len);

#endif
