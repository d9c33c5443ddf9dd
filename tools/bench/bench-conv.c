/* bench-conv.c — GFLOP/s of the k=2 conv3d and conv-transpose kernels on the side-chain VAE's
 * shapes (batch of residues, 16³ → 2³), forward and backward, as a fraction of raw cblas_sgemm
 * on the equivalent GEMMs (one call per GEMM of the whole batch, no data movement) measured in
 * the same run, at 1 and 2 threads. Usage: bench-conv [BATCH] (default 256). */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/rng.h"
#include "core/timer.h"
#include "nn/conv_kernels.h"

typedef struct layer {
    const char *name;
    int transposed, stride;
    int64_t cin, cout, size;
} layer;

/* The SC-VAE encoder (widths 8 doubling, 16³ down to 2³) and its decoder's transposed convs. */
static const layer layers[] = {
    {"enc in   1->8   16^3 same", 0, 1, 1, 8, 16},
    {"res      8->8   16^3 same", 0, 1, 8, 8, 16},
    {"down     8->16  16^3 s2  ", 0, 2, 8, 16, 16},
    {"res     16->16   8^3 same", 0, 1, 16, 16, 8},
    {"down    16->32   8^3 s2  ", 0, 2, 16, 32, 8},
    {"res     32->32   4^3 same", 0, 1, 32, 32, 4},
    {"down    32->64   4^3 s2  ", 0, 2, 32, 64, 4},
    {"res     64->64   2^3 same", 0, 1, 64, 64, 2},
    {"up      64->32   2^3 T   ", 1, 2, 64, 32, 2},
    {"up      32->16   4^3 T   ", 1, 2, 32, 16, 4},
    {"up      16->8    8^3 T   ", 1, 2, 16, 8, 8},
};

static float *random_floats(int64_t n, uint64_t stream)
{
    float *v = malloc((size_t)n * sizeof(float));
    if (!v) {
        fprintf(stderr, "bench-conv: out of memory for %lld floats\n", (long long)n);
        exit(1);
    }
    pd_rng r;
    pd_rng_init(&r, 7, 0, stream, PD_RNG_INIT);
    for (int64_t i = 0; i < n; i++) v[i] = pd_rng_uniformf(&r) - 0.5f;
    return v;
}

/* Best time of several repetitions, each ≥ ~0.1 s in total. */
typedef void (*work_fn)(void *ctx);
static double best_seconds(work_fn f, void *ctx)
{
    f(ctx); /* warm-up: page faults, OpenBLAS buffers, thread start */
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        int iters = 0;
        double t0 = pd_now(), t;
        do {
            f(ctx);
            iters++;
            t = pd_now() - t0;
        } while (t < 0.1);
        if (t / iters < best) best = t / iters;
    }
    return best;
}

typedef struct conv_ctx {
    pd_conv_shape s;
    float *x, *w, *b, *y, *dy, *dx, *dw, *db, *work;
} conv_ctx;

static void run_forward(void *p)
{
    conv_ctx *c = p;
    pd_status st = c->s.transposed ? pd_conv_transpose_forward(&c->s, c->x, c->w, c->b, c->y, c->work)
                                   : pd_conv_forward(&c->s, c->x, c->w, c->b, c->y, c->work);
    if (st != PD_OK) exit(1);
}

static void run_backward(void *p)
{
    conv_ctx *c = p;
    pd_status st = c->s.transposed ? pd_conv_transpose_backward(&c->s, c->x, c->w, c->dy, c->dx, c->dw, c->db, c->work)
                                   : pd_conv_backward(&c->s, c->x, c->w, c->dy, c->dx, c->dw, c->db, c->work);
    if (st != PD_OK) exit(1);
}

/* The equivalent GEMMs of the whole batch: forward one GEMM, backward two (dW and dX). */
typedef struct gemm_ctx {
    int backward;
    int64_t m, n, k;   /* forward GEMM: [m, k] x [k, n] */
    float *a, *b, *c, *d;
} gemm_ctx;

static void run_gemm(void *p)
{
    gemm_ctx *g = p;
    if (!g->backward) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g->m, (int)g->n, (int)g->k, 1, g->a, (int)g->k,
                    g->b, (int)g->n, 0, g->c, (int)g->n);
    } else {
        /* dA[m, k] = dC[m, n] · Bᵀ;  dB[k, n] = Aᵀ · dC */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)g->m, (int)g->k, (int)g->n, 1, g->c, (int)g->n,
                    g->b, (int)g->n, 1, g->a, (int)g->k);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g->k, (int)g->n, (int)g->m, 1, g->a, (int)g->k,
                    g->c, (int)g->n, 0, g->d, (int)g->n);
    }
}

