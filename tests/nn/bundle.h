/* bundle.h — reads the "tensor bundle" files that tests/reference/nn_*.py write (inputs,
 * weights, outputs and gradients computed by PyTorch), and compares C results against them. */
#ifndef PD_TESTS_NN_BUNDLE_H
#define PD_TESTS_NN_BUNDLE_H

#include <stdint.h>

#include "core/error.h"
#include "nn/tape.h"

typedef enum { PD_BUNDLE_F32 = 0, PD_BUNDLE_I32 = 1, PD_BUNDLE_U8 = 2 } pd_bundle_dtype;

typedef struct pd_bundle_item {
    char *name;
    pd_bundle_dtype dtype;
    int ndim;
    int64_t shape[PD_MAX_DIMS];
    int64_t numel;
    void *data;
} pd_bundle_item;

typedef struct pd_bundle {
    int n;
    pd_bundle_item *items;
} pd_bundle;

pd_status pd_bundle_read(pd_bundle *b, const char *path);
void pd_bundle_free(pd_bundle *b);
/* NULL (and a test failure message) if missing. */
const pd_bundle_item *pd_bundle_get(const pd_bundle *b, const char *name);
/* A float item as a new arena tensor (requires_grad as given); NULL if missing. */
pd_tensor *pd_bundle_tensor(pd_graph *g, const pd_bundle *b, const char *name, int requires_grad);
const int32_t *pd_bundle_i32(const pd_bundle *b, const char *name);
const uint8_t *pd_bundle_u8(const pd_bundle *b, const char *name);
/* Copy a float item into dst (n values, shape must match numel). */
int pd_bundle_copy(const pd_bundle *b, const char *name, pd_real *dst, int64_t n);

/* Compare n values against the bundle item `name`: passes when max|a-b| <= rtol * max|b|
 * (relative to the tensor's scale; atol floor 1e-30). Counts a CHECK; prints the worst element. */
int pd_bundle_compare(const pd_bundle *b, const char *name, const pd_real *actual, int64_t n, double rtol);

#endif
