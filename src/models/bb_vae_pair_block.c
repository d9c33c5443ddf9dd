/* bb_vae_pair_block.c — forward, cross-entropy and backward of one row block of the backbone
 * VAE's pair head (see bb_vae_pair_block.h; the op and its math are in bb_vae_pair.c). The
 * GEMMs go to OpenBLAS; the per-element loops are written so they vectorise: exact GELU and its
 * derivative on pd_verf / pd_vexp (libm's erff and expf per element were 30 % of a bb_vae step),
 * the softmax's exp on pd_vexp, bias / table / difference-term gradients as row-order sums over
 * contiguous columns (each column's sum keeps its order, so the bits do not depend on the vector
 * width or the thread count). The derivative of GELU is computed in the forward (it shares the
 * erf) and kept in place of the pre-activation, which the backward no longer needs. */
/* -O3's vectorisation cost model and no FP-trap assumption for this file, as
 * nn/pointwise_kernels.c (before every include: GCC does not inline across optimisation options). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("vect-cost-model=dynamic", "simd-cost-model=dynamic", "tree-loop-if-convert", "no-trapping-math")
#endif

#include "models/bb_vae_pair_block.h"

#include <stdlib.h>
#include <string.h>

#include "models/bb_vae.h"
#include "nn/pointwise_simd.h"

#define C_ALL PD_BB_VAE_PAIR_CLASSES

void pd_bb_pair_scratch_free(pd_bb_pair_scratch *s)
{
    free(s->prod);
    free(s->pre);
    free(s->hid);
    free(s->logits);
    free(s->grad_logits);
    free(s->grad_hid);
    free(s->grad_prod);
    free(s->relpos);
    memset(s, 0, sizeof *s);
}

int pd_bb_pair_scratch_alloc(pd_bb_pair_scratch *s, int64_t rows, int64_t D, int64_t H, int backward)
{
    memset(s, 0, sizeof *s);
    s->prod = malloc((size_t)(rows * D) * sizeof(pd_real));
    s->pre = malloc((size_t)(rows * H) * sizeof(pd_real));
    s->hid = malloc((size_t)(rows * H) * sizeof(pd_real));
    s->logits = malloc((size_t)(rows * C_ALL) * sizeof(pd_real));
    s->relpos = malloc((size_t)rows * sizeof(int32_t));
    int ok = s->prod && s->pre && s->hid && s->logits && s->relpos;
    if (backward) {
        s->grad_logits = malloc((size_t)(rows * C_ALL) * sizeof(pd_real));
        s->grad_hid = malloc((size_t)(rows * H) * sizeof(pd_real));
        s->grad_prod = malloc((size_t)(rows * D) * sizeof(pd_real));
        ok = ok && s->grad_logits && s->grad_hid && s->grad_prod;
    }
    if (!ok) pd_bb_pair_scratch_free(s);
    return ok;
}

/* pre[h] += ka[h] - qb[h] + b1[h] + tc[h]; hid = gelu(pre); pre <- gelu'(pre) if with_grad. */
PD_CLONES static void pre_gelu_row(pd_real *restrict pr, pd_real *restrict hd, const pd_real *restrict ka,
                                   const pd_real *restrict qb, const pd_real *restrict b1,
                                   const pd_real *restrict tc, int64_t H, int with_grad)
{
    for (int64_t h = 0; h < H; h++) pr[h] += ka[h] - qb[h] + (b1 ? b1[h] : 0) + (tc ? tc[h] : 0);
    if (with_grad)
        for (int64_t h = 0; h < H; h++) {
            const pd_real x = pr[h];
            hd[h] = pd_vgelu(x);
            pr[h] = pd_vgelu_df(x);
        }
    else
        for (int64_t h = 0; h < H; h++) hd[h] = pd_vgelu(pr[h]);
}

PD_CLONES static void mul_rows(pd_real *restrict y, const pd_real *restrict a, const pd_real *restrict b, int64_t n)
{
    for (int64_t c = 0; c < n; c++) y[c] = a[c] * b[c];
}