static void bench_layer(const layer *L, int64_t batch, double *sum_flops, double *sum_conv, double *sum_gemm)
{
    conv_ctx c = {0};
    const int64_t size[3] = {L->size, L->size, L->size};
    pd_status st = L->transposed ? pd_conv_transpose_shape_k2(&c.s, 3, batch, L->cin, L->cout, size)
                                 : pd_conv_shape_k2(&c.s, 3, batch, L->cin, L->cout, size, L->stride);
    if (st != PD_OK) {
        fprintf(stderr, "bench-conv: %s\n", pd_last_error());
        exit(1);
    }
    const int64_t nx = pd_conv_in_numel(&c.s), ny = pd_conv_out_numel(&c.s), nw = pd_conv_weight_numel(&c.s);
    c.x = random_floats(nx, 1);
    c.w = random_floats(nw, 2);
    c.b = random_floats(L->cout, 3);
    c.y = random_floats(ny, 4);
    c.dy = random_floats(ny, 5);
    c.dx = random_floats(nx, 6);
    c.dw = random_floats(nw, 7);
    c.db = random_floats(L->cout, 8);
    c.work = random_floats(pd_conv_work_numel(&c.s), 9);
    /* GEMM dims: conv: Y[Cout, B·P] = W[Cout, Cin·K] · col; transposed: Z[Cout·K, B·Pin] = Wᵀ · X. */
    const int64_t K = pd_conv_kernel_cells(&c.s);
    const int64_t pin = L->size * L->size * L->size, pout = ny / (batch * L->cout);
    gemm_ctx g = {0};
    if (!L->transposed) g.m = L->cout, g.k = L->cin * K, g.n = batch * pout;
    else g.m = L->cout * K, g.k = L->cin, g.n = batch * pin;
    g.a = random_floats(g.m * g.k, 10);
    g.b = random_floats(g.k * g.n, 11);
    g.c = random_floats(g.m * g.n, 12);
    g.d = random_floats(g.k * g.n, 13);
    const double flops = 2.0 * (double)g.m * (double)g.n * (double)g.k;

    const double t_fwd = best_seconds(run_forward, &c), t_bwd = best_seconds(run_backward, &c);
    g.backward = 0;
    const double g_fwd = best_seconds(run_gemm, &g);
    g.backward = 1;
    const double g_bwd = best_seconds(run_gemm, &g);
    printf("  %s  GEMM %4lld x %7lld x %4lld | fwd %6.1f GF/s (%5.1f%% of sgemm %6.1f) | bwd %6.1f GF/s (%5.1f%% of "
           "sgemm %6.1f) | %6.2f ms\n",
           L->name, (long long)g.m, (long long)g.n, (long long)g.k, flops / t_fwd * 1e-9, 100 * g_fwd / t_fwd,
           flops / g_fwd * 1e-9, 2 * flops / t_bwd * 1e-9, 100 * g_bwd / t_bwd, 2 * flops / g_bwd * 1e-9,
           (t_fwd + t_bwd) * 1e3);
    *sum_flops += 3 * flops;
    *sum_conv += t_fwd + t_bwd;
    *sum_gemm += g_fwd + g_bwd;
    free(c.x); free(c.w); free(c.b); free(c.y); free(c.dy); free(c.dx); free(c.dw); free(c.db); free(c.work);
    free(g.a); free(g.b); free(g.c); free(g.d);
}

int main(int argc, char **argv)
{
    const int64_t batch = argc > 1 ? atoll(argv[1]) : 256;
    if (batch < 1) {
        fprintf(stderr, "usage: bench-conv [BATCH]   (BATCH ≥ 1, default 256)\n");
        return 2;
    }
    for (int threads = 1; threads <= 2; threads++) {
        openblas_set_num_threads(threads);
        omp_set_num_threads(threads);
        /* Machine peak for context: a large square sgemm. */
        gemm_ctx big = {.m = 1536, .n = 1536, .k = 1536};
        big.a = random_floats(big.m * big.k, 20);
        big.b = random_floats(big.k * big.n, 21);
        big.c = random_floats(big.m * big.n, 22);
        const double peak = 2.0 * big.m * big.n * big.k / best_seconds(run_gemm, &big) * 1e-9;
        free(big.a); free(big.b); free(big.c);
        printf("threads %d: sgemm 1536^3 %.1f GFLOP/s; conv3d k=2 / convT k=2 s=2, batch %lld "
               "(fraction = sgemm time on the equivalent whole-batch GEMMs / our time)\n",
               threads, peak, (long long)batch);
        double flops = 0, t_conv = 0, t_gemm = 0;
        for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) bench_layer(&layers[i], batch, &flops, &t_conv, &t_gemm);
        printf("  all layers fwd+bwd: %.1f GFLOP/s, %.1f%% of sgemm on the same GEMMs (%.1f GFLOP/s), %.1f ms\n\n",
               flops / t_conv * 1e-9, 100 * t_gemm / t_conv, flops / t_gemm * 1e-9, t_conv * 1e3);
    }
    return 0;
}
