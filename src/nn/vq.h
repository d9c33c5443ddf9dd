/* vq.h — the gradient side of vector quantisation on the tape: nearest code, straight-through
 * output and commitment loss. The codebook is not a gradient parameter: after backward the
 * training step calls the EMA update and dead-code re-seeding of vq_kernels.h explicitly
 * (pd_vq_batch_stats → all-reduce → pd_vq_ema_update → pd_vq_reseed_dead). */
#ifndef PD_NN_VQ_H
#define PD_NN_VQ_H

#include <stdint.h>

#include "nn/tape.h"
#include "nn/vq_kernels.h"

/* x: encoder output [N, D, spatial...] (channels-first, D = book->dim) or rows [M, D].
 * Returns the quantised tensor (x's shape; forward value = the nearest codes, backward passes
 * its gradient unchanged to x: the straight-through estimator, x + sg(q − x)).
 * *commitment (if not NULL) = β · Σ (x − sg(q))² / normaliser, a [1] tensor whose gradient
 * flows to x only; normaliser 0 means x's element count (a mean, as F.mse_loss).
 * *index (if not NULL) = the code of every vector, n·P + p order, in the graph's arena. */
pd_tensor *pd_vq_quantize(pd_graph *g, pd_tensor *x, const pd_vq_codebook *book, double beta, double normaliser,
                          pd_tensor **commitment, int32_t **index);

#endif
