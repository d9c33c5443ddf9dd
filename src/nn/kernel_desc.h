/* kernel_desc.h — the descriptors the backends' kernels take (backend.h): one struct per op
 * family, naming the buffers and sizes of one forward or backward call, so a kernel has one
 * argument instead of ten to eighteen. Pointers are the tensors' data/grad (device memory on a
 * device graph); backward ADDS into the gradient pointers, which are NULL when not wanted. The
 * op enum (op.h) says which struct an op takes (comment at each struct). C and C++ (nvcc). */
#ifndef PD_NN_KERNEL_DESC_H
#define PD_NN_KERNEL_DESC_H

#include <stdint.h>

#include "nn/pointwise_ops.h"
#include "nn/real.h"

#ifdef __cplusplus
extern "C" {
#endif

/* GELU, GELU_TANH, SILU, RELU, SIGMOID: y = act(x) per element. */
typedef struct pd_activation_desc {
    pd_act_kind kind;
    int64_t n;
    const pd_real *x;
    pd_real *y;          /* forward writes it; backward reads it */
    const pd_real *gy;   /* backward */
    pd_real *gx;
} pd_activation_desc;

/* SOFTMAX, LOG_SOFTMAX over the last dim of [rows, cols]. */
typedef struct pd_softmax_desc {
    int take_log;
    int64_t rows, cols;
    const pd_real *x;
    pd_real *y;
    const pd_real *gy;
    pd_real *gx;
} pd_softmax_desc;

#ifdef __cplusplus
}
#endif
#endif
