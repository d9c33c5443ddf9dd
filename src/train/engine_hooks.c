/* engine_hooks.c — what happens at unit boundaries during forward and backward: FSDP gathers a
 * unit's parameters before its forward and again before its backward; ZeRO-2/FSDP bind the
 * unit's gradient to a work buffer and reduce-scatter it into the owned slice when the unit's
 * backward ends; ddp launches a bucket's allreduce as soon as every unit in it is final, so
 * communication overlaps the rest of backward. Units used twice in a step (a shared trunk)
 * are counted so nothing is launched before its last backward use. */
#include <string.h>

#include "train/engine.h"

static pd_status gather_unit(pd_engine *e, int u)
{
    const pd_unit_layout *x = &e->layout.units[u];
    PD_TRY(pd_coll_all_gather(e->cs->partition, e->shard_data + x->shard_offset, e->work_data, x->shard_len,
                              PD_DT_F32));
    pd_params_bind_unit(e->P, u, e->work_data, NULL);
    /* On the GPU the gather is queued: ops that run on the host must see the gathered values. */
    return pd_device_sync(e->P->device, "FSDP all-gather of a unit");
}

static pd_status before_forward(void *user, int u)
{
    pd_engine *e = user;
    if (u < 0 || u >= e->n_units) return pd_fail(PD_ERR, "unit hook: unit %d of %d", u, e->n_units);
    if (e->g && pd_graph_grad_enabled(e->g)) e->fwd_uses[u]++;
    if (e->mode[u] == PD_UNIT_FSDP) PD_TRY(gather_unit(e, u));
    return PD_OK;
}

static pd_status after_forward(void *user, int u)
{
    /* The gathered copy is dropped: the next unit's gather overwrites the work buffer. */
    (void)user;
    (void)u;
    return PD_OK;
}

static pd_status before_backward(void *user, int u)
{
    pd_engine *e = user;
    if (e->mode[u] == PD_UNIT_FSDP) PD_TRY(gather_unit(e, u));
    if (e->mode[u] == PD_UNIT_FSDP || e->mode[u] == PD_UNIT_ZERO2) {
        memset(e->work_grad, 0, e->layout.units[u].padded * sizeof(float));
        pd_params_bind_unit(e->P, u, NULL, e->work_grad);
    }
    return PD_OK;
}

/* ddp: start bucket allreduces in bucket order (the same order on every rank, which MPI's
 * nonblocking collectives require) while the next bucket's units are all final. */
pd_status pd_engine_launch_ready_buckets(pd_engine *e, int force)
{
    while (e->next_bucket < e->n_buckets && (force || e->bucket_pending[e->next_bucket] == 0)) {
        const pd_bucket *b = &e->buckets[e->next_bucket];
        PD_TRY(pd_coll_iallreduce_sum(e->cs->replicate, e->P->grad + b->offset, b->count, PD_DT_F32,
                                      &e->requests[e->next_bucket]));
        e->next_bucket++;
    }
    return PD_OK;
}

static pd_status after_backward(void *user, int u)
{
    pd_engine *e = user;
    e->bwd_uses[u]++;
    const pd_unit_layout *x = &e->layout.units[u];
    switch (e->mode[u]) {
    case PD_UNIT_REPLICATED:
        if (e->sync && e->bwd_uses[u] == e->fwd_uses[u] && e->n_buckets > 0) {
            e->bucket_pending[e->bucket_of_unit[u]]--;
            PD_TRY(pd_engine_launch_ready_buckets(e, 0));
        }
        break;
    case PD_UNIT_ZERO2:
    case PD_UNIT_FSDP: {
        /* This use's gradient, summed over the partition, added to the owned slice. */
        PD_TRY(pd_coll_reduce_scatter_sum(e->cs->partition, e->work_grad, e->scratch, x->shard_len, PD_DT_F32));
        float *mine = e->shard_grad + x->shard_offset;
        for (size_t i = 0; i < x->shard_len; i++) mine[i] += e->scratch[i];
        break;
    }
    case PD_UNIT_ZERO1: break;
    }
    return PD_OK;
}

void pd_engine_attach(pd_engine *e, pd_graph *g)
{
    pd_unit_hooks h = {before_forward, after_forward, before_backward, after_backward, e};
    e->g = g;
    pd_graph_set_unit_hooks(g, &h);
}
