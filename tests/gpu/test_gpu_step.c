/* test_gpu_step.c — one training step of two small models through the op set's dispatch: the
 * same forward code on a cpu graph/parameter store and on a cuda one (run.device = "cuda":
 * managed memory, pd_cuda_* kernels), compared after forward, backward and one AdamW step.
 * Model 1 (linear → GELU → LayerNorm → attention → modulate → linear, MSE and cross-entropy) is
 * the transformer side; model 2 (conv k2 → GroupNorm → SiLU → strided conv → BatchNorm → 1×1
 * conv → bilinear upsampling + transposed conv → permute/split → reparameterise → KL, VQ →
 * concat → gather/scatter-add rows → embedding → RoPE → transpose → sum/mean) the VAE and
 * tokenizer side. Every op of both dispatches except the VQ commitment loss (a host op on managed
 * memory, which this step covers too). Tolerance 1e-4 relative to the largest reference
 * value (cuBLAS and OpenBLAS sum GEMM products in different orders). SKIPs (exit 77) without
 * CUDA in the build or a GPU. */
#include "config.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>

#include "nn/conv.h"
#include "nn/device.h"
#include "nn/norm.h"
#include "nn/ops.h"
#include "nn/optim.h"
#include "nn/params.h"
#include "nn/upsample.h"
#include "nn/vq.h"
#include "test.h"

#ifdef PD_HAVE_CUDA
enum { B = 2, L = 6, D = 16, H = 2, C = 5 };

typedef struct model { pd_params P; pd_tensor *w1, *b1, *ln_w, *ln_b, *wq, *wk, *wv, *shift, *scale, *w2, *wc; } model;

static pd_status model_create(void *user)
{
    model *m = user;
    pd_params_init(&m->P);
    m->w1 = pd_param_new(&m->P, "w1", 2, (int64_t[]){D, D}, PD_INIT_TORCH_DEFAULT, D);
    m->b1 = pd_param_new(&m->P, "b1", 1, (int64_t[]){D}, PD_INIT_TORCH_DEFAULT, D);
    m->ln_w = pd_param_new(&m->P, "ln_w", 1, (int64_t[]){D}, PD_INIT_ONES, 0);
    m->ln_b = pd_param_new(&m->P, "ln_b", 1, (int64_t[]){D}, PD_INIT_ZEROS, 0);
    m->wq = pd_param_new(&m->P, "wq", 2, (int64_t[]){D, D}, PD_INIT_TORCH_DEFAULT, D);
    m->wk = pd_param_new(&m->P, "wk", 2, (int64_t[]){D, D}, PD_INIT_TORCH_DEFAULT, D);
    m->wv = pd_param_new(&m->P, "wv", 2, (int64_t[]){D, D}, PD_INIT_TORCH_DEFAULT, D);
    m->shift = pd_param_new(&m->P, "shift", 2, (int64_t[]){B, D}, PD_INIT_NORMAL, 0.1);
    m->scale = pd_param_new(&m->P, "scale", 2, (int64_t[]){B, D}, PD_INIT_NORMAL, 0.1);
    m->w2 = pd_param_new(&m->P, "w2", 2, (int64_t[]){D, D}, PD_INIT_TORCH_DEFAULT, D);
    m->wc = pd_param_new(&m->P, "wc", 2, (int64_t[]){C, D}, PD_INIT_TORCH_DEFAULT, D);
    PD_TRY(pd_params_finalize(&m->P, 1));
    pd_params_init_values(&m->P, 7);
    return PD_OK;
}

/* Forward to the summed loss; inputs are deterministic functions of their index. */
static pd_tensor *forward(pd_graph *g, void *user)
{
    model *m = user;
    float xs[B * L * D], ts[B * L * D];
    for (int i = 0; i < B * L * D; i++) {
        xs[i] = (float)sin(0.37 * i);
        ts[i] = (float)cos(0.11 * i);
    }
    const uint8_t valid[B * L] = {1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0};
    const int32_t classes[B * L] = {0, 1, 2, 3, 4, -1, 4, 3, 2, -1, -1, -1};
    pd_tensor *x = pd_tensor_from_floats(g, 3, (int64_t[]){B, L, D}, xs);
    pd_tensor *t = pd_tensor_from_floats(g, 3, (int64_t[]){B, L, D}, ts);
    pd_tensor *h = pd_gelu(g, pd_linear(g, x, m->w1, m->b1));
    h = pd_layernorm(g, h, m->ln_w, m->ln_b, 1e-5);
    pd_tensor *a = pd_attention(g, pd_linear(g, h, m->wq, NULL), pd_linear(g, h, m->wk, NULL),
                                pd_linear(g, h, m->wv, NULL), H, valid, 0);
    h = pd_add(g, h, pd_modulate(g, a, m->shift, m->scale));
    pd_tensor *out = pd_linear(g, h, m->w2, NULL);
    pd_tensor *logits = pd_reshape(g, pd_linear(g, h, m->wc, NULL), 2, (int64_t[]){B * L, C});
    pd_tensor *mse = pd_mse(g, pd_reshape(g, out, 2, (int64_t[]){B * L, D}), pd_reshape(g, t, 2, (int64_t[]){B * L, D}),
                            valid, 0);
    return pd_add(g, mse, pd_scale(g, pd_cross_entropy(g, logits, classes, -1, 0), 0.5));
}

