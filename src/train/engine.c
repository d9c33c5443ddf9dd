/* engine.c — setting up a model's training state under a strategy: unit modes, the buffers
 * each mode needs (allocated here and counted, so the memory report is measured, not
 * predicted), one AdamW per unit over the owned flat range, ddp buckets; see engine.h. */
#include "train/engine.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* On P's device: managed GPU memory under run.device = "cuda", so NCCL can use the buffers. */
static void *alloc_counted(pd_device device, uint64_t *counter, size_t n_floats)
{
    size_t bytes = (n_floats ? n_floats : 1) * sizeof(float);
    void *p = pd_device_calloc(device, bytes);
    if (p) *counter += n_floats * sizeof(float);
    return p;
}

static pd_unit_mode mode_of(pd_strategy s, const pd_param_unit *U)
{
    /* Parameters declared outside any unit ("rest") are used outside unit hooks: they stay
     * whole on every rank and are reduced after backward like zero1 (or ddp). */
    int resident = !strcmp(U->name, "rest");
    switch (s) {
    case PD_STRATEGY_DDP: return PD_UNIT_REPLICATED;
    case PD_STRATEGY_ZERO1: return PD_UNIT_ZERO1;
    case PD_STRATEGY_ZERO2: return resident ? PD_UNIT_ZERO1 : PD_UNIT_ZERO2;
    case PD_STRATEGY_FSDP:
    case PD_STRATEGY_HSDP: return resident ? PD_UNIT_ZERO1 : PD_UNIT_FSDP;
    }
    return PD_UNIT_REPLICATED;
}

pd_status pd_engine_init(pd_engine *e, const pd_topology *topo, pd_coll_set *cs, pd_params *P,
                         const pd_adamw_config *adamw, double bucket_mb)
{
    memset(e, 0, sizeof *e);
    e->topo = topo;
    e->cs = cs;
    e->P = P;
    e->n_units = P->n_units;
    e->prank = topo->plan.partition->rank;
    e->psize = topo->plan.partition->size;
    if (P->pad_multiple % e->psize != 0)
        return pd_fail(PD_ERR, "training engine: the parameter store is padded for %lld ranks but the %s partition "
                       "has %d; create the model with pad_multiple = the partition size",
                       (long long)P->pad_multiple, topo->plan.partition->name, e->psize);
    size_t *lengths = pd_calloc((size_t)(e->n_units ? e->n_units : 1), sizeof *lengths);
    if (!lengths) return PD_ERR_NOMEM;
    for (int u = 0; u < e->n_units; u++) lengths[u] = (size_t)P->units[u].size;
    pd_status st = pd_shard_layout_init(&e->layout, e->n_units, lengths, e->psize, e->prank);
    free(lengths);
    PD_TRY(st);
    for (int u = 0; u < e->n_units; u++)
        if ((int64_t)e->layout.units[u].offset != P->units[u].begin)
            return pd_fail(PD_ERR, "training engine: unit '%s' starts at %lld in the parameter store but at %zu in "
                           "the shard layout", P->units[u].name, (long long)P->units[u].begin,
                           e->layout.units[u].offset);

    e->mode = pd_calloc((size_t)e->n_units + 1, sizeof *e->mode);
    e->fwd_uses = pd_calloc((size_t)e->n_units + 1, sizeof *e->fwd_uses);
    e->bwd_uses = pd_calloc((size_t)e->n_units + 1, sizeof *e->bwd_uses);
    e->opt = pd_calloc((size_t)e->n_units + 1, sizeof *e->opt);
    if (!e->mode || !e->fwd_uses || !e->bwd_uses || !e->opt) return PD_ERR_NOMEM;
    int any_fsdp = 0, any_sharded_grad = 0, all_fsdp = 1, all_sharded_grad = 1;
    for (int u = 0; u < e->n_units; u++) {
        e->mode[u] = mode_of(topo->plan.strategy, &P->units[u]);
        any_fsdp |= e->mode[u] == PD_UNIT_FSDP;
        all_fsdp &= e->mode[u] == PD_UNIT_FSDP;
        int sg = e->mode[u] == PD_UNIT_FSDP || e->mode[u] == PD_UNIT_ZERO2;
        any_sharded_grad |= sg;
        all_sharded_grad &= sg;
    }
    const size_t total = (size_t)P->total, shard = e->layout.shard_total, unit_max = e->layout.max_padded;

    /* Parameters: the owned slices of fsdp units; the full buffer unless every unit is fsdp. */
    if (any_fsdp) {
        e->shard_data = alloc_counted(P->device, &e->mem.params, shard);
        e->work_data = alloc_counted(P->device, &e->mem.work, unit_max);
        if (!e->shard_data || !e->work_data) return PD_ERR_NOMEM;
        for (int u = 0; u < e->n_units; u++) {
            if (e->mode[u] != PD_UNIT_FSDP) continue;
            const pd_unit_layout *x = &e->layout.units[u];
            memcpy(e->shard_data + x->shard_offset, P->data + x->offset + (size_t)e->prank * x->shard_len,
                   x->shard_len * sizeof(float));
        }
    }
    if (any_fsdp && all_fsdp) {
        pd_device_free(P->device, P->data);
        P->data = NULL;
    } else {
        e->mem.params += total * sizeof(float);
    }
    /* Gradients: shard buffer for zero2/fsdp units; the full buffer unless none needs it. */
    if (any_sharded_grad) {
        e->shard_grad = alloc_counted(P->device, &e->mem.grads, shard);
        e->work_grad = alloc_counted(P->device, &e->mem.work, unit_max);
        e->scratch = alloc_counted(P->device, &e->mem.work, unit_max / (size_t)e->psize + 1);
        if (!e->shard_grad || !e->work_grad || !e->scratch) return PD_ERR_NOMEM;
    }
    if (any_sharded_grad && all_sharded_grad) {
        pd_device_free(P->device, P->grad);
        P->grad = NULL;
    } else {
        e->mem.grads += total * sizeof(float);
    }
    if (!P->data) /* views must never point at freed memory: bind them to the work buffer */
        for (int u = 0; u < e->n_units; u++) pd_params_bind_unit(P, u, e->work_data, NULL);
    if (!P->grad)
        for (int u = 0; u < e->n_units; u++) pd_params_bind_unit(P, u, NULL, e->work_grad);

    /* One AdamW per unit over the owned flat range (the whole unit when P = 1). */
    for (int u = 0; u < e->n_units; u++) {
        const pd_unit_layout *x = &e->layout.units[u];
        int64_t begin = (int64_t)(x->offset + (size_t)e->prank * x->shard_len);
        PD_TRY(pd_adamw_init(&e->opt[u], P, adamw, begin, begin + (int64_t)x->shard_len));
        e->mem.optimizer += 2 * x->shard_len * sizeof(float);
    }

    /* ddp: buckets of whole units, last unit first. */
    if (topo->plan.strategy == PD_STRATEGY_DDP) {
        size_t elems = (size_t)(bucket_mb * 1048576.0 / sizeof(float));
        PD_TRY(pd_shard_buckets(&e->layout, elems ? elems : 1, &e->buckets, &e->n_buckets));
        e->bucket_of_unit = pd_calloc((size_t)e->n_units + 1, sizeof(int));
        e->bucket_pending = pd_calloc((size_t)e->n_buckets + 1, sizeof(int));
        e->requests = pd_calloc((size_t)e->n_buckets + 1, sizeof *e->requests);
        if (!e->bucket_of_unit || !e->bucket_pending || !e->requests) return PD_ERR_NOMEM;
        for (int b = 0; b < e->n_buckets; b++)
            for (int u = e->buckets[b].first_unit; u <= e->buckets[b].last_unit; u++) e->bucket_of_unit[u] = b;
    }
    return PD_OK;
}

