/* shard.c — unit padding, owned slices, layout conversions, the gather/reduce helpers of
 * fsdp and zero, ddp gradient buckets and per-rank memory accounting; see shard.h. */
#include "parallel/shard.h"

#include <stdlib.h>
#include <string.h>

pd_status pd_shard_layout_init(pd_shard_layout *l, int n_units, const size_t *lengths, int nranks, int rank)
{
    memset(l, 0, sizeof *l);
    if (n_units < 0 || nranks < 1 || rank < 0 || rank >= nranks)
        return pd_fail(PD_ERR, "shard layout: %d units over %d ranks with rank %d is not a valid partition",
                       n_units, nranks, rank);
    l->units = pd_calloc(n_units > 0 ? (size_t)n_units : 1, sizeof *l->units);
    if (!l->units) return PD_ERR_NOMEM;
    l->n_units = n_units;
    l->nranks = nranks;
    l->rank = rank;
    size_t dense = 0, padded = 0, shard = 0;
    for (int u = 0; u < n_units; u++) {
        pd_unit_layout *x = &l->units[u];
        x->length = lengths[u];
        x->dense_offset = dense;
        x->padded = (lengths[u] + (size_t)nranks - 1) / (size_t)nranks * (size_t)nranks;
        x->offset = padded;
        x->shard_len = x->padded / (size_t)nranks;
        x->shard_offset = shard;
        dense += x->length;
        padded += x->padded;
        shard += x->shard_len;
        if (x->padded > l->max_padded) l->max_padded = x->padded;
    }
    l->params = dense;
    l->total = padded;
    l->shard_total = shard;
    return PD_OK;
}

void pd_shard_layout_free(pd_shard_layout *l)
{
    free(l->units);
    memset(l, 0, sizeof *l);
}

void pd_shard_owned(const pd_shard_layout *l, int u, int rank, size_t *begin, size_t *end)
{
    const pd_unit_layout *x = &l->units[u];
    size_t b = (size_t)rank * x->shard_len, e = b + x->shard_len;
    if (b > x->length) b = x->length;
    if (e > x->length) e = x->length;
    *begin = b;
    *end = e;
}

float *pd_shard_slot(const pd_shard_layout *l, int u, float *padded)
{
    const pd_unit_layout *x = &l->units[u];
    return padded + x->offset + (size_t)l->rank * x->shard_len;
}

void pd_shard_dense_to_padded(const pd_shard_layout *l, const float *dense, float *padded)
{
    for (int u = 0; u < l->n_units; u++) {
        const pd_unit_layout *x = &l->units[u];
        memcpy(padded + x->offset, dense + x->dense_offset, x->length * sizeof(float));
        memset(padded + x->offset + x->length, 0, (x->padded - x->length) * sizeof(float));
    }
}

void pd_shard_padded_to_dense(const pd_shard_layout *l, const float *padded, float *dense)
{
    for (int u = 0; u < l->n_units; u++) {
        const pd_unit_layout *x = &l->units[u];
        memcpy(dense + x->dense_offset, padded + x->offset, x->length * sizeof(float));
    }
}

void pd_shard_dense_to_shard(const pd_shard_layout *l, const float *dense, float *shard)
{
    for (int u = 0; u < l->n_units; u++) {
        const pd_unit_layout *x = &l->units[u];
        size_t b, e;
        pd_shard_owned(l, u, l->rank, &b, &e);
        memcpy(shard + x->shard_offset, dense + x->dense_offset + b, (e - b) * sizeof(float));
        memset(shard + x->shard_offset + (e - b), 0, (x->shard_len - (e - b)) * sizeof(float));
    }
}

void pd_shard_shard_to_dense(const pd_shard_layout *l, const float *shard, float *dense)
{
    for (int u = 0; u < l->n_units; u++) {
        const pd_unit_layout *x = &l->units[u];
        size_t b, e;
        pd_shard_owned(l, u, l->rank, &b, &e);
        memcpy(dense + x->dense_offset + b, shard + x->shard_offset, (e - b) * sizeof(float));
    }
}

static pd_status check_group(pd_coll *partition, const pd_shard_layout *l, const char *what)
{
    if (partition->size != l->nranks || partition->rank != l->rank)
        return pd_fail(PD_ERR, "%s: the layout is partitioned over %d ranks (rank %d) but the %s group has %d "
                       "(rank %d); build the layout with the plan's partition group",
                       what, l->nranks, l->rank, partition->name, partition->size, partition->rank);
    return PD_OK;
}

pd_status pd_shard_gather_unit(pd_coll *partition, const pd_shard_layout *l, int u, const float *shard, float *work)
{
    PD_TRY(check_group(partition, l, "gathering a unit"));
    const pd_unit_layout *x = &l->units[u];
    return pd_coll_all_gather(partition, shard + x->shard_offset, work, x->shard_len, PD_DT_F32);
}

