/* optim.h — AdamW (decoupled weight decay, only on parameters with decay set, by default the
 * >= 2-D ones), global-norm gradient clipping and the warmup + cosine learning-rate schedule,
 * all over ranges of the flat buffers so a sharded optimizer just passes its own sub-range. */
#ifndef PD_NN_OPTIM_H
#define PD_NN_OPTIM_H

#include <stdint.h>

#include "core/error.h"
#include "nn/params.h"

typedef struct pd_adamw_config {
    double beta1, beta2, eps, weight_decay;   /* torch defaults: 0.9, 0.999, 1e-8, 0.01 */
} pd_adamw_config;

/* A run of elements of the owned range with one decay flag. */
typedef struct pd_adamw_segment { int64_t begin, end; int decay; } pd_adamw_segment;

typedef struct pd_adamw {
    pd_adamw_config cfg;
    int64_t begin, end;       /* owned range of the flat buffers */
    int64_t step;             /* steps taken (bias correction); saved in checkpoints */
    pd_real *m, *v;           /* first/second moments, end - begin elements each */
    int n_segments;
    pd_adamw_segment *segments; /* decay flags over [begin, end), relative to begin */
    pd_device device;         /* P's device: m/v live there and the step runs there */
    pd_status device_status;  /* first failure of a GPU step (pd_adamw_step returns nothing) */
} pd_adamw;

void pd_adamw_config_default(pd_adamw_config *c);
/* Own [begin, end) of P's flat layout (0, P->total for an unsharded optimizer). */
pd_status pd_adamw_init(pd_adamw *opt, const pd_params *P, const pd_adamw_config *cfg, int64_t begin, int64_t end);
void pd_adamw_free(pd_adamw *opt);
/* One step with learning rate lr on data/grad pointing at element `begin` of the range
 * (P->data + begin for the unsharded case). grad_scale multiplies every gradient first
 * (the clipping factor; 1 for none). Matches torch.optim.AdamW (amsgrad off). */
void pd_adamw_step(pd_adamw *opt, pd_real *data, const pd_real *grad, double lr, double grad_scale);

/* The state of an unsharded optimizer is saved by train/checkpoint_optim.h (src/nn knows no HDF5). */

/* Sum of squares of n gradient values (accumulated in double). The distributed engine sums
 * this over ranks/shards before taking the root. */
double pd_grad_sumsq(const pd_real *grad, int64_t n);
/* torch.nn.utils.clip_grad_norm_ factor: min(1, max_norm / (norm + 1e-6)); 1 if max_norm <= 0. */
double pd_clip_factor(double global_norm, double max_norm);

/* Learning rate at `step` (0-based): linear warmup lr*(step+1)/warmup for step < warmup, then
 * cosine from lr down to lr*min_ratio at total_steps (and constant after). */
typedef struct pd_lr_schedule {
    double lr;
    int64_t warmup_steps;
    int64_t total_steps;
    double min_ratio;
} pd_lr_schedule;
double pd_lr_at(const pd_lr_schedule *s, int64_t step);

#endif