void pd_engine_free(pd_engine *e)
{
    const pd_device buffers_on = e->P ? e->P->device : PD_DEVICE_CPU;
    if (e->opt)
        for (int u = 0; u < e->n_units; u++) pd_adamw_free(&e->opt[u]);
    free(e->opt);
    free(e->mode);
    free(e->fwd_uses);
    free(e->bwd_uses);
    pd_device_free(buffers_on, e->shard_data);
    pd_device_free(buffers_on, e->shard_grad);
    pd_device_free(buffers_on, e->work_data);
    pd_device_free(buffers_on, e->work_grad);
    pd_device_free(buffers_on, e->scratch);
    free(e->buckets);
    free(e->bucket_of_unit);
    free(e->bucket_pending);
    free(e->requests);
    pd_shard_layout_free(&e->layout);
    memset(e, 0, sizeof *e);
}

int64_t pd_engine_opt_step(const pd_engine *e) { return e->n_units ? e->opt[0].step : 0; }

void pd_engine_set_opt_step(pd_engine *e, int64_t step)
{
    for (int u = 0; u < e->n_units; u++) e->opt[u].step = step;
}

void pd_engine_owned(const pd_engine *e, int u, int64_t *begin, int64_t *n, float **data, float **m, float **v)
{
    const pd_unit_layout *x = &e->layout.units[u];
    *begin = e->opt[u].begin;
    *n = (int64_t)x->shard_len;
    *data = e->mode[u] == PD_UNIT_FSDP ? e->shard_data + x->shard_offset : e->P->data + *begin;
    *m = e->opt[u].m;
    *v = e->opt[u].v;
}

float *pd_engine_full_unit(const pd_engine *e, int u)
{
    return e->mode[u] == PD_UNIT_FSDP ? NULL : e->P->data + e->layout.units[u].offset;
}

int pd_engine_writes_checkpoint(const pd_engine *e) { return e->topo->plan.replicate->rank == 0; }

static void mib(uint64_t b, char *buf, size_t len) { snprintf(buf, len, "%.3f MiB", (double)b / 1048576.0); }

void pd_engine_report_memory(const pd_engine *e)
{
    const pd_strategy s = e->topo->plan.strategy;
    const double psi = (double)pd_params_count(e->P);
    const uint64_t measured = e->mem.params + e->mem.grads + e->mem.optimizer;
    pd_memory lay = pd_shard_memory(s, &e->layout, PD_PRECISION_FP32, 0);
    const int n = e->psize;
    double fp32;
    switch (s) {
    case PD_STRATEGY_DDP: fp32 = 16 * psi; break;
    case PD_STRATEGY_ZERO1: fp32 = 8 * psi + 8 * psi / n; break;
    case PD_STRATEGY_ZERO2: fp32 = 4 * psi + 12 * psi / n; break;
    default: fp32 = 16 * psi / n; break;
    }
    char a[32], b[32], c[32], d[32], w[32];
    mib(measured, a, sizeof a);
    mib(lay.state, b, sizeof b);
    mib((uint64_t)fp32, c, sizeof c);
    mib((uint64_t)pd_zero_formula_bytes(s, psi, n), d, sizeof d);
    mib(e->mem.work, w, sizeof w);
    pd_info("memory per rank (%s, Psi = %.0f parameters, partition N = %d): params+grads+optimizer %s measured "
            "(params %llu B, grads %llu B, AdamW %llu B) + %s transient work; layout predicts %s; fp32 formula %s; "
            "ZeRO mixed-precision formula %s",
            pd_strategy_name(s), psi, n, a, (unsigned long long)e->mem.params, (unsigned long long)e->mem.grads,
            (unsigned long long)e->mem.optimizer, w, b, c, d);
}
