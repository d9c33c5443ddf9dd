/* stages.c — the table of trainable stages the loop can run by name, and small helpers for
 * the term and metric lists every stage fills. A new stage adds one line here. */
#include <string.h>

#include "train/stage.h"

extern const pd_stage_ops pd_stage_sc_vae;
extern const pd_stage_ops pd_stage_probe;
extern const pd_stage_ops pd_stage_tokenizer;
extern const pd_stage_ops pd_stage_bb_vae;
extern const pd_stage_ops pd_stage_diffusion;

static const pd_stage_ops *const stages[] = {&pd_stage_sc_vae, &pd_stage_probe, &pd_stage_tokenizer, &pd_stage_bb_vae, &pd_stage_diffusion};
static const int n_stages = (int)(sizeof stages / sizeof stages[0]);

const char *pd_stage_names(void) { return "sc_vae, probe, tokenizer, bb_vae, diffusion"; }

pd_status pd_stage_find(const char *name, const pd_stage_ops **out)
{
    *out = NULL;
    for (int i = 0; i < n_stages; i++)
        if (!strcmp(stages[i]->name, name)) {
            *out = stages[i];
            return PD_OK;
        }
    return pd_fail(PD_ERR_USAGE, "unknown stage '%s'; stages: %s", name, pd_stage_names());
}

void pd_stage_metric_add(pd_stage_metrics *out, const char *name, double value)
{
    if (out->n >= PD_STAGE_MAX_METRICS) return;
    pd_stage_metric *m = &out->m[out->n++];
    memset(m, 0, sizeof *m);
    m->name = name;
    m->value = value;
    m->n_values = 1;
}

void pd_stage_term_add(pd_stage_terms *t, const char *name, double value)
{
    if (t->n >= PD_STAGE_MAX_TERMS) return;
    t->name[t->n] = name;
    t->value[t->n] = value;
    t->n++;
}