void pd_bb_pair_block_forward(const pd_bb_pair_scratch *s, const pd_bb_pair_block *b, int with_grad)
{
    const int64_t L = b->L, D = b->D, H = b->H, off = b->off, M = b->nb * L;
    for (int64_t m = 0; m < M; m++) {
        int64_t a = b->rows[m / L], c = m % L;
        s->relpos[m] = pd_bb_relpos_class(a, c, b->chain[off + a], b->chain[off + c]);
    }
#pragma omp parallel for schedule(static) if (M * D > 65536)
    for (int64_t m = 0; m < M; m++)
        mul_rows(s->prod + m * D, b->q + (off + m % L) * D, b->k + (off + b->rows[m / L]) * D, D);
    /* pre = prod W1p^T, W1p = the first D columns of W1 (row stride 2D) */
    pd_gemm(0, 1, M, H, D, 1, s->prod, D, b->w1, 2 * D, 0, s->pre, H);
#pragma omp parallel for schedule(static) if (M * H > 65536)
    for (int64_t m = 0; m < M; m++)
        pre_gelu_row(s->pre + m * H, s->hid + m * H, b->kd + (off + b->rows[m / L]) * H, b->qd + (off + m % L) * H,
                     b->b1, b->table ? b->table + (int64_t)s->relpos[m] * H : NULL, H, with_grad);
    /* logits = b2 (every row), then += hid W2^T inside the GEMM (beta = 1) */
    if (b->b2)
        for (int64_t m = 0; m < M; m++) memcpy(s->logits + m * C_ALL, b->b2, C_ALL * sizeof(pd_real));
    pd_gemm(0, 1, M, C_ALL, H, 1, s->hid, H, b->w2, H, b->b2 ? 1 : 0, s->logits, C_ALL);
}

/* Cross-entropy of one softmax group of C logits; writes (softmax - onehot) * scale into grad if
 * given. Returns the CE; *correct = (first) argmax == target. */
static inline double group_ce(const pd_real *z, int C, int target, pd_real scale, pd_real *grad, int *correct)
{
    pd_real mx = z[0];
    int arg = 0;
    for (int c = 1; c < C; c++)
        if (z[c] > mx) {
            mx = z[c];
            arg = c;
        }
    pd_real e[PD_BB_DIST_CLASSES > PD_BB_ORIENT_CLASSES ? PD_BB_DIST_CLASSES : PD_BB_ORIENT_CLASSES];
    pd_real *ex = grad ? grad : e;   /* exp(z - mx) until normalised */
    for (int c = 0; c < C; c++) ex[c] = pd_vexp(z[c] - mx);
    pd_real sum = 0;
    for (int c = 0; c < C; c++) sum += ex[c];
    if (grad) {
        const pd_real inv = scale / sum;
        for (int c = 0; c < C; c++) grad[c] *= inv;
        grad[target] -= scale;
    }
    *correct = arg == target;
    return (double)(mx + pd_log(sum)) - (double)z[target];
}

PD_CLONES void pd_bb_pair_block_ce(const pd_bb_pair_scratch *s, const pd_bb_pair_block *b, const int8_t *dist,
                                   const int8_t *orient, pd_real scale, pd_bb_pair_sums *sums)
{
    const int64_t L = b->L, M = b->nb * L;
    for (int64_t m = 0; m < M; m++) {
        const int64_t p = b->rows[m / L] * L + m % L;
        pd_real *gz = s->grad_logits ? s->grad_logits + m * C_ALL : NULL;
        if (dist[p] == PD_BB_LABEL_IGNORE) {
            if (gz) memset(gz, 0, C_ALL * sizeof(pd_real));
            continue;
        }
        int ok_d, ok_o;
        const pd_real *z = s->logits + m * C_ALL;
        sums->dist_ce += group_ce(z, PD_BB_DIST_CLASSES, dist[p], scale, gz, &ok_d);
        sums->orient_ce += group_ce(z + PD_BB_DIST_CLASSES, PD_BB_ORIENT_CLASSES, orient[p], scale,
                                    gz ? gz + PD_BB_DIST_CLASSES : NULL, &ok_o);
        sums->pairs++;
        sums->dist_ok += ok_d;
        sums->orient_ok += ok_o;
        if (dist[p] < PD_BB_DIST_CLASSES - 1) {
            sums->near++;
            sums->near_ok += ok_d;
        }
    }
}

