/* bench-nn.c — how close the op set's GEMM-heavy paths come to raw OpenBLAS sgemm on the same
 * shapes in the same run (linear, attention, conv3d k=2, conv-transpose k=2; forward+backward),
 * at 1 and 2 threads, and the time of one training step (forward + backward) of the transformer
 * block and the MPNN layer, for comparison with tools/bench/bench-nn-torch.py. Each op is also
 * given as a fraction of the sgemm peak measured in the run (one square 1024³ sgemm).
 * Usage: bench-nn [--threads "1 2"] [--quick]. Prints a table; not a test. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/rng.h"
#include "nn/conv.h"
#include "nn/ops.h"
#include "nn/params.h"
#include "../../tests/nn/blocks.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void fill(pd_real *p, int64_t n, uint64_t seed)
{
    pd_rng r;
    pd_rng_init(&r, seed, 0, 0, PD_RNG_INIT);
    for (int64_t i = 0; i < n; i++) p[i] = (pd_real)(2 * pd_rng_uniformf(&r) - 1);
}

static pd_tensor *rand_tensor(pd_graph *g, int ndim, const int64_t *shape, int grad, uint64_t seed)
{
    pd_tensor *t = pd_tensor_new(g, ndim, shape);
    fill(t->data, t->numel, seed);
    t->requires_grad = grad;
    return t;
}

/* Best-of-reps seconds of fn(arg). */
typedef void (*bench_fn)(void *arg);
static double best_time(bench_fn fn, void *arg, int reps)
{
    fn(arg);   /* warm up */
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        fn(arg);
        double t = now_s() - t0;
        if (t < best) best = t;
    }
    return best;
}

/* ---- raw sgemm lists: the GEMMs an op does, timed bare ---- */
typedef struct gemm_call { int ta, tb; int m, n, k; int count; } gemm_call;
typedef struct gemm_set { int n; gemm_call c[4]; float *a, *b, *c_out; } gemm_set;

static void run_gemms(void *arg)
{
    gemm_set *s = arg;
    for (int i = 0; i < s->n; i++) {
        gemm_call *c = &s->c[i];
        for (int r = 0; r < c->count; r++)
            cblas_sgemm(CblasRowMajor, c->ta ? CblasTrans : CblasNoTrans, c->tb ? CblasTrans : CblasNoTrans, c->m, c->n,
                        c->k, 1.f, s->a, c->ta ? c->m : c->k, s->b, c->tb ? c->k : c->n, 0.f, s->c_out, c->n);
    }
}

static double gemm_flops(const gemm_set *s)
{
    double f = 0;
    for (int i = 0; i < s->n; i++) f += 2.0 * s->c[i].m * s->c[i].n * s->c[i].k * s->c[i].count;
    return f;
}

static double time_gemms(gemm_set *s, int reps)
{
    size_t big = 0;
    for (int i = 0; i < s->n; i++) {
        size_t m = (size_t)s->c[i].m, n = (size_t)s->c[i].n, k = (size_t)s->c[i].k;
        size_t need = m * k > k * n ? m * k : k * n;
        if (m * n > need) need = m * n;
        if (need > big) big = need;
    }
    s->a = malloc(big * sizeof(float));
    s->b = malloc(big * sizeof(float));
    s->c_out = malloc(big * sizeof(float));
    fill(s->a, (int64_t)big, 1);
    fill(s->b, (int64_t)big, 2);
    double t = best_time(run_gemms, s, reps);
    free(s->a);
    free(s->b);
    free(s->c_out);
    return t;
}

/* ---- op benches: forward + backward through the tape ---- */
typedef struct op_bench {
    pd_graph *g;
    int kind;    /* 0 linear, 1 attention, 2 conv3d k2 s1, 3 conv-transpose3d, 4 transformer step, 5 mpnn step */
    int64_t a, b, c, d, e;
    pd_params *P;
    pd_test_transformer *blk;
    pd_test_mpnn *mp;
    int32_t *src, *dst;
} op_bench;

