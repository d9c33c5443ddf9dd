/* test_placement.c — the run-file side of GPU placement, run in every build: run.device,
 * run.precision and run.gpu_arena_mb parse into a pd_placement; "cuda" in a build without the
 * backend fails before any work with a message naming the key and --with-cuda; graphs and
 * parameter stores take the default placement (cpu unless chosen). */
#include "config.h"

#include <string.h>

#include "core/config.h"
#include "nn/device.h"
#include "nn/ops.h"
#include "nn/params.h"
#include "test.h"

static pd_status placement_of(const char *device, const char *precision, const char *arena_mb, pd_placement *out)
{
    char d[64], p[64], a[64];
    snprintf(d, sizeof d, "run.device=%s", device);
    snprintf(p, sizeof p, "run.precision=%s", precision);
    snprintf(a, sizeof a, "run.gpu_arena_mb=%s", arena_mb);
    char *sets[] = {d, p, a};
    pd_config cfg;
    pd_status st = pd_config_defaults(&cfg, 3, sets);
    if (st != PD_OK) return st;
    st = pd_placement_from_config(&cfg, out);
    pd_config_free(&cfg);
    return st;
}

int main(void)
{
    pd_placement p;
    /* Defaults: cpu, fp32, 512 MiB. */
    pd_config cfg;
    CHECK(pd_config_defaults(&cfg, 0, NULL) == PD_OK);
    CHECK(pd_placement_from_config(&cfg, &p) == PD_OK);
    CHECK(p.device == PD_DEVICE_CPU && p.precision == PD_GEMM_FP32 && p.gpu_arena_bytes == ((size_t)512 << 20));
    pd_config_free(&cfg);

    CHECK(placement_of("cpu", "fp32", "64", &p) == PD_OK);
    CHECK(p.gpu_arena_bytes == ((size_t)64 << 20));

    /* Values outside the schema are rejected by the loader, naming the key. */
    pd_clear_error();
    CHECK(placement_of("cpu", "fp16", "64", &p) != PD_OK);
    CHECK_MSG(strstr(pd_last_error(), "run.precision") != NULL, "message: %s", pd_last_error());
    pd_clear_error();
    CHECK(placement_of("cpu", "fp32", "1", &p) != PD_OK);
    CHECK_MSG(strstr(pd_last_error(), "run.gpu_arena_mb") != NULL, "message: %s", pd_last_error());
    pd_clear_error();

    pd_status st = placement_of("cuda", "bf16", "128", &p);
#ifdef PD_HAVE_CUDA
    CHECK(st == PD_OK);
    CHECK(p.device == PD_DEVICE_CUDA && p.precision == PD_GEMM_BF16 && p.gpu_arena_bytes == ((size_t)128 << 20));
#else
    CHECK(st == PD_ERR_CONFIG);
    CHECK_MSG(strstr(pd_last_error(), "run.device") && strstr(pd_last_error(), "--with-cuda"), "message: %s",
              pd_last_error());
    /* A graph cannot be moved to the GPU either. */
    pd_graph *g0 = NULL;
    CHECK(pd_graph_create(&g0, 0) == PD_OK);
    pd_placement gpu = {PD_DEVICE_CUDA, PD_GEMM_FP32, (size_t)16 << 20};
    CHECK(pd_graph_set_placement(g0, &gpu) != PD_OK);
    CHECK(pd_graph_device(g0) == PD_DEVICE_CPU);
    pd_graph_destroy(g0);
#endif
    pd_clear_error();

    /* Graphs and parameter stores start on the default placement: the cpu. */
    pd_graph *g = NULL;
    CHECK(pd_graph_create(&g, 0) == PD_OK);
    CHECK(pd_graph_device(g) == PD_DEVICE_CPU);
    pd_params P;
    pd_params_init(&P);
    CHECK(P.device == PD_DEVICE_CPU);
    pd_tensor *w = pd_param_new(&P, "w", 2, (int64_t[]){3, 4}, PD_INIT_ONES, 0);
    CHECK(pd_params_finalize(&P, 1) == PD_OK);
    pd_params_init_values(&P, 1);
    CHECK(pd_device_of_pointer(P.data) == PD_DEVICE_CPU);
    /* ... and the op set computes there as before: a 1x4 input through w gives 4 per output. */
    pd_tensor *x = pd_tensor_from_floats(g, 2, (int64_t[]){1, 4}, (float[]){1, 1, 1, 1});
    pd_tensor *y = pd_linear(g, x, w, NULL);
    CHECK(y && y->data[0] == 4 && y->data[2] == 4);
    pd_params_free(&P);
    pd_graph_destroy(g);
    return pd_test_finish("test_placement");
}
