/* tensor.h — the tensor of the op set: a row-major contiguous block of pd_real values with a
 * shape (up to 6 dims), owned by a graph's arena (activations) or by a parameter store
 * (parameters). Gradients live beside the data: `grad` is NULL until backward needs it. */
#ifndef PD_NN_TENSOR_H
#define PD_NN_TENSOR_H

#include <stdint.h>

#include "nn/real.h"

#define PD_MAX_DIMS 6

/* Storage tag. Compute is always pd_real; bf16/f16 are storage formats for checkpoints,
 * features and the CUDA backend's mixed precision (conversions in half.h). */
typedef enum pd_dtype { PD_DTYPE_F32 = 0, PD_DTYPE_BF16 = 1, PD_DTYPE_F16 = 2 } pd_dtype;

typedef struct pd_tensor {
    int ndim;
    int64_t shape[PD_MAX_DIMS];
    int64_t numel;
    pd_dtype dtype;        /* PD_DTYPE_F32 for every tensor the CPU ops touch */
    pd_real *data;         /* numel values, row-major */
    pd_real *grad;         /* same layout; NULL until allocated (activations: lazily in the
                            * arena during backward; parameters: a view of the flat grad buffer) */
    int requires_grad;     /* a leaf that wants a gradient, or the result of a recorded op */
    int param_index;       /* index in its pd_params, -1 for activations */
    const char *name;      /* parameter name, or the op that produced it (for messages) */
} pd_tensor;

/* Shape helpers. `axis` may be negative (from the end) where an op says so. */
int64_t pd_shape_numel(int ndim, const int64_t *shape);
int pd_shape_equal(const pd_tensor *a, const pd_tensor *b);
/* "[2, 3, 4]" into buf (for error messages); returns buf. */
char *pd_shape_str(const pd_tensor *t, char *buf, int buflen);
/* Product of the dims before the last one: the number of "rows" of width shape[ndim-1]. */
int64_t pd_tensor_rows(const pd_tensor *t);
static inline int64_t pd_tensor_cols(const pd_tensor *t) { return t->ndim ? t->shape[t->ndim - 1] : 1; }

#endif
