/* engine_update.c — the part of a step after the hooks: finishing gradient reduction per unit
 * mode, the global gradient norm from owned slices, AdamW on owned slices and the all-gathers
 * that give zero1/zero2 ranks their full parameters back; see engine.h. */
#include <string.h>

#include "train/engine.h"

void pd_engine_begin_step(pd_engine *e) { pd_engine_begin_micro(e, 0, 1); }

void pd_engine_begin_micro(pd_engine *e, int64_t k, int64_t n)
{
    if (k == 0) {
        if (e->P->grad) memset(e->P->grad, 0, (size_t)e->P->total * sizeof(float));
        if (e->shard_grad) memset(e->shard_grad, 0, e->layout.shard_total * sizeof(float));
    }
    e->sync = k == n - 1;
    memset(e->fwd_uses, 0, (size_t)e->n_units * sizeof *e->fwd_uses);
    memset(e->bwd_uses, 0, (size_t)e->n_units * sizeof *e->bwd_uses);
    e->next_bucket = 0;
    for (int b = 0; b < e->n_buckets; b++)
        e->bucket_pending[b] = e->buckets[b].last_unit - e->buckets[b].first_unit + 1;
}

pd_status pd_engine_finish_backward(pd_engine *e)
{
    const pd_plan *plan = &e->topo->plan;
    if (e->n_buckets > 0) {
        PD_TRY(pd_engine_launch_ready_buckets(e, 1));
        for (int b = 0; b < e->n_buckets; b++) PD_TRY(pd_coll_wait(&e->requests[b]));
    }
    int any_shard_grad = 0;
    for (int u = 0; u < e->n_units; u++) {
        const pd_unit_layout *x = &e->layout.units[u];
        if (e->mode[u] == PD_UNIT_ZERO1) {
            float *unit = e->P->grad + x->offset, *mine = unit + (size_t)e->prank * x->shard_len;
            PD_TRY(pd_coll_reduce_scatter_sum(e->cs->partition, unit, mine, x->shard_len, PD_DT_F32));
            if (plan->replicate->size > 1)
                PD_TRY(pd_coll_allreduce_sum(e->cs->replicate, mine, x->shard_len, PD_DT_F32));
        } else if (e->mode[u] != PD_UNIT_REPLICATED) {
            any_shard_grad = 1;
        }
    }
    /* hsdp: the reduced slices summed across replicas, in one call. */
    if (any_shard_grad && plan->replicate->size > 1)
        PD_TRY(pd_coll_allreduce_sum(e->cs->replicate, e->shard_grad, e->layout.shard_total, PD_DT_F32));
    return PD_OK;
}

static float *owned_grad(const pd_engine *e, int u)
{
    const pd_unit_layout *x = &e->layout.units[u];
    switch (e->mode[u]) {
    case PD_UNIT_REPLICATED: return e->P->grad + x->offset;
    case PD_UNIT_ZERO1: return e->P->grad + x->offset + (size_t)e->prank * x->shard_len;
    default: return e->shard_grad + x->shard_offset;
    }
}

pd_status pd_engine_grad_sumsq(pd_engine *e, double *sumsq)
{
    double s = 0;
    for (int u = 0; u < e->n_units; u++) s += pd_grad_sumsq(owned_grad(e, u), (int64_t)e->layout.units[u].shard_len);
    if (e->psize > 1) {
        /* The partition handle may be NCCL (run.device = "cuda"): reduce from P's device memory. */
        double *total = pd_device_alloc(e->P->device, sizeof(double));
        if (!total) return PD_ERR_NOMEM;
        *total = s;
        pd_status st = pd_coll_allreduce_sum(e->cs->partition, total, 1, PD_DT_F64);
        if (st == PD_OK) st = pd_device_sync(e->P->device, "gradient-norm allreduce");
        s = *total;
        pd_device_free(e->P->device, total);
        PD_TRY(st);
    }
    *sumsq = s;
    return PD_OK;
}

static pd_status apply(pd_engine *e, double lr, const double *unit_lr, double grad_scale)
{
    for (int u = 0; u < e->n_units; u++) {
        const double rate = unit_lr ? unit_lr[u] : lr;
        if (unit_lr && rate == 0) continue;   /* frozen this step (a schedule's lr 0 still moves the moments) */
        int64_t begin, n;
        float *data, *m, *v;
        pd_engine_owned(e, u, &begin, &n, &data, &m, &v);
        pd_adamw_step(&e->opt[u], data, owned_grad(e, u), rate, grad_scale);
        if (e->opt[u].device_status != PD_OK) return e->opt[u].device_status;
    }
    for (int u = 0; u < e->n_units; u++) {
        if (e->mode[u] != PD_UNIT_ZERO1 && e->mode[u] != PD_UNIT_ZERO2) continue;
        if (e->psize == 1 || (unit_lr && unit_lr[u] == 0)) continue;
        const pd_unit_layout *x = &e->layout.units[u];
        float *unit = e->P->data + x->offset;
        PD_TRY(pd_coll_all_gather(e->cs->partition, unit + (size_t)e->prank * x->shard_len, unit, x->shard_len,
                                  PD_DT_F32));
    }
    return PD_OK;
}

pd_status pd_engine_apply(pd_engine *e, double lr, double grad_scale) { return apply(e, lr, NULL, grad_scale); }

pd_status pd_engine_apply_per_unit(pd_engine *e, const double *unit_lr, double grad_scale)
{
    return apply(e, 0, unit_lr, grad_scale);
}
