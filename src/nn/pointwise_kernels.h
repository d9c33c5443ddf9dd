/* pointwise_kernels.h — the CPU loops of the activation ops (ops_activation.c): one call per
 * tensor, vectorised (PD_CLONES, pd_vexp for SiLU and sigmoid), OpenMP over large tensors. */
#ifndef PD_NN_POINTWISE_KERNELS_H
#define PD_NN_POINTWISE_KERNELS_H

#include <stdint.h>

#include "nn/pointwise_ops.h"

/* y[i] = act(x[i]). */
void pd_act_forward(pd_act_kind kind, const pd_real *x, pd_real *y, int64_t n);
/* gx[i] += gy[i] · act'(x[i]) (y = act(x), used by sigmoid's derivative). */
void pd_act_backward(pd_act_kind kind, const pd_real *x, const pd_real *y, const pd_real *gy, pd_real *gx, int64_t n);

#endif
