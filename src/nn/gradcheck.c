/* gradcheck.c — central-difference check of analytic gradients (see gradcheck.h). Inputs live
 * in heap buffers wrapped into a fresh graph for every evaluation, so the op under test sees
 * exactly what a model would give it. */
#include "nn/gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

typedef struct check_state {
    pd_graph *g;
    pd_gradcheck_fn build;
    void *user;
    int n_inputs;
    const pd_gradcheck_input *inputs;
    pd_real **values;
    pd_tensor **tensors;   /* this evaluation's wrapped inputs */
    int training;
} check_state;

/* Fresh graph state, inputs wrapped, op built. Returns the output or NULL (message set). */
static pd_tensor *evaluate(check_state *s, int with_grad)
{
    pd_graph_reset(s->g);
    pd_graph_set_grad(s->g, with_grad);
    pd_graph_set_training(s->g, s->training);
    for (int k = 0; k < s->n_inputs; k++) {
        const pd_gradcheck_input *in = &s->inputs[k];
        s->tensors[k] = pd_tensor_wrap(s->g, in->ndim, in->shape, s->values[k]);
        if (!s->tensors[k]) return NULL;
        s->tensors[k]->requires_grad = with_grad && in->requires_grad;
        s->tensors[k]->name = "gradcheck input";
    }
    pd_tensor *out = s->build(s->g, s->tensors, s->user);
    if (!out || pd_graph_status(s->g) != PD_OK) {
        if (pd_graph_status(s->g) == PD_OK) pd_fail(PD_ERR, "the op under test returned NULL without an error");
        return NULL;
    }
    return out;
}

static double weighted_sum(const pd_tensor *out, const double *w)
{
    double s = 0;
    for (int64_t i = 0; i < out->numel; i++) s += (double)out->data[i] * w[i];
    return s;
}

