/* test_conv_parity.c — our conv/norm/upsample/VQ ops (f32 build) against PyTorch on the same
 * inputs and weights: forward outputs and every gradient within 1e-5 relative (max error over
 * max magnitude), from the file tests/reference/nn_conv_reference.py wrote (argv[1]). Also the
 * BatchNorm running statistics, the VQ codes and one EMA codebook update, and the side-chain
 * VAE residual block as a whole. */
#include <stdio.h>
#include <string.h>

#include "conv_refdata.h"
#include "nn/conv.h"
#include "nn/norm.h"
#include "nn/ops.h"
#include "nn/upsample.h"
#include "nn/vq.h"
#include "op_seen.h"
#include "test.h"

#define PARITY_RTOL 1e-5

static const ref_file *ref;

static void compare(const char *case_name, const char *what, const pd_real *got)
{
    const ref_array *r = ref_get(ref, case_name, what);
    CHECK_MSG(r && got, "%s.%s: missing reference or result", case_name, what);
    if (!r || !got) return;
    double e = ref_rel_error(got, r->data, r->numel);
    printf("  %-18s %-16s rel err %.2e\n", case_name, what, e);
    CHECK_MSG(e <= PARITY_RTOL, "%s.%s: relative error %.3g > %g", case_name, what, e, PARITY_RTOL);
}

/* A leaf tensor from the reference (requires grad). */
static pd_tensor *input(pd_graph *g, const char *case_name, const char *what)
{
    const ref_array *r = ref_get(ref, case_name, what);
    if (!r) return NULL;
    pd_tensor *t = pd_tensor_from_floats(g, r->ndim, r->shape, r->data);
    if (t) t->requires_grad = 1;
    return t;
}

typedef pd_tensor *(*build_fn)(pd_graph *g, pd_tensor **in, void *user);

/* Forward with the named inputs, compare y; backward with the reference dy, compare d<input>. */
static void run_case(pd_graph *g, const char *case_name, int n, const char *const *names, build_fn build, void *user)
{
    pd_graph_reset(g);
    pd_tensor *in[16];
    for (int i = 0; i < n; i++) in[i] = input(g, case_name, names[i]);
    pd_tensor *y = build(g, in, user);
    CHECK_MSG(y && pd_graph_status(g) == PD_OK, "%s: forward failed: %s", case_name, pd_last_error());
    if (!y) return;
    compare(case_name, "y", y->data);
    const ref_array *dy = ref_get(ref, case_name, "dy");
    if (!dy) return;
    CHECK_MSG(pd_backward_seeded(g, y, dy->data) == PD_OK, "%s backward: %s", case_name, pd_last_error());
    for (int i = 0; i < n; i++) {
        char dname[64];
        snprintf(dname, sizeof dname, "d%s", names[i]);
        compare(case_name, dname, in[i]->grad);
    }
    pd_test_ops_seen_graph(g);
}

static pd_tensor *b_conv_same(pd_graph *g, pd_tensor **in, void *u) { (void)u; return pd_conv_k2(g, in[0], in[1], in[2], 1); }
static pd_tensor *b_conv_s2(pd_graph *g, pd_tensor **in, void *u) { (void)u; return pd_conv_k2(g, in[0], in[1], in[2], 2); }
static pd_tensor *b_convT(pd_graph *g, pd_tensor **in, void *u) { (void)u; return pd_conv_transpose_k2(g, in[0], in[1], in[2]); }
static pd_tensor *b_pointwise(pd_graph *g, pd_tensor **in, void *u) { (void)u; return pd_conv_pointwise(g, in[0], in[1], in[2]); }
static pd_tensor *b_groupnorm(pd_graph *g, pd_tensor **in, void *u) { (void)u; return pd_groupnorm(g, in[0], 4, in[1], in[2], 1e-5); }
static pd_tensor *b_batchnorm(pd_graph *g, pd_tensor **in, void *u) { return pd_batchnorm(g, in[0], in[1], in[2], u, 0.1, 1e-5); }
static pd_tensor *b_up2(pd_graph *g, pd_tensor **in, void *u) { (void)u; return pd_upsample_bilinear_scale(g, in[0], 2.0); }
static pd_tensor *b_up_size(pd_graph *g, pd_tensor **in, void *u) { (void)u; return pd_upsample_bilinear_size(g, in[0], 7, 9); }

static pd_tensor *b_resblock(pd_graph *g, pd_tensor **in, void *u)
{
    (void)u;
    pd_tensor *h = pd_silu(g, pd_groupnorm(g, pd_conv_k2(g, in[0], in[1], in[2], 1), 4, in[3], in[4], 1e-5));
    h = pd_groupnorm(g, pd_conv_k2(g, h, in[5], in[6], 1), 4, in[7], in[8], 1e-5);
    return pd_silu(g, pd_add(g, in[0], h));
}