/* ---- model 2: the conv / norm / VAE / VQ / index ops ---- */
enum { CN = 2, CIN = 3, CH = 8, IMG = 8, LAT = 4, CODES = 6, VOCAB = 10, ROWS = CN * IMG * IMG, EDGES = 2 * ROWS };

typedef struct conv_model {
    pd_params P;
    pd_tensor *c1w, *c1b, *gn_w, *gn_b, *c2w, *c2b, *bn_w, *bn_b, *c3w, *c3b, *ctw, *ctb, *emb;
    pd_real bn_buffer[2 * CH];      /* running mean, running var: model-owned host memory */
    pd_batchnorm_stats bn;
    pd_real codes[CODES * LAT];     /* the VQ codebook (host memory, as the tokenizer keeps it) */
    pd_vq_codebook book;
    int32_t vq_index[ROWS];         /* the codes the forward chose, copied out for comparison */
} conv_model;

static pd_status conv_model_create(void *user)
{
    conv_model *m = user;
    pd_params_init(&m->P);
    m->c1w = pd_param_new(&m->P, "c1w", 4, (int64_t[]){CH, CIN, 2, 2}, PD_INIT_TORCH_DEFAULT, CIN * 4);
    m->c1b = pd_param_new(&m->P, "c1b", 1, (int64_t[]){CH}, PD_INIT_TORCH_DEFAULT, CIN * 4);
    m->gn_w = pd_param_new(&m->P, "gn_w", 1, (int64_t[]){CH}, PD_INIT_NORMAL, 0.3);
    m->gn_b = pd_param_new(&m->P, "gn_b", 1, (int64_t[]){CH}, PD_INIT_NORMAL, 0.3);
    m->c2w = pd_param_new(&m->P, "c2w", 4, (int64_t[]){CH, CH, 2, 2}, PD_INIT_TORCH_DEFAULT, CH * 4);
    m->c2b = pd_param_new(&m->P, "c2b", 1, (int64_t[]){CH}, PD_INIT_TORCH_DEFAULT, CH * 4);
    m->bn_w = pd_param_new(&m->P, "bn_w", 1, (int64_t[]){CH}, PD_INIT_NORMAL, 0.3);
    m->bn_b = pd_param_new(&m->P, "bn_b", 1, (int64_t[]){CH}, PD_INIT_NORMAL, 0.3);
    m->c3w = pd_param_new(&m->P, "c3w", 2, (int64_t[]){CH, CH}, PD_INIT_TORCH_DEFAULT, CH);
    m->c3b = pd_param_new(&m->P, "c3b", 1, (int64_t[]){CH}, PD_INIT_TORCH_DEFAULT, CH);
    m->ctw = pd_param_new(&m->P, "ctw", 4, (int64_t[]){CH, CH, 2, 2}, PD_INIT_TORCH_DEFAULT, CH * 4);
    m->ctb = pd_param_new(&m->P, "ctb", 1, (int64_t[]){CH}, PD_INIT_TORCH_DEFAULT, CH * 4);
    m->emb = pd_param_new(&m->P, "emb", 2, (int64_t[]){VOCAB, CH}, PD_INIT_NORMAL, 0.5);
    PD_TRY(pd_params_finalize(&m->P, 1));
    pd_params_init_values(&m->P, 11);
    m->bn = (pd_batchnorm_stats){CH, m->bn_buffer, m->bn_buffer + CH, 0};
    pd_batchnorm_stats_reset(&m->bn);
    for (int i = 0; i < CODES * LAT; i++) m->codes[i] = (pd_real)sin(1.3 * i + 0.5);
    m->book = (pd_vq_codebook){CODES, LAT, m->codes, NULL, NULL};
    return PD_OK;
}