pd_status pd_gradcheck(const char *name, pd_gradcheck_fn build, void *user, int n_inputs,
                       const pd_gradcheck_input *inputs, const pd_gradcheck_opts *opts_in, pd_gradcheck_result *res)
{
    pd_gradcheck_opts opts = {0};
    if (opts_in) opts = *opts_in;
#ifdef PD_REAL_DOUBLE
    if (opts.eps <= 0) opts.eps = 1e-6;
    if (opts.rtol <= 0) opts.rtol = 1e-6;
    if (opts.atol <= 0) opts.atol = 1e-8;
#else
    if (opts.eps <= 0) opts.eps = 1e-2;
    if (opts.rtol <= 0) opts.rtol = 2e-2;
    if (opts.atol <= 0) opts.atol = 1e-3;
#endif
    pd_gradcheck_result r;
    memset(&r, 0, sizeof r);
    r.worst_input = -1;

    check_state s = {0};
    s.build = build;
    s.user = user;
    s.n_inputs = n_inputs;
    s.inputs = inputs;
    s.training = opts.training;
    pd_status st = pd_graph_create(&s.g, 1 << 20);
    if (st != PD_OK) return st;
    s.values = pd_calloc((size_t)n_inputs + 1, sizeof *s.values);
    s.tensors = pd_calloc((size_t)n_inputs + 1, sizeof *s.tensors);
    pd_real **analytic = pd_calloc((size_t)n_inputs + 1, sizeof *analytic);
    double *w = NULL;
    if (!s.values || !s.tensors || !analytic) {
        st = PD_ERR_NOMEM;
        goto done;
    }
    pd_rng rng;
    pd_rng_init(&rng, opts.seed, 0, pd_fnv1a64(name, strlen(name)), PD_RNG_INIT);
    for (int k = 0; k < n_inputs; k++) {
        int64_t n = pd_shape_numel(inputs[k].ndim, inputs[k].shape);
        s.values[k] = pd_malloc((size_t)(n ? n : 1) * sizeof(pd_real));
        analytic[k] = pd_calloc((size_t)(n ? n : 1), sizeof(pd_real));
        if (!s.values[k] || !analytic[k]) {
            st = PD_ERR_NOMEM;
            goto done;
        }
        double lo = inputs[k].lo, hi = inputs[k].hi;
        if (lo == hi) {
            lo = -1;
            hi = 1;
        }
        for (int64_t j = 0; j < n; j++)
            s.values[k][j] = inputs[k].values ? inputs[k].values[j] : (pd_real)(lo + (hi - lo) * pd_rng_uniform(&rng));
    }

    /* Analytic: backward of L = sum(out * w). */
    pd_tensor *out = evaluate(&s, 1);
    if (!out) {
        st = PD_ERR;
        pd_error_context("gradcheck %s: forward", name);
        goto done;
    }
    int64_t n_out = out->numel;
    w = pd_malloc((size_t)(n_out ? n_out : 1) * sizeof(double));
    pd_real *seed = pd_graph_alloc(s.g, (size_t)(n_out ? n_out : 1) * sizeof(pd_real));
    if (!w || !seed) {
        st = PD_ERR_NOMEM;
        goto done;
    }
    for (int64_t i = 0; i < n_out; i++) {
        w[i] = 2 * pd_rng_uniform(&rng) - 1;
        seed[i] = (pd_real)w[i];
    }
    if (!out->requires_grad) {
        st = pd_fail(PD_ERR, "gradcheck %s: the output does not require grad (no input marked requires_grad?)", name);
        goto done;
    }
    st = pd_backward_seeded(s.g, out, seed);
    if (st != PD_OK) {
        pd_error_context("gradcheck %s: backward", name);
        goto done;
    }
    for (int k = 0; k < n_inputs; k++) {
        int64_t n = pd_shape_numel(inputs[k].ndim, inputs[k].shape);
        if (inputs[k].requires_grad && s.tensors[k]->grad)
            memcpy(analytic[k], s.tensors[k]->grad, (size_t)n * sizeof(pd_real));
    }
    for (int i = 0; i < pd_tape_length(s.g); i++) {
        const pd_op op = pd_tape_node(s.g, i)->op_id;
        if (op >= 0 && op < PD_OP_COUNT) r.ops[op] = 1;
    }

    /* Numeric: central differences, one element at a time. */
    int failed = 0;
    for (int k = 0; k < n_inputs && !failed; k++) {
        if (!inputs[k].requires_grad) continue;
        int64_t n = pd_shape_numel(inputs[k].ndim, inputs[k].shape);
        int64_t n_checks = opts.max_checks > 0 && opts.max_checks < n ? opts.max_checks : n;
        for (int64_t c = 0; c < n_checks; c++) {
            int64_t j = n_checks == n ? c : (int64_t)pd_rng_below(&rng, (uint64_t)n);
            pd_real keep = s.values[k][j];
            double lp, lm;
            s.values[k][j] = (pd_real)(keep + opts.eps);
            double hplus = (double)s.values[k][j] - (double)keep;
            pd_tensor *o = evaluate(&s, 0);
            if (!o) {
                st = PD_ERR;
                goto done;
            }
            lp = weighted_sum(o, w);
            s.values[k][j] = (pd_real)(keep - opts.eps);
            double hminus = (double)keep - (double)s.values[k][j];
            o = evaluate(&s, 0);
            if (!o) {
                st = PD_ERR;
                goto done;
            }
            lm = weighted_sum(o, w);
            s.values[k][j] = keep;
            double numeric = (lp - lm) / (hplus + hminus);
            double a = analytic[k][j];
            double err = fabs(a - numeric), scale = fmax(fabs(a), fabs(numeric));
            double rel = scale > 0 ? err / scale : 0;
            r.n_checked++;
            if (opts.verbose)
                fprintf(stderr, "gradcheck %s: input %d [%lld] analytic %.10g numeric %.10g\n", name, k, (long long)j, a,
                        numeric);
            if (err > r.max_abs_err) r.max_abs_err = err;
            if (scale > 100 * opts.atol && rel > r.max_rel_err) r.max_rel_err = rel;  /* where relative error means something */
            if (err > opts.atol + opts.rtol * scale && !failed) {
                failed = 1;
                r.worst_input = k;
                r.worst_index = j;
                r.worst_analytic = a;
                r.worst_numeric = numeric;
            }
        }
    }
    if (failed)
        st = pd_fail(PD_ERR, "gradcheck %s (%s): input %d element %lld: analytic %.10g vs numeric %.10g "
                             "(|diff| %.3g > atol %.1g + rtol %.1g * scale)", name, PD_REAL_NAME, r.worst_input,
                     (long long)r.worst_index, r.worst_analytic, r.worst_numeric,
                     fabs(r.worst_analytic - r.worst_numeric), opts.atol, opts.rtol);
done:
    if (res) *res = r;
    if (s.values)
        for (int k = 0; k < n_inputs; k++) free(s.values[k]);
    if (analytic)
        for (int k = 0; k < n_inputs; k++) free(analytic[k]);
    free(s.values);
    free(s.tensors);
    free(analytic);
    free(w);
    pd_graph_destroy(s.g);
    return st;
}