static void run_op(void *arg)
{
    op_bench *o = arg;
    pd_graph *g = o->g;
    pd_graph_reset(g);
    pd_tensor *y = NULL;
    switch (o->kind) {
    case 0: {
        pd_tensor *x = rand_tensor(g, 2, (int64_t[]){o->a, o->b}, 1, 3);
        pd_tensor *w = rand_tensor(g, 2, (int64_t[]){o->c, o->b}, 1, 4);
        y = pd_linear(g, x, w, NULL);
        break;
    }
    case 1: {
        int64_t shape[3] = {o->a, o->b, o->c * o->d};
        pd_tensor *q = rand_tensor(g, 3, shape, 1, 5), *k = rand_tensor(g, 3, shape, 1, 6), *v = rand_tensor(g, 3, shape, 1, 7);
        y = pd_attention(g, q, k, v, (int)o->c, NULL, 0);
        break;
    }
    case 2:
    case 3: {
        int64_t s = o->d;
        pd_tensor *x = rand_tensor(g, 5, (int64_t[]){o->a, o->b, s, s, s}, 1, 8);
        pd_tensor *w = o->kind == 2 ? rand_tensor(g, 5, (int64_t[]){o->c, o->b, 2, 2, 2}, 1, 9)
                                    : rand_tensor(g, 5, (int64_t[]){o->b, o->c, 2, 2, 2}, 1, 9);
        y = o->kind == 2 ? pd_conv_k2(g, x, w, NULL, 1) : pd_conv_transpose_k2(g, x, w, NULL);
        break;
    }
    case 4: {
        pd_tensor *x = rand_tensor(g, 3, (int64_t[]){o->a, o->b, o->c}, 1, 10);
        y = pd_test_transformer_forward(g, o->blk, x, NULL, NULL);
        pd_params_zero_grad(o->P);
        break;
    }
    case 5: {
        pd_tensor *h = rand_tensor(g, 2, (int64_t[]){o->a, o->c}, 1, 11);
        pd_tensor *e = rand_tensor(g, 2, (int64_t[]){o->a * o->b, o->d}, 1, 12);
        y = pd_test_mpnn_forward(g, o->mp, h, e, o->src, o->dst);
        pd_params_zero_grad(o->P);
        break;
    }
    }
    if (!y || pd_backward_seeded(g, y, y->data) != PD_OK) {   /* any seed of the right size */
        fprintf(stderr, "bench-nn: %s\n", pd_last_error());
        exit(1);
    }
}

static void set_threads(int n)
{
    openblas_set_num_threads(n);
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
}

/* The sgemm peak this run measures: the best GFLOP/s of one square 1024³ cblas_sgemm. */
static double sgemm_peak_gflops;

static void square_sgemm(void *arg)
{
    float *m = arg;
    const int n = 1024;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, m, n, m + n * n, n, 0, m + 2 * n * n, n);
}

static double measure_sgemm_peak(int reps)
{
    const int64_t n = 1024;
    float *m = malloc(sizeof(float) * 3 * n * n);
    for (int64_t i = 0; i < 3 * n * n; i++) m[i] = (float)(i % 7) * 0.1f;
    double t = best_time(square_sgemm, m, reps);
    free(m);
    return 2.0 * n * n * n / t * 1e-9;
}

static void report(const char *name, double flops, double t_op, double t_gemm)
{
    printf("  %-44s %8.2f ms %7.1f GFLOP/s   sgemm %7.1f GFLOP/s   %5.0f%%   %3.0f%% of peak\n", name, 1e3 * t_op,
           flops / t_op * 1e-9, flops / t_gemm * 1e-9, 100.0 * t_gemm / t_op,
           100.0 * flops / t_op * 1e-9 / sgemm_peak_gflops);
}

