/* optim.c — AdamW over a range of the flat buffers, gradient-norm clipping and the learning
 * rate schedule (see optim.h). The update follows torch.optim.AdamW's single-tensor path
 * operation by operation, in f32, so ten steps match PyTorch step by step. */
#include "nn/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "nn/backend.h"
#include "nn/ops_internal.h"
#include "nn/pointwise_optim.h"

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
    opt->device = P->device;
    opt->m = pd_device_calloc(opt->device, n * sizeof(pd_real));
    opt->v = pd_device_calloc(opt->device, n * sizeof(pd_real));
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
    pd_device_free(opt->device, opt->m);
    pd_device_free(opt->device, opt->v);
    free(opt->segments);
    opt->m = opt->v = NULL;
    opt->segments = NULL;
}

/* The same step with the device backend's kernel (cuda/optim.cu: same per-element formula),
 * then a wait so the host may read the weights (checkpoints, FSDP copies). */
static void adamw_step_device(pd_adamw *opt, const pd_backend *b, const pd_adamw_scalars *k, pd_real *data,
                              const pd_real *grad, int64_t n)
{
    int64_t(*segs)[2] = pd_calloc((size_t)opt->n_segments + 1, sizeof *segs);
    pd_status st = segs ? PD_OK : PD_ERR_NOMEM;
    for (int s = 0; segs && s < opt->n_segments; s++) {
        segs[s][0] = opt->segments[s].begin;
        segs[s][1] = opt->segments[s].end;
    }
    if (st == PD_OK) st = b->adamw_step(k, data, opt->m, opt->v, grad, n, (const int64_t(*)[2])segs, opt->n_segments);
    if (st == PD_OK) st = b->sync("AdamW step");
    free(segs);
    if (st != PD_OK && opt->device_status == PD_OK) opt->device_status = st;
}

void pd_adamw_step(pd_adamw *opt, pd_real *data, const pd_real *grad, double lr, double grad_scale)
{
    opt->step++;
    const pd_adamw_config *c = &opt->cfg;
    int64_t n = opt->end - opt->begin;
    /* Decoupled weight decay first, as torch does: p *= 1 - lr * wd (decayed segments only). */
    const pd_adamw_scalars k = pd_adamw_scalars_at(c->beta1, c->beta2, c->eps, c->weight_decay, lr, opt->step, grad_scale);
    if (opt->device != PD_DEVICE_CPU) {
        adamw_step_device(opt, pd_backend_for(opt->device), &k, data, grad, n);
        return;
    }
    pd_real decay = k.decay;
    for (int s = 0; s < opt->n_segments; s++) {
        int64_t b = opt->segments[s].begin, e = opt->segments[s].end;
#pragma omp parallel for schedule(static) if (e - b > PD_OMP_MIN_WORK)
        for (int64_t i = b; i < e; i++) data[i] *= decay;
    }
    pd_real *m = opt->m, *v = opt->v;
#pragma omp parallel for schedule(static) if (n > PD_OMP_MIN_WORK)
    for (int64_t i = 0; i < n; i++) pd_adamw_update(&k, &data[i], &m[i], &v[i], grad[i]);
}

double pd_grad_sumsq(const pd_real *grad, int64_t n)
{
    const pd_device where = pd_device_of_pointer(grad);
    if (where != PD_DEVICE_CPU) {
        /* Fixed-order tree in double on the device; on failure the NaN makes the step's norm check fail. */
        double device_sumsq = 0;
        pd_status st = pd_backend_for(where)->grad_sumsq(grad, n, &device_sumsq);
        if (st != PD_OK) {
            pd_error("gradient norm on the GPU failed: %s", pd_last_error());
            return NAN;
        }
        return device_sumsq;
    }
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)grad[i] * (double)grad[i];
    return s;
}

double pd_clip_factor(double global_norm, double max_norm)
{
    return pd_clip_factor_of(global_norm, max_norm);
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
