/* train_step.c — one optimizer step, the same on 1 or N ranks: the global batch from the
 * sampler, this rank's slice, the global count, forward and backward on the tape (the engine's
 * hooks move parameters and gradients), the strategy's reduction, clipping by the global norm,
 * AdamW with warmup + cosine, the stage's after-step hook, and the step's global figures. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/timer.h"
#include "nn/ops.h"
#include "parallel/comm.h"
#include "train/trainer.h"

static pd_status sum_f64(void *user, double *buf, int64_t n)
{
    pd_trainer *t = user;
    return pd_coll_allreduce_sum(t->cs.world, buf, (size_t)n, PD_DT_F64);
}

static pd_status broadcast(void *user, void *buf, int64_t bytes)
{
    pd_trainer *t = user;
    return pd_coll_broadcast(t->cs.world, buf, (size_t)bytes, PD_DT_U8, 0);
}

/* The entry a rank without a share of the batch runs (loss scaled to 0, so that it makes the same
 * collective calls): the cheapest of the split, in the batch's group when the stage groups entries
 * (tokenizer length bins). It used to be the batch's first entry, which is a long one whenever a
 * batch holds a single entry: a side-chain VAE rank then ran all ~700 residues of it, unsampled,
 * 10x a normal step's work and 7 GB of activations, while the other rank waited. */
static int64_t phantom_entry(const pd_split_list *split, int64_t first)
{
    int64_t best = first;
    for (int64_t i = 0; i < split->n; i++)
        if ((!split->groups || split->groups[i] == split->groups[first]) && split->lengths[i] < split->lengths[best])
            best = i;
    return best;
}

pd_status pd_trainer_load_batch(pd_trainer *t, const pd_split_list *split, const pd_batch *global, int64_t step,
                                int64_t *entries, pd_stage_batch *b)
{
    pd_batch mine = {0};
    memset(b, 0, sizeof *b);
    b->step = step;
    pd_status st = pd_batch_split(global, split->lengths, t->nranks, t->rank, &mine);
    if (st == PD_OK) {
        for (int64_t i = 0; i < mine.n; i++) entries[i] = split->entries[mine.entries[i]];
        b->n_entries = mine.n;
        if (mine.n == 0 && global->n > 0) {
            entries[0] = split->entries[phantom_entry(split, global->entries[0])];
            b->n_entries = 1;
            b->phantom = 1;
        }
        b->entries = entries;
        st = t->stage.ops->load_batch(&t->stage, t->ds, b);
        if (b->phantom) b->count = b->residues = 0;
    }
    pd_batch_free(&mine);
    return pd_agree(t->world, st);
}

pd_status pd_trainer_step(pd_trainer *t, int64_t step, pd_step_result *r)
{
    memset(r, 0, sizeof *r);
    const double t0 = pd_now();
    pd_coll_set_stats_take(&t->cs);
    pd_batch global = {0};
    PD_TRY(pd_sampler_next(&t->sampler, &global));
    int64_t *entries = pd_malloc((size_t)(global.n + 1) * sizeof *entries);
    pd_stage_batch b;
    pd_status st = entries ? pd_trainer_load_batch(t, &t->train, &global, step + 1, entries, &b) : pd_agree(t->world, PD_ERR_NOMEM);
    r->epoch = global.epoch;
    pd_batch_free(&global);
    if (st != PD_OK) {
        free(entries);
        return st;
    }

    /* Global count first: every rank divides by the same number, whatever the rank count. */
    double counts[2] = {(double)b.count, (double)b.residues};
    st = pd_coll_allreduce_sum(t->cs.world, counts, 2, PD_DT_F64);
    const double normaliser = counts[0] > 0 ? counts[0] : 1;
    r->count = counts[0];
    r->residues = (int64_t)counts[1];

    pd_graph_reset(t->g);
    pd_graph_set_training(t->g, 1);
    pd_graph_set_grad(t->g, 1);
    pd_engine_begin_step(&t->engine);
    pd_stage_terms terms = {0};
    pd_tensor *loss = NULL;
    pd_stage_comm comm = {sum_f64, broadcast, t};
    if (st == PD_OK) {
        t->stage.comm = &comm;
        loss = t->stage.ops->loss(&t->stage, t->g, &b, step, normaliser, &terms);
        /* A phantom batch runs the same forward (and collectives) but contributes nothing. */
        if (b.phantom) loss = pd_scale(t->g, loss, 0.0);
        st = pd_graph_status(t->g);
        if (st == PD_OK) st = pd_backward(t->g, loss);
        t->stage.comm = NULL;
    }
    if (st == PD_OK) st = pd_engine_finish_backward(&t->engine);
    st = pd_agree(t->world, st);
    if (st != PD_OK) {
        t->stage.ops->free_batch(&t->stage, &b);
        free(entries);
        return st;
    }

    /* Loss and terms summed over ranks (each was divided by the global count). */
    double sums[1 + PD_STAGE_MAX_TERMS] = {0};
    if (!b.phantom) {
        sums[0] = loss->data[0];
        for (int i = 0; i < terms.n; i++) sums[1 + i] = terms.value[i];
    }
    st = pd_coll_allreduce_sum(t->cs.world, sums, (size_t)(1 + terms.n), PD_DT_F64);
    r->loss = sums[0];
    r->terms = terms;
    for (int i = 0; i < terms.n; i++) r->terms.value[i] = sums[1 + i];

    double sumsq = 0;
    if (st == PD_OK) st = pd_engine_grad_sumsq(&t->engine, &sumsq);
    r->grad_norm = sqrt(sumsq);
    r->lr = pd_lr_at(&t->schedule, step);
    const double clip = pd_clip_factor(r->grad_norm, t->grad_clip);
    if (st == PD_OK && t->stage.ops->unit_lr) {
        double *unit_lr = pd_malloc((size_t)t->engine.n_units * sizeof *unit_lr);
        if (!unit_lr) st = PD_ERR_NOMEM;
        for (int u = 0; unit_lr && u < t->engine.n_units; u++)
            unit_lr[u] = t->stage.ops->unit_lr(&t->stage, step, u, r->lr);
        if (st == PD_OK) st = pd_engine_apply_per_unit(&t->engine, unit_lr, clip);
        free(unit_lr);
    } else if (st == PD_OK) {
        st = pd_engine_apply(&t->engine, r->lr, clip);
    }
    if (st == PD_OK && t->stage.ops->after_step) {
        st = t->stage.ops->after_step(&t->stage, t->g, &b, step, &comm);
    }
    t->stage.ops->free_batch(&t->stage, &b);
    free(entries);
    PD_TRY(pd_agree(t->world, st));
    r->seconds = pd_now() - t0;
    r->comm_seconds = pd_coll_set_stats_take(&t->cs).seconds;
    return PD_OK;
}
