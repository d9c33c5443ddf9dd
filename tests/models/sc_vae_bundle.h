/* sc_vae_bundle.h — writes and reads the "tensor bundle" files (format of tests/reference/
 * nn_bundle.py) for the side-chain VAE parity test, in whatever precision pd_real has: the
 * same test source builds against the float library and the double test library. */
#ifndef PD_TESTS_MODELS_SC_VAE_BUNDLE_H
#define PD_TESTS_MODELS_SC_VAE_BUNDLE_H

#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "nn/real.h"
#include "nn/tensor.h"

/* Writing: open, add items (f32 values converted from pd_real, or i32), close. */
FILE *scb_open_write(const char *path);
pd_status scb_add_real(FILE *f, const char *name, int ndim, const int64_t *shape, const pd_real *data);
pd_status scb_add_i32(FILE *f, const char *name, int ndim, const int64_t *shape, const int32_t *data);
pd_status scb_close(FILE *f, const char *path);

/* Reading: every item of a bundle; float items are kept as f32 (dtype 0), ints as i32 (1). */
typedef struct scb_item {
    char *name;
    int dtype;
    int ndim;
    int64_t shape[PD_MAX_DIMS];
    int64_t numel;
    void *data;
} scb_item;

typedef struct scb_bundle {
    int n;
    scb_item *items;
} scb_bundle;

pd_status scb_read(scb_bundle *b, const char *path);
void scb_free(scb_bundle *b);
/* NULL with a message in pd_last_error() if missing or of another dtype/size (n < 0: any size). */
const scb_item *scb_get(const scb_bundle *b, const char *name, int dtype, int64_t n);
/* Copy a float item into n pd_real values; PD_OK or a message. */
pd_status scb_copy_real(const scb_bundle *b, const char *name, pd_real *dst, int64_t n);

#endif
