/* norm.h — GroupNorm and BatchNorm ops on the tape over channels-first tensors [N, C, ...]
 * (any number of spatial dims, including none), as torch.nn.GroupNorm / BatchNorm{1,2,3}d.
 * Kernels: norm_kernels.h. weight (γ) and bias (β) are [C] and may be NULL (affine=False). */
#ifndef PD_NN_NORM_H
#define PD_NN_NORM_H

#include "nn/tape.h"

/* nn.GroupNorm(groups, C, eps): C must be divisible by groups. */
pd_tensor *pd_groupnorm(pd_graph *g, pd_tensor *x, int64_t groups, pd_tensor *weight, pd_tensor *bias, double eps);

/* BatchNorm's running statistics: a non-trainable buffer of 2·C values the model owns and
 * checkpoints (PyTorch's running_mean, running_var; num_batches_tracked counts training
 * forwards). Start: mean 0, var 1 (pd_batchnorm_stats_reset). */
typedef struct pd_batchnorm_stats {
    int64_t channels;
    pd_real *running_mean;   /* [C] */
    pd_real *running_var;    /* [C], unbiased estimate */
    int64_t batches_tracked;
} pd_batchnorm_stats;

void pd_batchnorm_stats_reset(pd_batchnorm_stats *s);

/* nn.BatchNorm(C, eps, momentum): in training mode (pd_graph_training) normalises with the
 * batch statistics and updates `stats` (momentum 0.1 in PyTorch's default); in eval mode uses
 * the running statistics. stats may be NULL only in training mode (track_running_stats=False). */
pd_tensor *pd_batchnorm(pd_graph *g, pd_tensor *x, pd_tensor *weight, pd_tensor *bias, pd_batchnorm_stats *stats,
                        double momentum, double eps);

#endif
