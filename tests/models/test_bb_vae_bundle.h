/* test_bb_vae_bundle.h — the bb_vae tests' exchange with tests/reference/bb_vae_ref.py: write a
 * "tensor bundle" (the format of tests/reference/nn_bundle.py) of graph arrays, weights and noise,
 * run the Python reference on it, and read the bundle it writes back. */
#ifndef PD_TESTS_MODELS_BB_VAE_BUNDLE_H
#define PD_TESTS_MODELS_BB_VAE_BUNDLE_H

#include <stdint.h>
#include <stdio.h>

#include "nn/real.h"

/* Writing: open, add items, close. add_* return 0 on success. */
FILE *bundle_open(const char *path);
int bundle_add_f32(FILE *f, const char *name, int ndim, const int64_t *shape, const float *data);
int bundle_add_real(FILE *f, const char *name, int ndim, const int64_t *shape, const pd_real *data);
int bundle_add_i32(FILE *f, const char *name, int ndim, const int64_t *shape, const int32_t *data);
int bundle_add_u8(FILE *f, const char *name, int ndim, const int64_t *shape, const uint8_t *data);
int bundle_close(FILE *f);

/* The whole input of bb_vae_ref.py's model: config, graph (incl. node_chain, from which the
 * reference derives decoder positions and pair classes itself), targets (aa of valid residues,
 * -1 for X / invalid), noise eps [N, latent] and every parameter as param.<name>. */
struct pd_bb_vae;
struct pd_bb_graph;
int bundle_write_bb_vae_input(const char *path, const struct pd_bb_vae *m, const struct pd_bb_graph *graph,
                              const uint8_t *aa, const float *eps);

/* Reading back (float items only, what the reference returns). */
typedef struct bundle_item { char *name; int64_t numel; float *data; } bundle_item;
typedef struct bundle { int n; bundle_item *items; } bundle;
int bundle_read(bundle *b, const char *path);      /* 0 on success */
const bundle_item *bundle_find(const bundle *b, const char *name);
void bundle_free(bundle *b);

/* Run `$PYTHON_REF $top_srcdir/tests/reference/bb_vae_ref.py MODE IN OUT`. Returns the script's
 * exit status (77 when PYTHON_REF is unset: skip). */
int bundle_run_reference(const char *mode, const char *in, const char *out);

#endif
