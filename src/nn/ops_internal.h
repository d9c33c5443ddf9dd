/* ops_internal.h — small helpers shared by the op implementations (not for model code):
 * shape-mismatch messages and the threshold below which loops stay single-threaded. */
#ifndef PD_NN_OPS_INTERNAL_H
#define PD_NN_OPS_INTERNAL_H

#include "nn/tape.h"

/* Loops over fewer elements than this run serially (OpenMP start-up costs more). */
#define PD_OMP_MIN_WORK 16384

/* "[2, 3]" of a tensor in a caller-provided buffer (messages). */
typedef struct pd_shape_text { char s[96]; } pd_shape_text;
static inline pd_shape_text pd_shape_of(const pd_tensor *t)
{
    pd_shape_text r;
    if (t) pd_shape_str(t, r.s, (int)sizeof r.s);
    else r.s[0] = 0;
    return r;
}

/* Normalise a possibly negative axis; -1 if out of range. */
static inline int pd_axis(const pd_tensor *t, int axis)
{
    if (axis < 0) axis += t->ndim;
    return (axis >= 0 && axis < t->ndim) ? axis : -1;
}

/* outer * dim * inner decomposition of a shape around `axis`. */
static inline void pd_split_dims(const pd_tensor *t, int axis, int64_t *outer, int64_t *dim, int64_t *inner)
{
    int64_t o = 1, in = 1;
    for (int i = 0; i < axis; i++) o *= t->shape[i];
    for (int i = axis + 1; i < t->ndim; i++) in *= t->shape[i];
    *outer = o;
    *dim = t->shape[axis];
    *inner = in;
}

#endif