int main(int argc, char **argv)
{
    int quick = 0;
    const char *threads = "1 2";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = argv[++i];
    }
    int reps = quick ? 2 : 5;
    pd_graph *g;
    if (pd_graph_create(&g, 0) != PD_OK) return 1;
    char tl[64];
    snprintf(tl, sizeof tl, "%s", threads);
    for (char *tok = strtok(tl, " ,"); tok; tok = strtok(NULL, " ,")) {
        int nt = atoi(tok);
        set_threads(nt);
        printf("threads = %d  (op = forward + backward through the tape; sgemm = the same GEMMs bare)\n", nt);
        sgemm_peak_gflops = measure_sgemm_peak(reps);
        printf("  sgemm peak (one 1024^3 cblas_sgemm, best of %d): %.1f GFLOP/s; last column = op GFLOP/s / peak\n",
               reps, sgemm_peak_gflops);

        /* linear: y = x w^T, dx = dy w, dw = dy^T x */
        int64_t lin[][3] = {{8192, 256, 256}, {4096, 128, 512}, {2048, 64, 64}};
        for (int i = 0; i < 3; i++) {
            int64_t M = lin[i][0], K = lin[i][1], N = lin[i][2];
            op_bench o = {.g = g, .kind = 0, .a = M, .b = K, .c = N};
            gemm_set s = {.n = 3, .c = {{0, 1, (int)M, (int)N, (int)K, 1}, {0, 0, (int)M, (int)K, (int)N, 1}, {1, 0, (int)N, (int)K, (int)M, 1}}};
            char name[96];
            snprintf(name, sizeof name, "linear %lldx%lld -> %lld", (long long)M, (long long)K, (long long)N);
            report(name, gemm_flops(&s), best_time(run_op, &o, reps), time_gemms(&s, reps));
        }
        /* attention: per (b, h): S = Q K^T, O = P V; backward dP, dV, dQ, dK */
        int64_t att[][4] = {{4, 256, 4, 32}, {8, 128, 4, 16}};
        for (int i = 0; i < 2; i++) {
            int64_t B = att[i][0], L = att[i][1], H = att[i][2], Dh = att[i][3];
            op_bench o = {.g = g, .kind = 1, .a = B, .b = L, .c = H, .d = Dh};
            int bh = (int)(B * H), l = (int)L, dh = (int)Dh;
            gemm_set s = {.n = 3, .c = {{0, 1, l, l, dh, 2 * bh}, {0, 0, l, dh, l, 2 * bh}, {1, 0, l, dh, l, 2 * bh}}};
            char name[96];
            snprintf(name, sizeof name, "attention B%lld L%lld H%lld Dh%lld", (long long)B, (long long)L, (long long)H, (long long)Dh);
            report(name, gemm_flops(&s), best_time(run_op, &o, reps), time_gemms(&s, reps));
        }
        /* conv3d k=2 'same' and conv-transpose3d k=2 s=2 (the SC-VAE's shapes) */
        int64_t conv[][4] = {{64, 8, 16, 16}, {64, 16, 32, 8}};
        for (int i = 0; i < 2; i++) {
            int64_t N = conv[i][0], Ci = conv[i][1], Co = conv[i][2], S = conv[i][3];
            int pos = (int)(N * S * S * S), kc = (int)(Ci * 8);
            op_bench o = {.g = g, .kind = 2, .a = N, .b = Ci, .c = Co, .d = S};
            gemm_set s = {.n = 3, .c = {{0, 0, (int)Co, pos, kc, 1}, {1, 0, kc, pos, (int)Co, 1}, {0, 1, (int)Co, kc, pos, 1}}};
            char name[96];
            snprintf(name, sizeof name, "conv3d k2 s1 N%lld %lld->%lld %lld^3", (long long)N, (long long)Ci, (long long)Co, (long long)S);
            report(name, gemm_flops(&s), best_time(run_op, &o, reps), time_gemms(&s, reps));
            op_bench ot = {.g = g, .kind = 3, .a = N, .b = Co, .c = Ci, .d = S / 2};
            int pin = (int)(N * (S / 2) * (S / 2) * (S / 2));
            gemm_set st = {.n = 3, .c = {{1, 0, (int)Ci * 8, pin, (int)Co, 1}, {0, 0, (int)Co, pin, (int)Ci * 8, 1}, {0, 1, (int)Co, (int)Ci * 8, pin, 1}}};
            snprintf(name, sizeof name, "convT3d k2 s2 N%lld %lld->%lld %lld^3", (long long)N, (long long)Co, (long long)Ci, (long long)S / 2);
            report(name, gemm_flops(&st), best_time(run_op, &ot, reps), time_gemms(&st, reps));
        }
        /* training steps of whole blocks (compare with bench-nn-torch.py at the same threads) */
        {
            pd_params P;
            pd_params_init(&P);
            pd_test_transformer blk;
            pd_test_transformer_declare(&blk, &P, "", 128, 4, 256, 8);
            pd_params_finalize(&P, 1);
            pd_params_init_values(&P, 1);
            op_bench o = {.g = g, .kind = 4, .a = 4, .b = 128, .c = 128, .P = &P, .blk = &blk};
            printf("  step transformer block B4 L128 D128 H4 MLP256: %8.2f ms\n", 1e3 * best_time(run_op, &o, reps));
            pd_params_free(&P);
        }
        {
            pd_params P;
            pd_params_init(&P);
            pd_test_mpnn mp;
            int64_t n = 512, k = 16;
            pd_test_mpnn_declare(&mp, &P, "", 64, 32, (int)k);
            pd_params_finalize(&P, 1);
            pd_params_init_values(&P, 1);
            int32_t *src = malloc((size_t)(n * k) * sizeof(int32_t)), *dst = malloc((size_t)(n * k) * sizeof(int32_t));
            for (int64_t i = 0; i < n * k; i++) {
                dst[i] = (int32_t)(i / k);
                src[i] = (int32_t)((i / k + 1 + i % k * 7) % n);
            }
            op_bench o = {.g = g, .kind = 5, .a = n, .b = k, .c = 64, .d = 32, .P = &P, .mp = &mp, .src = src, .dst = dst};
            printf("  step MPNN layer N512 k16 D64 De32:              %8.2f ms\n", 1e3 * best_time(run_op, &o, reps));
            free(src);
            free(dst);
            pd_params_free(&P);
        }
    }
    printf("activation arena peak: %.1f MiB\n", (double)pd_arena_peak(pd_graph_arena(g)) / (1 << 20));
    pd_graph_destroy(g);
    return 0;
}