static pd_tensor *conv_forward(pd_graph *g, void *user)
{
    conv_model *m = user;
    float xs[CN * CIN * IMG * IMG];
    for (int i = 0; i < CN * CIN * IMG * IMG; i++) xs[i] = (float)sin(0.23 * i + 0.1);
    uint8_t valid[ROWS];
    int32_t src[EDGES], dst[EDGES], tokens[ROWS];
    for (int r = 0; r < ROWS; r++) {
        valid[r] = r % 7 != 3;
        tokens[r] = r % 11 == 5 ? -1 : (r * 3) % VOCAB;   /* -1: a padding token (zero row) */
    }
    for (int e = 0; e < EDGES; e++) {
        src[e] = (e * 37 + 5) % ROWS;
        dst[e] = e % 13 == 0 ? -1 : (e * 11 + e / 3) % ROWS;   /* -1: a dropped edge */
    }
    pd_tensor *x = pd_tensor_from_floats(g, 4, (int64_t[]){CN, CIN, IMG, IMG}, xs);
    pd_tensor *h = pd_silu(g, pd_groupnorm(g, pd_conv_k2(g, x, m->c1w, m->c1b, 1), 2, m->gn_w, m->gn_b, 1e-5));
    h = pd_conv_k2(g, h, m->c2w, m->c2b, 2);                          /* [CN, CH, 4, 4] */
    h = pd_conv_pointwise(g, pd_batchnorm(g, h, m->bn_w, m->bn_b, &m->bn, 0.1, 1e-5), m->c3w, m->c3b);
    h = pd_add(g, pd_upsample_bilinear_scale(g, h, 2.0), pd_conv_transpose_k2(g, h, m->ctw, m->ctb));
    pd_tensor *rows = pd_reshape(g, pd_permute(g, h, (int[]){0, 2, 3, 1}), 2, (int64_t[]){ROWS, CH});
    pd_tensor *halves[2] = {NULL, NULL};
    if (pd_split(g, rows, 1, 2, (int64_t[]){LAT, LAT}, halves) != PD_OK) return NULL;
    pd_tensor *logvar = pd_scale(g, halves[1], 0.5);
    pd_tensor *z = pd_reparameterize(g, halves[0], logvar, 5, 1, NULL);
    pd_tensor *kl = pd_kl_normal(g, halves[0], logvar, valid, 0);
    pd_tensor *commitment = NULL;
    int32_t *index = NULL;
    pd_tensor *q = pd_vq_quantize(g, z, &m->book, 0.25, 0, &commitment, &index);
    if (!q) return NULL;
    for (int r = 0; r < ROWS; r++) m->vq_index[r] = index[r];
    pd_tensor *zc = pd_concat(g, 2, (pd_tensor *[]){q, halves[0]}, 1);              /* [ROWS, CH] */
    pd_tensor *msg = pd_scatter_add_rows(g, pd_gather_rows(g, zc, src, EDGES), dst, ROWS);
    pd_tensor *s = pd_add(g, msg, pd_embedding(g, m->emb, tokens, ROWS));
    s = pd_rope(g, pd_reshape(g, s, 3, (int64_t[]){CN, IMG * IMG, CH}), NULL, 2, 4, 10000.0);
    pd_tensor *t = pd_transpose(g, s, 1, 2);                                         /* [CN, CH, 64] */
    pd_tensor *pooled = pd_sum_axis(g, pd_mean_axis(g, t, 2), 0);                    /* [CH] */
    pd_tensor *loss = pd_add(g, pd_mean(g, pd_mul(g, t, t)), pd_scale(g, pd_sum(g, pooled), 0.01));
    return pd_add(g, pd_add(g, loss, kl), commitment);
}

static double max_abs(const float *v, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fabs(v[i]) > m ? fabs(v[i]) : m;
    return m;
}

static double max_diff(const float *a, const float *b, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fabs((double)a[i] - b[i]) > m ? fabs((double)a[i] - b[i]) : m;
    return m;
}

/* Loss, gradients and weights after one AdamW step, on the given placement. P is the model's
 * parameter store (inside *user). */
static pd_status run_step(const pd_placement *place, pd_status (*create)(void *), pd_tensor *(*fwd)(pd_graph *, void *),
                          void *user, pd_params *P, double *loss)
{
    pd_placement_set_default(place);
    PD_TRY(create(user));
    pd_graph *g = NULL;
    PD_TRY(pd_graph_create(&g, 0));
    pd_tensor *l = fwd(g, user);
    pd_status st = pd_graph_status(g);
    if (st == PD_OK) {
        *loss = l->data[0];
        st = pd_backward(g, l);
    }
    pd_adamw opt;
    pd_adamw_config cfg;
    pd_adamw_config_default(&cfg);
    if (st == PD_OK) st = pd_adamw_init(&opt, P, &cfg, 0, P->total);
    if (st == PD_OK) {
        pd_adamw_step(&opt, P->data, P->grad, 1e-2, 1.0);
        st = opt.device_status;
        pd_adamw_free(&opt);
    }
    pd_graph_destroy(g);
    return st;
}

