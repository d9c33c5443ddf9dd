/* tensor.c — shape helpers of pd_tensor (tensor.h); creation lives with the graph (tape.c). */
#include "nn/tensor.h"

#include <stdio.h>

int64_t pd_shape_numel(int ndim, const int64_t *shape)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    return n;
}

int pd_shape_equal(const pd_tensor *a, const pd_tensor *b)
{
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

char *pd_shape_str(const pd_tensor *t, char *buf, int buflen)
{
    int off = snprintf(buf, (size_t)buflen, "[");
    for (int i = 0; i < t->ndim && off < buflen; i++)
        off += snprintf(buf + off, (size_t)(buflen - off), i ? ", %lld" : "%lld", (long long)t->shape[i]);
    if (off < buflen) snprintf(buf + off, (size_t)(buflen - off), "]");
    return buf;
}

int64_t pd_tensor_rows(const pd_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i + 1 < t->ndim; i++) n *= t->shape[i];
    return n;
}