pd_status pd_shard_reduce_unit_grads(pd_coll *partition, pd_coll *replicate, const pd_shard_layout *l, int u,
                                     float *work_grad, float *shard_grad)
{
    PD_TRY(check_group(partition, l, "reducing a unit's gradients"));
    const pd_unit_layout *x = &l->units[u];
    memset(work_grad + x->length, 0, (x->padded - x->length) * sizeof(float));
    float *mine = shard_grad + x->shard_offset;
    PD_TRY(pd_coll_reduce_scatter_sum(partition, work_grad, mine, x->shard_len, PD_DT_F32));
    if (replicate->size > 1) PD_TRY(pd_coll_allreduce_sum(replicate, mine, x->shard_len, PD_DT_F32));
    return PD_OK;
}

pd_status pd_shard_reduce_grads_in_place(pd_coll *partition, pd_coll *replicate, const pd_shard_layout *l,
                                         float *padded_grad)
{
    PD_TRY(check_group(partition, l, "reducing gradients"));
    for (int u = 0; u < l->n_units; u++) {
        const pd_unit_layout *x = &l->units[u];
        float *unit = padded_grad + x->offset, *mine = pd_shard_slot(l, u, padded_grad);
        memset(unit + x->length, 0, (x->padded - x->length) * sizeof(float));
        PD_TRY(pd_coll_reduce_scatter_sum(partition, unit, mine, x->shard_len, PD_DT_F32));
        if (replicate->size > 1) PD_TRY(pd_coll_allreduce_sum(replicate, mine, x->shard_len, PD_DT_F32));
    }
    return PD_OK;
}

pd_status pd_shard_gather_params_in_place(pd_coll *partition, const pd_shard_layout *l, float *padded_params)
{
    PD_TRY(check_group(partition, l, "gathering parameters"));
    for (int u = 0; u < l->n_units; u++) {
        const pd_unit_layout *x = &l->units[u];
        PD_TRY(pd_coll_all_gather(partition, pd_shard_slot(l, u, padded_params), padded_params + x->offset,
                                  x->shard_len, PD_DT_F32));
    }
    return PD_OK;
}

pd_status pd_shard_buckets(const pd_shard_layout *l, size_t bucket_elems, pd_bucket **buckets, int *n_buckets)
{
    *buckets = NULL;
    *n_buckets = 0;
    if (bucket_elems == 0) return pd_fail(PD_ERR_CONFIG, "gradient bucket of 0 elements; set parallel.bucket_mb > 0");
    pd_bucket *b = pd_calloc(l->n_units > 0 ? (size_t)l->n_units : 1, sizeof *b);
    if (!b) return PD_ERR_NOMEM;
    int n = 0;
    for (int u = l->n_units - 1; u >= 0; u--) {
        const pd_unit_layout *x = &l->units[u];
        /* Units are contiguous, so a bucket grows downwards from its last unit. */
        if (n > 0 && b[n - 1].count + x->padded <= bucket_elems) {
            b[n - 1].first_unit = u;
            b[n - 1].offset = x->offset;
            b[n - 1].count += x->padded;
        } else {
            b[n].first_unit = b[n].last_unit = u;
            b[n].offset = x->offset;
            b[n].count = x->padded;
            n++;
        }
    }
    *buckets = b;
    *n_buckets = n;
    return PD_OK;
}

pd_memory pd_shard_memory(pd_strategy s, const pd_shard_layout *l, pd_precision p, size_t bucket_elems)
{
    const uint64_t kp = p == PD_PRECISION_MIXED ? 2 : 4, kg = kp, ko = p == PD_PRECISION_MIXED ? 12 : 8;
    const uint64_t full = l->total, shard = l->shard_total;
    pd_memory m = {0};
    switch (s) {
    case PD_STRATEGY_DDP:
        m.params = kp * full;
        m.grads = kg * full;
        m.optimizer = ko * full;
        break;
    case PD_STRATEGY_ZERO1:
        m.params = kp * full;
        m.grads = kg * full;
        m.optimizer = ko * shard;
        break;
    case PD_STRATEGY_ZERO2:
        m.params = kp * full;
        m.grads = kg * shard;
        m.optimizer = ko * shard;
        m.work = kg * (bucket_elems < full ? bucket_elems : full);
        break;
    case PD_STRATEGY_FSDP:
    case PD_STRATEGY_HSDP:
        m.params = kp * shard;
        m.grads = kg * shard;
        m.optimizer = ko * shard;
        m.work = (kp + kg) * l->max_padded;
        break;
    }
    m.state = m.params + m.grads + m.optimizer;
    return m;
}

double pd_zero_formula_bytes(pd_strategy s, double psi, int n)
{
    switch (s) {
    case PD_STRATEGY_DDP: return 16 * psi;
    case PD_STRATEGY_ZERO1: return 4 * psi + 12 * psi / n;
    case PD_STRATEGY_ZERO2: return 2 * psi + 14 * psi / n;
    case PD_STRATEGY_FSDP:
    case PD_STRATEGY_HSDP: return 16 * psi / n;
    }
    return 0;
}
