/* gradcheck.h — finite-difference gradient checks of ops (ggml test-backend-ops style).
 * An op under test is a closure that builds it from input tensors. The checker fills inputs
 * with counter-RNG values, forms L = sum(out * w) with fixed random w, runs pd_backward, and
 * compares every analytic dL/dx against the central difference (L(x+h) - L(x-h)) / 2h.
 * Run it from tests linked against the PD_REAL_DOUBLE build of src/nn (tests/nn/local.mk:
 * $(PD_NN64_LDADD)): then the same kernels run in double and the tolerance can be tight
 * (default eps 1e-6, rtol 1e-6); in the f32 build the defaults loosen (eps 1e-2, rtol 2e-2).
 *
 *   static pd_tensor *build_gelu(pd_graph *g, pd_tensor *const *in, void *user)
 *   { (void)user; return pd_gelu(g, in[0]); }
 *
 *   pd_gradcheck_input x = { .ndim = 2, .shape = {3, 5}, .requires_grad = 1 };
 *   pd_gradcheck_result r;
 *   CHECK_MSG(pd_gradcheck("gelu", build_gelu, NULL, 1, &x, NULL, &r) == PD_OK, "%s", pd_last_error());
 */
#ifndef PD_NN_GRADCHECK_H
#define PD_NN_GRADCHECK_H

#include <stdint.h>

#include "core/error.h"
#include "nn/tape.h"

/* Build the op(s) under test from `in` (n_inputs tensors shaped as requested); return the
 * output (any shape). May use g (e.g. pd_graph_training) and its own `user` data. */
typedef pd_tensor *(*pd_gradcheck_fn)(pd_graph *g, pd_tensor *const *in, void *user);

typedef struct pd_gradcheck_input {
    int ndim;
    int64_t shape[PD_MAX_DIMS];
    int requires_grad;      /* 0: constant input, not perturbed and not checked */
    double lo, hi;          /* uniform fill range; lo == hi picks [-1, 1] */
    const pd_real *values;  /* explicit values instead of random ones (NULL: random) */
} pd_gradcheck_input;

typedef struct pd_gradcheck_opts {
    double eps;             /* finite-difference step (0: default for pd_real) */
    double rtol, atol;      /* pass if |analytic - numeric| <= atol + rtol * max(|a|, |n|) */
    uint64_t seed;          /* inputs and the weights w */
    int training;           /* graph mode during the check (default 0 = eval, 1 = train) */
    int64_t max_checks;     /* per input; 0 = every element, else a random subset */
    int verbose;            /* print every compared element */
} pd_gradcheck_opts;

typedef struct pd_gradcheck_result {
    int n_checked;          /* elements compared */
    double max_abs_err;     /* over all compared elements */
    double max_rel_err;
    int worst_input;        /* where the worst element is */
    int64_t worst_index;
    double worst_analytic, worst_numeric;
    unsigned char ops[PD_OP_COUNT]; /* 1 for each op (op.h) on the checked graph's tape */
} pd_gradcheck_result;

/* PD_OK when every compared element is within tolerance; otherwise PD_ERR with a message
 * naming `name`, the input, the element and both values. `opts` may be NULL (defaults). */
pd_status pd_gradcheck(const char *name, pd_gradcheck_fn build, void *user, int n_inputs,
                       const pd_gradcheck_input *inputs, const pd_gradcheck_opts *opts,
                       pd_gradcheck_result *result);

#endif