/* y[c] *= x[c] for c < n. */
PD_CLONES static void scale_row(pd_real *restrict y, const pd_real *restrict x, int64_t n)
{
    for (int64_t c = 0; c < n; c++) y[c] *= x[c];
}

/* y[c] += x[c] (or -= x[c] when negate) for c < n. */
PD_CLONES static void add_row(pd_real *restrict y, const pd_real *restrict x, int64_t n, int negate)
{
    if (negate)
        for (int64_t c = 0; c < n; c++) y[c] -= x[c];
    else
        for (int64_t c = 0; c < n; c++) y[c] += x[c];
}

/* y[c] += a[c] * b[c] for c < n. */
PD_CLONES static void fma_row(pd_real *restrict y, const pd_real *restrict a, const pd_real *restrict b, int64_t n)
{
    for (int64_t c = 0; c < n; c++) y[c] += a[c] * b[c];
}

void pd_bb_pair_block_backward(const pd_bb_pair_scratch *s, const pd_bb_pair_block *b, const pd_bb_pair_grads *gr,
                               pd_real *gqd, pd_real *gkd)
{
    const int64_t L = b->L, D = b->D, H = b->H, off = b->off, nb = b->nb, M = nb * L;
    pd_gemm(1, 0, C_ALL, H, M, 1, s->grad_logits, C_ALL, s->hid, H, 1, gr->w2, H);
    if (gr->b2)
        for (int64_t m = 0; m < M; m++) add_row(gr->b2, s->grad_logits + m * C_ALL, C_ALL, 0);
    /* d hid = d logits W2, then d pre = d hid * gelu'(pre) (the forward left gelu' in s->pre) */
    pd_gemm(0, 0, M, H, C_ALL, 1, s->grad_logits, C_ALL, b->w2, H, 0, s->grad_hid, H);
#pragma omp parallel for schedule(static) if (M * H > 65536)
    for (int64_t m = 0; m < M; m++) scale_row(s->grad_hid + m * H, s->pre + m * H, H);
    const pd_real *gpre = s->grad_hid;
    if (gr->b1)
        for (int64_t m = 0; m < M; m++) add_row(gr->b1, gpre + m * H, H, 0);
    /* d T[c] = sum of d pre over the rows of class c: serial in row order (deterministic; rows of
     * one class are spread over the block, so threads would need atomics or private tables). */
    if (gr->table)
        for (int64_t m = 0; m < M; m++) add_row(gr->table + (int64_t)s->relpos[m] * H, gpre + m * H, H, 0);
    for (int64_t r = 0; r < nb; r++) {
        pd_real *gka = gkd + (off + b->rows[r]) * H;
        for (int64_t c = 0; c < L; c++) add_row(gka, gpre + (r * L + c) * H, H, 0);
    }
    for (int64_t r = 0; r < nb; r++)
        for (int64_t c = 0; c < L; c++) add_row(gqd + (off + c) * H, gpre + (r * L + c) * H, H, 1);
    /* product term: d W1p += d pre^T prod; d prod = d pre W1p */
    pd_gemm(1, 0, H, D, M, 1, gpre, H, s->prod, D, 1, gr->w1, 2 * D);
    pd_gemm(0, 0, M, D, H, 1, gpre, H, b->w1, 2 * D, 0, s->grad_prod, D);
#pragma omp parallel for schedule(static) if (M * D > 65536)
    for (int64_t c = 0; c < L; c++) {
        pd_real *gqb = gr->q + (off + c) * D;
        for (int64_t r = 0; r < nb; r++) fma_row(gqb, s->grad_prod + (r * L + c) * D, b->k + (off + b->rows[r]) * D, D);
    }
#pragma omp parallel for schedule(static) if (M * D > 65536)
    for (int64_t r = 0; r < nb; r++) {
        pd_real *gka = gr->k + (off + b->rows[r]) * D;
        for (int64_t c = 0; c < L; c++) fma_row(gka, s->grad_prod + (r * L + c) * D, b->q + (off + c) * D, D);
    }
}