/* The cuda run against the cpu run: loss, parameter gradients, weights after AdamW. */
static void compare_runs(const char *name, const pd_params *cpu, const pd_params *gpu, double loss_c, double loss_g)
{
    CHECK(gpu->device == PD_DEVICE_CUDA && pd_device_of_pointer(gpu->data) == PD_DEVICE_CUDA);
    CHECK_MSG(fabs(loss_c - loss_g) <= 1e-4 * fabs(loss_c), "%s: loss cpu %.8g gpu %.8g", name, loss_c, loss_g);
    int64_t n = cpu->total;
    double gscale = max_abs(cpu->grad, n), wscale = max_abs(cpu->data, n);
    CHECK_MSG(gscale > 0 && max_diff(cpu->grad, gpu->grad, n) <= 1e-4 * gscale,
              "%s: gradients differ by %.3g (max %.3g)", name, max_diff(cpu->grad, gpu->grad, n), gscale);
    CHECK_MSG(max_diff(cpu->data, gpu->data, n) <= 1e-4 * wscale, "%s: weights after AdamW differ by %.3g (max %.3g)",
              name, max_diff(cpu->data, gpu->data, n), wscale);
    printf("%s: loss cpu %.8g gpu %.8g; max |grad diff| %.3g of %.3g\n", name, loss_c, loss_g,
           max_diff(cpu->grad, gpu->grad, n), gscale);
}

#endif

int main(int argc, char **argv)
{
#ifndef PD_HAVE_CUDA
    (void)argc;
    (void)argv;
    printf("SKIP: built without --with-cuda\n");
    return 77;
#else
    if (!pd_device_cuda_available()) {
        printf("SKIP: no GPU visible\n");
        return 77;
    }
    MPI_Init(&argc, &argv);
    pd_placement cpu = {PD_DEVICE_CPU, PD_GEMM_FP32, (size_t)64 << 20};
    pd_placement gpu = {PD_DEVICE_CUDA, PD_GEMM_FP32, (size_t)64 << 20};
    pd_status st = pd_placement_start(&gpu, MPI_COMM_SELF);
    CHECK_MSG(st == PD_OK, "GPU start: %s", pd_last_error());
    model mc, mg;
    double loss_c = 0, loss_g = 0;
    CHECK_MSG(run_step(&cpu, model_create, forward, &mc, &mc.P, &loss_c) == PD_OK, "cpu step: %s", pd_last_error());
    CHECK_MSG(run_step(&gpu, model_create, forward, &mg, &mg.P, &loss_g) == PD_OK, "gpu step: %s", pd_last_error());
    compare_runs("transformer step", &mc.P, &mg.P, loss_c, loss_g);
    pd_params_free(&mc.P);
    pd_params_free(&mg.P);

    static conv_model cc, cg;   /* static: the VQ index and BatchNorm buffers */
    CHECK_MSG(run_step(&cpu, conv_model_create, conv_forward, &cc, &cc.P, &loss_c) == PD_OK, "cpu conv step: %s",
              pd_last_error());
    CHECK_MSG(run_step(&gpu, conv_model_create, conv_forward, &cg, &cg.P, &loss_g) == PD_OK, "gpu conv step: %s",
              pd_last_error());
    int same_codes = 1;
    for (int r = 0; r < ROWS; r++) same_codes &= cc.vq_index[r] == cg.vq_index[r];
    CHECK_MSG(same_codes, "conv step: the GPU's nearest codes differ from the CPU's");
    double bn_diff = max_diff(cc.bn_buffer, cg.bn_buffer, 2 * CH);
    CHECK_MSG(cg.bn.batches_tracked == 1 && bn_diff <= 1e-4 * max_abs(cc.bn_buffer, 2 * CH),
              "conv step: BatchNorm running statistics differ by %.3g (batches tracked %lld)", bn_diff,
              (long long)cg.bn.batches_tracked);
    compare_runs("conv/VAE/VQ step", &cc.P, &cg.P, loss_c, loss_g);
    pd_params_free(&cc.P);
    pd_params_free(&cg.P);
    int rc = pd_test_finish("test_gpu_step");
    MPI_Finalize();
    return rc;
#endif
}