static void check_batchnorm(pd_graph *g, const char *case_name, int training)
{
    const ref_array *rm = ref_get(ref, case_name, "running_mean_in"), *rv = ref_get(ref, case_name, "running_var_in");
    if (!rm || !rv) return;
    pd_real mean[64], var[64];
    memcpy(mean, rm->data, (size_t)rm->numel * sizeof(float));
    memcpy(var, rv->data, (size_t)rv->numel * sizeof(float));
    pd_batchnorm_stats stats = {.channels = rm->numel, .running_mean = mean, .running_var = var};
    pd_graph_set_training(g, training);
    run_case(g, case_name, 3, (const char *[]){"x", "w", "b"}, b_batchnorm, &stats);
    pd_graph_set_training(g, 1);
    compare(case_name, "running_mean_out", mean);
    compare(case_name, "running_var_out", var);
}

static void check_vq(pd_graph *g)
{
    pd_graph_reset(g);
    const ref_array *e = ref_get(ref, "vq", "embed"), *dy = ref_get(ref, "vq", "dy"), *ix = ref_get(ref, "vq", "index");
    if (!e || !dy || !ix) return;
    const int64_t K = e->shape[0], D = e->shape[1];
    pd_real embed[16 * 8], count[16], sum[16 * 8];
    CHECK(K * D <= 16 * 8);
    memcpy(embed, e->data, (size_t)(K * D) * sizeof(float));
    pd_vq_codebook book = {.codes = K, .dim = D, .embed = embed, .ema_count = count, .ema_sum = sum};
    pd_vq_codebook_reset_ema(&book);
    pd_tensor *x = input(g, "vq", "x"), *commit = NULL;
    int32_t *idx = NULL;
    pd_tensor *q = pd_vq_quantize(g, x, &book, 0.25, 0, &commit, &idx);
    CHECK_MSG(q && commit && idx, "vq forward: %s", pd_last_error());
    if (!q || !commit || !idx) return;
    int64_t wrong = 0;
    for (int64_t i = 0; i < ix->numel; i++) wrong += idx[i] != (int32_t)ix->data[i];
    CHECK_MSG(wrong == 0, "vq: %lld of %lld codes differ from PyTorch's argmin", (long long)wrong, (long long)ix->numel);
    compare("vq", "q", q->data);
    compare("vq", "commitment", commit->data);
    /* loss = Σ q·dy + commitment: backward through both. */
    pd_tensor *dyt = pd_tensor_from_floats(g, dy->ndim, dy->shape, dy->data);
    pd_tensor *loss = pd_add(g, pd_sum(g, pd_mul(g, q, dyt)), commit);
    CHECK_MSG(loss && pd_backward(g, loss) == PD_OK, "vq backward: %s", pd_last_error());
    compare("vq", "dx", x->grad);
    pd_test_ops_seen_graph(g);
    /* One EMA update from this batch. */
    const int64_t N = x->shape[0], P = x->numel / (N * D);
    double counts[16], sums[16 * 8];
    pd_vq_batch_stats(&book, x->data, N, P, idx, counts, sums);
    pd_vq_ema_config cfg = pd_vq_ema_defaults();
    pd_vq_ema_update(&book, &cfg, counts, sums);
    compare("vq", "ema_count", count);
    compare("vq", "ema_sum", sum);
    compare("vq", "embed_new", embed);
}

int main(int argc, char **argv)
{
    pd_test_ops_seen_begin("test_conv_parity");
    if (argc != 2) {
        fprintf(stderr, "usage: %s REFERENCE.bin (written by tests/reference/nn_conv_reference.py)\n", argv[0]);
        return 2;
    }
    ref_file f;
    if (ref_load(argv[1], &f) != PD_OK) {
        fprintf(stderr, "%s\n", pd_last_error());
        return 1;
    }
    ref = &f;
    pd_graph *g;
    CHECK(pd_graph_create(&g, 0) == PD_OK);
    const char *xwb[3] = {"x", "w", "b"};
    run_case(g, "conv3d_same", 3, xwb, b_conv_same, NULL);
    run_case(g, "conv3d_s2", 3, xwb, b_conv_s2, NULL);
    run_case(g, "conv2d_same", 3, xwb, b_conv_same, NULL);
    run_case(g, "conv2d_s2", 3, xwb, b_conv_s2, NULL);
    run_case(g, "convT3d", 3, xwb, b_convT, NULL);
    run_case(g, "convT2d", 3, xwb, b_convT, NULL);
    run_case(g, "conv2d_1x1", 3, xwb, b_pointwise, NULL);
    run_case(g, "conv3d_1x1", 3, xwb, b_pointwise, NULL);
    run_case(g, "groupnorm", 3, xwb, b_groupnorm, NULL);
    check_batchnorm(g, "batchnorm_train", 1);
    check_batchnorm(g, "batchnorm_eval", 0);
    run_case(g, "upsample_x2", 1, xwb, b_up2, NULL);
    run_case(g, "upsample_size", 1, xwb, b_up_size, NULL);
    check_vq(g);
    run_case(g, "resblock", 9, (const char *[]){"x", "w1", "b1", "g1", "be1", "w2", "b2", "g2", "be2"}, b_resblock,
             NULL);
    pd_graph_destroy(g);
    ref_free(&f);
    return pd_test_ops_seen_end("test_conv_parity", pd_test_finish("test_conv_parity"));
}
