/* validate.c — one pass over the valid split in eval mode (no tape, model in eval mode), batches
 * of the training budget in dataset order, each rank its slice cut into the training plan's
 * micro-batches; the stage's sums are added over ranks and turned into the val_* metrics. */
#include <stdlib.h>
#include <string.h>

#include "parallel/comm.h"
#include "train/trainer.h"

pd_status pd_trainer_validate(pd_trainer *t, pd_stage_metrics *out)
{
    out->n = 0;
    if (t->valid.n == 0) return PD_OK;
    const int64_t n_sums = t->stage.ops->n_val_sums(&t->stage);
    double *sums = pd_calloc((size_t)n_sums + 1, sizeof *sums), *discard = pd_calloc((size_t)n_sums + 1, sizeof *sums);
    pd_sampler smp;
    pd_status st = sums && discard ? PD_OK : PD_ERR_NOMEM;
    if (st == PD_OK) st = pd_sampler_init(&smp, t->valid.lengths, t->valid.n, t->seed, t->batch_residues, 0);
    if (st == PD_OK && t->valid.groups) st = pd_sampler_set_groups(&smp, t->valid.groups);
    if (st != PD_OK) {
        free(sums);
        free(discard);
        return pd_agree(t->world, st);
    }
    const int was_training = pd_graph_set_training(t->g, 0), had_grad = pd_graph_set_grad(t->g, 0);
    pd_batch global = {0};
    for (int done = 0; st == PD_OK && !done;) {
        st = pd_sampler_next(&smp, &global);
        if (st != PD_OK) break;
        done = global.last_in_epoch;
        pd_micro_plan mp;
        st = pd_trainer_micro_plan(t, &t->valid, &global, &mp);
        for (int64_t k = 0; st == PD_OK && k < mp.n_all; k++) {
            pd_stage_batch b;
            st = pd_agree(t->world, pd_trainer_load_micro(t, &mp, k, 0, &b));
            if (st != PD_OK) break;
            pd_graph_reset(t->g);
            st = t->stage.ops->val_accumulate(&t->stage, t->g, &b, b.phantom ? discard : sums);
            t->stage.ops->free_batch(&t->stage, &b);
            st = pd_agree(t->world, st);
        }
        if (mp.entries || mp.first) pd_micro_plan_free(&mp);
    }
    pd_graph_reset(t->g);
    pd_graph_set_training(t->g, was_training);
    pd_graph_set_grad(t->g, had_grad);
    if (st == PD_OK) st = pd_coll_allreduce_sum(t->cs.world, sums, (size_t)n_sums, PD_DT_F64);
    if (st == PD_OK) t->stage.ops->val_finish(&t->stage, sums, out);
    pd_batch_free(&global);
    pd_sampler_free(&smp);
    free(sums);
    free(discard);
    return st;
}
