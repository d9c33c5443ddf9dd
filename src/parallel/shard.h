/* shard.h — the arithmetic of flat-buffer sharding. A model's parameters are one flat buffer
 * cut into units (an FSDP unit is a block); each unit is padded to a multiple of the
 * partition-group size P so that every rank owns one equal contiguous slice of it, and every
 * collective is a single call on a contiguous range. Also: gradient buckets for ddp, and the
 * bytes of parameters + gradients + optimizer state a rank holds under each strategy.
 *
 * Three buffer shapes appear:
 *   dense   units back to back, no padding: what a checkpoint stores (independent of P);
 *   padded  unit u at units[u].offset with zeroed padding after its `length` elements: the
 *           full replicated buffer of ddp/zero1/zero2, and the unit work buffer of fsdp;
 *   shard   this rank's slices of all units back to back (units[u].shard_offset): what
 *           fsdp/hsdp keep, and the index space of a sharded optimizer's state. */
#ifndef PD_PARALLEL_SHARD_H
#define PD_PARALLEL_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "parallel/collectives.h"
#include "parallel/topology.h"

typedef struct pd_unit_layout {
    size_t length;       /* real elements of the unit */
    size_t dense_offset; /* start in the dense buffer */
    size_t padded;       /* length rounded up to a multiple of P */
    size_t offset;       /* start in the padded buffer */
    size_t shard_len;    /* padded / P: the slice every rank owns */
    size_t shard_offset; /* start of the slice in a rank's shard buffer */
} pd_unit_layout;

typedef struct pd_shard_layout {
    int n_units;
    pd_unit_layout *units;
    int nranks, rank;     /* P and this rank's index in the partition group */
    size_t params;        /* sum of lengths: the parameter count (Psi) */
    size_t total;         /* sum of padded lengths: the padded buffer */
    size_t shard_total;   /* total / P: a rank's shard buffer */
    size_t max_padded;    /* the largest padded unit: the fsdp work buffer */
} pd_shard_layout;

/* Units of `lengths[u]` elements (zero-length units are allowed), partitioned over `nranks`. */
pd_status pd_shard_layout_init(pd_shard_layout *l, int n_units, const size_t *lengths, int nranks, int rank);
void pd_shard_layout_free(pd_shard_layout *l);
/* The real elements of unit u that `rank` owns, as [*begin, *end) relative to the unit
 * (empty when the rank's slice is all padding). */
void pd_shard_owned(const pd_shard_layout *l, int u, int rank, size_t *begin, size_t *end);
/* This rank's slice of unit u inside a padded buffer. */
float *pd_shard_slot(const pd_shard_layout *l, int u, float *padded);

/* Layout conversions on one rank (checkpoints, resharding on load). Padding is written as 0. */
void pd_shard_dense_to_padded(const pd_shard_layout *l, const float *dense, float *padded);
void pd_shard_padded_to_dense(const pd_shard_layout *l, const float *padded, float *dense);
void pd_shard_dense_to_shard(const pd_shard_layout *l, const float *dense, float *shard);
/* This rank's owned real elements of `shard` written into their places of `dense` (others
 * untouched): the inverse of dense_to_shard restricted to what the rank owns. */
void pd_shard_shard_to_dense(const pd_shard_layout *l, const float *shard, float *dense);

/* fsdp/hsdp: unit u's full parameters (padded, max_padded elements suffice) from every rank's
 * shard, over the partition group. */
pd_status pd_shard_gather_unit(pd_coll *partition, const pd_shard_layout *l, int u, const float *shard, float *work);
/* fsdp/hsdp (and ddp with P = 1): unit u's local gradient in `work_grad` (padded; its padding
 * is zeroed here) summed over all ranks into this rank's slice of `shard_grad`:
 * reduce-scatter over `partition`, then allreduce of the slice over `replicate`. */
pd_status pd_shard_reduce_unit_grads(pd_coll *partition, pd_coll *replicate, const pd_shard_layout *l, int u,
                                     float *work_grad, float *shard_grad);
/* zero1/zero2: the same on a full padded gradient buffer, in place: afterwards each unit's
 * slot (pd_shard_slot) holds the summed gradient, the rest of the buffer is undefined. */
pd_status pd_shard_reduce_grads_in_place(pd_coll *partition, pd_coll *replicate, const pd_shard_layout *l,
                                         float *padded_grad);
/* zero1/zero2: after each rank updated its slots, the full padded parameters everywhere. */
pd_status pd_shard_gather_params_in_place(pd_coll *partition, const pd_shard_layout *l, float *padded_params);

/* Gradient buckets for ddp: whole units grouped, last unit first (the order backward
 * produces them), each at most `bucket_elems` elements unless one unit alone is larger. A
 * bucket is the padded range [offset, offset + count) holding units first_unit..last_unit. */
typedef struct pd_bucket {
    int first_unit, last_unit;
    size_t offset, count;
} pd_bucket;
pd_status pd_shard_buckets(const pd_shard_layout *l, size_t bucket_elems, pd_bucket **buckets, int *n_buckets);

/* Bytes per rank of training state. */
typedef enum pd_precision {
    PD_PRECISION_FP32 = 0, /* fp32 parameters and gradients, AdamW m and v: 4 + 4 + 8 bytes */
    PD_PRECISION_MIXED     /* bf16/fp16 parameters and gradients, fp32 master copy, m and v:
                            * 2 + 2 + 12 bytes: the ZeRO paper's accounting */
} pd_precision;

typedef struct pd_memory {
    uint64_t params, grads, optimizer; /* persistent state */
    uint64_t work;                     /* transient buffers: fsdp gathered unit (params and
                                        * grads), zero2 gradient bucket */
    uint64_t state;                    /* params + grads + optimizer */
} pd_memory;

/* From the actual layout (padding included); `l` must be partitioned over the strategy's
 * partition group (P = 1 for ddp). bucket_elems sizes zero2's transient gradient bucket. */
pd_memory pd_shard_memory(pd_strategy s, const pd_shard_layout *l, pd_precision p, size_t bucket_elems);
/* The ZeRO paper's mixed-precision formulas in bytes: ddp 16Psi, zero1 4Psi + 12Psi/N,
 * zero2 2Psi + 14Psi/N, fsdp 16Psi/N; hsdp 16Psi/N with N the shard-group size. */
double pd_zero_formula_bytes(pd_strategy s, double psi, int n);

#endif
