/* test_diffusion_util.h — what the diffusion tests share: running tests/reference/diffusion_ref.py
 * (PYTHON_REF, skip when torch is missing), writing tensor bundles for it, a scratch folder, and
 * a tiny batch of two entries with random latents. */
#ifndef PD_TESTS_MODELS_TEST_DIFFUSION_UTIL_H
#define PD_TESTS_MODELS_TEST_DIFFUSION_UTIL_H

#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "models/diffusion.h"

/* A fresh scratch folder under TMPDIR (removed by tdu_rmdir); NULL on failure. */
char *tdu_tmpdir(void);
void tdu_rmdir(char *dir);

/* 0 if $PYTHON_REF (default /usr/bin/python3) imports torch and numpy, else 77 (skip). */
int tdu_have_torch(void);
/* Run diffusion_ref.py with the given arguments; returns its exit status (0 = ok). */
int tdu_run_reference(const char *args);

/* Tensor-bundle writer (tests/reference/nn_bundle.py format). */
FILE *tdu_bundle_open(const char *path);
void tdu_bundle_f32(FILE *f, const char *name, int ndim, const int64_t *shape, const float *data);
void tdu_bundle_real(FILE *f, const char *name, int ndim, const int64_t *shape, const pd_real *data);
void tdu_bundle_i32(FILE *f, const char *name, int ndim, const int64_t *shape, const int32_t *data);
int tdu_bundle_close(FILE *f);

/* A batch with its own storage: entries of the given lengths, latents ~ U(-1, 1) from seed,
 * aa 0..20, every residue valid. */
typedef struct tdu_batch {
    pd_diffusion_batch b;
    int64_t *offset;
    float *sc_mu, *bb_mu;
    uint8_t *aa, *valid;
    uint64_t *keys;
} tdu_batch;

void tdu_batch_make(tdu_batch *t, int n_entries, const int *lengths, int sc_latent, int bb_latent, uint64_t seed);
void tdu_batch_free(tdu_batch *t);

#endif
