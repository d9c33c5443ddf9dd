/* optim.c — AdamW over a range of the flat buffers, gradient-norm clipping and the learning
 * rate schedule (see optim.h). The update follows torch.optim.AdamW's single-tensor path
 * operation by operation, in f32, so ten steps match PyTorch step by step. */
#include "nn/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ops_internal.h"

void pd_adamw_config_default(pd_adamw_config *c)
{
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->eps = 1e-8;
    c->weight_decay = 0.01;
}

pd_status pd_adamw_init(pd_adamw *opt, const pd_params *P, const pd_adamw_config *cfg, int64_t begin, int64_t end)
{
    memset(opt, 0, sizeof *opt);
    if (begin < 0 || end < begin || end > P->total)
        return pd_fail(PD_ERR, "AdamW range [%lld, %lld) is outside the parameter buffer of %lld values", (long long)begin,
                       (long long)end, (long long)P->total);
    opt->cfg = *cfg;
    opt->begin = begin;
    opt->end = end;
    size_t n = (size_t)(end - begin ? end - begin : 1);
    opt->m = pd_calloc(n, sizeof(pd_real));
    opt->v = pd_calloc(n, sizeof(pd_real));
    opt->segments = pd_calloc((size_t)P->n_params + 1, sizeof *opt->segments);
    if (!opt->m || !opt->v || !opt->segments) {
        pd_adamw_free(opt);
        return PD_ERR_NOMEM;
    }
    /* Segments of decayed parameters inside the range; padding and 1-D tensors are not decayed
     * (padding stays zero anyway: zero grad, zero weight). */
    for (int i = 0; i < P->n_params; i++) {
        const pd_param *p = P->params[i];
        if (!p->decay) continue;
        int64_t b = p->offset > begin ? p->offset : begin;
        int64_t e = p->offset + p->t.numel < end ? p->offset + p->t.numel : end;
        if (b >= e) continue;
        opt->segments[opt->n_segments++] = (pd_adamw_segment){b - begin, e - begin, 1};
    }
    return PD_OK;
}

void pd_adamw_free(pd_adamw *opt)
{
    free(opt->m);
    free(opt->v);
    free(opt->segments);
    opt->m = opt->v = NULL;
    opt->segments = NULL;
}

void pd_adamw_step(pd_adamw *opt, pd_real *data, const pd_real *grad, double lr, double grad_scale)
{
    opt->step++;
    const pd_adamw_config *c = &opt->cfg;
    int64_t n = opt->end - opt->begin;
    /* Decoupled weight decay first, as torch does: p *= 1 - lr * wd (decayed segments only). */
    pd_real decay = (pd_real)(1.0 - lr * c->weight_decay);
    for (int s = 0; s < opt->n_segments; s++) {
        int64_t b = opt->segments[s].begin, e = opt->segments[s].end;
#pragma omp parallel for schedule(static) if (e - b > PD_OMP_MIN_WORK)
        for (int64_t i = b; i < e; i++) data[i] *= decay;
    }
    double bc1 = 1.0 - pow(c->beta1, (double)opt->step);
    double bc2 = 1.0 - pow(c->beta2, (double)opt->step);
    pd_real step_size = (pd_real)(lr / bc1);
    pd_real bc2_sqrt = (pd_real)sqrt(bc2);
    pd_real b1 = (pd_real)c->beta1, b2 = (pd_real)c->beta2, eps = (pd_real)c->eps;
    pd_real omb1 = (pd_real)(1.0 - c->beta1), omb2 = (pd_real)(1.0 - c->beta2), gs = (pd_real)grad_scale;
    pd_real *m = opt->m, *v = opt->v;
#pragma omp parallel for schedule(static) if (n > PD_OMP_MIN_WORK)
    for (int64_t i = 0; i < n; i++) {
        pd_real gi = grad[i] * gs;
        m[i] = m[i] * b1 + gi * omb1;
        v[i] = v[i] * b2 + gi * gi * omb2;
        pd_real denom = pd_sqrt(v[i]) / bc2_sqrt + eps;
        data[i] -= step_size * (m[i] / denom);
    }
}

double pd_grad_sumsq(const pd_real *grad, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)grad[i] * (double)grad[i];
    return s;
}

double pd_clip_factor(double global_norm, double max_norm)
{
    if (max_norm <= 0) return 1.0;
    double f = max_norm / (global_norm + 1e-6);
    return f < 1.0 ? f : 1.0;
}

double pd_lr_at(const pd_lr_schedule *s, int64_t step)
{
    if (s->warmup_steps > 0 && step < s->warmup_steps) return s->lr * (double)(step + 1) / (double)s->warmup_steps;
    int64_t span = s->total_steps - s->warmup_steps;
    if (span <= 0) return s->lr;
    double progress = (double)(step - s->warmup_steps) / (double)span;
    if (progress > 1) progress = 1;
    double cosine = 0.5 * (1.0 + cos(M_PI * progress));
    return s->lr * (s->min_ratio + (1.0 - s->min_ratio) * cosine);
}
