/* test_gpu_step.c — one training step of a small model through the op set's dispatch: the same
 * forward code on a cpu graph/parameter store and on a cuda one (run.device = "cuda": managed
 * memory, pd_cuda_* kernels), compared after forward, backward and one AdamW step. The model
 * (linear → GELU → LayerNorm → attention → modulate → linear, MSE and cross-entropy) uses only
 * ops that dispatch. Tolerance 1e-4 relative to the largest reference value (cuBLAS and OpenBLAS
 * sum GEMM products in different orders). SKIPs (exit 77) without CUDA in the build or a GPU. */
#include "config.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>

#include "nn/device.h"
#include "nn/ops.h"
#include "nn/optim.h"
#include "nn/params.h"
#include "test.h"

#ifdef PD_HAVE_CUDA
enum { B = 2, L = 6, D = 16, H = 2, C = 5 };

typedef struct model { pd_params P; pd_tensor *w1, *b1, *ln_w, *ln_b, *wq, *wk, *wv, *shift, *scale, *w2, *wc; } model;

static pd_status model_create(model *m)
{
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
static pd_tensor *forward(pd_graph *g, model *m)
{
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

/* Loss, gradients and weights after one AdamW step, on the given placement. */
static pd_status run_step(const pd_placement *place, model *m, double *loss)
{
    pd_placement_set_default(place);
    PD_TRY(model_create(m));
    pd_graph *g = NULL;
    PD_TRY(pd_graph_create(&g, 0));
    pd_tensor *l = forward(g, m);
    pd_status st = pd_graph_status(g);
    if (st == PD_OK) {
        *loss = l->data[0];
        st = pd_backward(g, l);
    }
    pd_adamw opt;
    pd_adamw_config cfg;
    pd_adamw_config_default(&cfg);
    if (st == PD_OK) st = pd_adamw_init(&opt, &m->P, &cfg, 0, m->P.total);
    if (st == PD_OK) {
        pd_adamw_step(&opt, m->P.data, m->P.grad, 1e-2, 1.0);
        st = opt.device_status;
        pd_adamw_free(&opt);
    }
    pd_graph_destroy(g);
    return st;
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
    CHECK_MSG(run_step(&cpu, &mc, &loss_c) == PD_OK, "cpu step: %s", pd_last_error());
    CHECK_MSG(run_step(&gpu, &mg, &loss_g) == PD_OK, "gpu step: %s", pd_last_error());
    CHECK(mg.P.device == PD_DEVICE_CUDA && pd_device_of_pointer(mg.P.data) == PD_DEVICE_CUDA);
    CHECK_MSG(fabs(loss_c - loss_g) <= 1e-4 * fabs(loss_c), "loss cpu %.8g gpu %.8g", loss_c, loss_g);
    int64_t n = mc.P.total;
    double gscale = max_abs(mc.P.grad, n), wscale = max_abs(mc.P.data, n);
    CHECK_MSG(gscale > 0 && max_diff(mc.P.grad, mg.P.grad, n) <= 1e-4 * gscale, "gradients differ by %.3g (max %.3g)",
              max_diff(mc.P.grad, mg.P.grad, n), gscale);
    CHECK_MSG(max_diff(mc.P.data, mg.P.data, n) <= 1e-4 * wscale, "weights after AdamW differ by %.3g (max %.3g)",
              max_diff(mc.P.data, mg.P.data, n), wscale);
    printf("loss cpu %.8g gpu %.8g; max |grad diff| %.3g of %.3g\n", loss_c, loss_g, max_diff(mc.P.grad, mg.P.grad, n),
           gscale);
    pd_params_free(&mc.P);
    pd_params_free(&mg.P);
    int rc = pd_test_finish("test_gpu_step");
    MPI_Finalize();
    return rc;
#endif
}
