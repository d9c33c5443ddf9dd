/* blocks.h — two reference blocks written on the op set exactly as the PyTorch reference
 * (tests/reference/nn_reference.py) writes them: a pre-LN transformer block with RoPE
 * attention and a GELU MLP, and an MPNN layer. Used by the parity, training and bench code. */
#ifndef PD_TESTS_NN_BLOCKS_H
#define PD_TESTS_NN_BLOCKS_H

#include "nn/ops.h"
#include "nn/params.h"

typedef struct pd_test_transformer {
    int d, heads, mlp, rope_dim;
    pd_tensor *ln1_w, *ln1_b, *wq_w, *wq_b, *wk_w, *wk_b, *wv_w, *wv_b, *wo_w, *wo_b;
    pd_tensor *ln2_w, *ln2_b, *fc1_w, *fc1_b, *fc2_w, *fc2_b;
} pd_test_transformer;

/* Declares parameters named like torch's named_parameters() ("ln1.weight", "wq.bias", ...)
 * with `prefix` prepended, in the current unit of P. */
void pd_test_transformer_declare(pd_test_transformer *t, pd_params *P, const char *prefix, int d, int heads, int mlp,
                                 int rope_dim);
pd_tensor *pd_test_transformer_forward(pd_graph *g, const pd_test_transformer *t, pd_tensor *x, const int32_t *pos,
                                       const uint8_t *key_valid);

typedef struct pd_test_mpnn {
    int d, de, k;
    pd_tensor *m1_w, *m1_b, *m2_w, *m2_b, *ln1_w, *ln1_b, *f1_w, *f1_b, *f2_w, *f2_b, *ln2_w, *ln2_b;
} pd_test_mpnn;

void pd_test_mpnn_declare(pd_test_mpnn *m, pd_params *P, const char *prefix, int d, int de, int k);
/* h [N, d], e [E, de]; edge i goes from node src[i] to node dst[i]. */
pd_tensor *pd_test_mpnn_forward(pd_graph *g, const pd_test_mpnn *m, pd_tensor *h, pd_tensor *e, const int32_t *src,
                                const int32_t *dst);

#endif
