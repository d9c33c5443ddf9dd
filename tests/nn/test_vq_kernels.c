/* test_vq_kernels.c — vector-quantisation kernels (double build): nearest code against brute
 * force in both layouts and every chunking, ties to the lowest index, batch statistics, the
 * EMA update against its formula, frozen codebooks, deterministic dead-code re-seeding and
 * usage/perplexity on counts with known answers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conv_fd.h"
#include "nn/conv_patch.h"
#include "nn/vq_kernels.h"
#include "test.h"

/* Brute force over codes; ties keep the first. Vector r = (n, p) of x [N, D, P]. */
static int32_t brute_nearest(const double *x, int64_t D, int64_t P, int64_t r, const double *embed, int64_t K)
{
    const int64_t n = r / P, p = r % P;
    int32_t best = 0;
    double best_d = INFINITY;
    for (int64_t k = 0; k < K; k++) {
        double d = 0;
        for (int64_t j = 0; j < D; j++) d += pow(x[(n * D + j) * P + p] - embed[k * D + j], 2);
        if (d < best_d) best_d = d, best = (int32_t)k;
    }
    return best;
}

typedef struct book_mem {
    pd_vq_codebook book;
    double *embed, *count, *sum;
} book_mem;

static void book_alloc(book_mem *m, int64_t K, int64_t D, uint64_t seed)
{
    m->embed = malloc(K * D * sizeof(double));
    m->count = malloc(K * sizeof(double));
    m->sum = malloc(K * D * sizeof(double));
    m->book = (pd_vq_codebook){.codes = K, .dim = D, .embed = m->embed, .ema_count = m->count, .ema_sum = m->sum};
    fd_fill(m->embed, K * D, -1, 1, seed, 1);
    pd_vq_codebook_reset_ema(&m->book);
}

static void book_free(book_mem *m) { free(m->embed); free(m->count); free(m->sum); }

static void check_nearest(int64_t N, int64_t D, int64_t P, int64_t K)
{
    book_mem m;
    book_alloc(&m, K, D, 31);
    double *x = malloc(N * D * P * sizeof(double));
    fd_fill(x, N * D * P, -1, 1, 32, 1);
    int32_t *idx = malloc(N * P * sizeof(int32_t));
    const int64_t budgets[3] = {0, 1, 3 * P * (K + D)};
    for (int b = 0; b < 3; b++) {
        pd_patch_set_chunk_budget(budgets[b]);
        CHECK(pd_vq_nearest(&m.book, x, N, P, idx, NULL) == PD_OK);
        int64_t wrong = 0;
        for (int64_t r = 0; r < N * P; r++) wrong += idx[r] != brute_nearest(x, D, P, r, m.embed, K);
        CHECK_MSG(wrong == 0, "N=%lld D=%lld P=%lld K=%lld budget %lld: %lld wrong codes", (long long)N, (long long)D,
                  (long long)P, (long long)K, (long long)budgets[b], (long long)wrong);
    }
    pd_patch_set_chunk_budget(0);
    /* Lookup puts each vector's code back in the channels-first layout. */
    double *q = malloc(N * D * P * sizeof(double));
    pd_vq_lookup(&m.book, idx, N, P, q);
    int ok = 1;
    for (int64_t n = 0; n < N; n++)
        for (int64_t j = 0; j < D; j++)
            for (int64_t p = 0; p < P; p++) ok &= q[(n * D + j) * P + p] == m.embed[idx[n * P + p] * D + j];
    CHECK(ok);
    free(x); free(idx); free(q); book_free(&m);
}

int main(void)
{
    check_nearest(37, 5, 1, 23);   /* rows [M, D] */
    check_nearest(4, 6, 9, 17);    /* channels-first [N, D, P] */

    /* Ties: codes 2 and 5 are identical and nearest, code 2 must win. */
    {
        book_mem m;
        book_alloc(&m, 6, 3, 41);
        for (int j = 0; j < 3; j++) m.embed[5 * 3 + j] = m.embed[2 * 3 + j];
        int32_t idx;
        CHECK(pd_vq_nearest(&m.book, m.embed + 2 * 3, 1, 1, &idx, NULL) == PD_OK);
        CHECK(idx == 2);
        book_free(&m);
    }

    /* Batch statistics, EMA update, frozen codebook, re-seeding. */
    const int64_t N = 3, D = 4, P = 5, K = 8;
    book_mem m;
    book_alloc(&m, K, D, 51);
    double *x = malloc(N * D * P * sizeof(double));
    fd_fill(x, N * D * P, -1, 1, 52, 1);
    int32_t idx[15];
    CHECK(pd_vq_nearest(&m.book, x, N, P, idx, NULL) == PD_OK);
    double counts[8], sums[32];
    pd_vq_batch_stats(&m.book, x, N, P, idx, counts, sums);
    double total = 0;
    for (int k = 0; k < K; k++) total += counts[k];
    CHECK(total == N * P);
    for (int k = 0; k < K; k++)
        for (int j = 0; j < D; j++) {
            double s = 0;
            for (int64_t r = 0; r < N * P; r++)
                if (idx[r] == k) s += x[((r / P) * D + j) * P + r % P];
            CHECK_NEAR(sums[k * D + j], s, 1e-12);
        }

    pd_vq_ema_config cfg = pd_vq_ema_defaults();
    CHECK(cfg.decay == 0.99 && cfg.eps == 1e-5 && cfg.trainable);
    double before_embed[32], before_count[8], before_sum[32];
    memcpy(before_embed, m.embed, sizeof before_embed);
    memcpy(before_count, m.count, sizeof before_count);
    memcpy(before_sum, m.sum, sizeof before_sum);
    cfg.trainable = 0;
    pd_vq_ema_update(&m.book, &cfg, counts, sums);
    int64_t reseeded = -1;
    pd_vq_reseed_dead(&m.book, &cfg, x, N, P, 7, 3, 0, &reseeded);
    CHECK(reseeded == 0 && memcmp(before_embed, m.embed, sizeof before_embed) == 0 &&
          memcmp(before_count, m.count, sizeof before_count) == 0);
    cfg.trainable = 1;
    pd_vq_ema_update(&m.book, &cfg, counts, sums);
    double c_new[8], n_sum = 0;
    for (int k = 0; k < K; k++) {
        c_new[k] = 0.99 * before_count[k] + 0.01 * counts[k];
        n_sum += c_new[k];
        CHECK_NEAR(m.count[k], c_new[k], 1e-15);
    }
    for (int k = 0; k < K; k++)
        for (int j = 0; j < D; j++) {
            const double s_new = 0.99 * before_sum[k * D + j] + 0.01 * sums[k * D + j];
            CHECK_NEAR(m.sum[k * D + j], s_new, 1e-15);
            CHECK_NEAR(m.embed[k * D + j], s_new / ((c_new[k] + 1e-5) / (n_sum + K * 1e-5) * n_sum), 1e-12);
        }

    /* Every unused code has c = 0.99 < 1 = threshold: all of them are re-seeded, with vectors of
     * the batch, identically for the same (seed, step) and differently for another step. */
    int64_t unused = 0;
    for (int k = 0; k < K; k++) unused += counts[k] == 0;
    CHECK(unused > 0);
    book_mem m2;
    book_alloc(&m2, K, D, 51);
    memcpy(m2.embed, m.embed, sizeof before_embed);
    memcpy(m2.count, m.count, sizeof before_count);
    memcpy(m2.sum, m.sum, sizeof before_sum);
    pd_vq_reseed_dead(&m.book, &cfg, x, N, P, 7, 3, 0, &reseeded);
    CHECK(reseeded == unused);
    for (int k = 0; k < K; k++) {
        if (counts[k] > 0) continue;
        CHECK(m.count[k] == 1);
        int found = 0;
        for (int64_t r = 0; r < N * P && !found; r++) {
            int same = 1;
            for (int j = 0; j < D; j++) same &= m.embed[k * D + j] == x[((r / P) * D + j) * P + r % P];
            for (int j = 0; j < D; j++) same &= m.sum[k * D + j] == m.embed[k * D + j];
            found = same;
        }
        CHECK_MSG(found, "re-seeded code %d is not an encoder vector of the batch", k);
    }
    book_mem m3;
    book_alloc(&m3, K, D, 51);
    memcpy(m3.embed, m2.embed, sizeof before_embed);
    memcpy(m3.count, m2.count, sizeof before_count);
    memcpy(m3.sum, m2.sum, sizeof before_sum);
    pd_vq_reseed_dead(&m2.book, &cfg, x, N, P, 7, 3, 0, NULL);
    CHECK(memcmp(m2.embed, m.embed, sizeof before_embed) == 0);
    pd_vq_reseed_dead(&m3.book, &cfg, x, N, P, 7, 4, 0, NULL);
    CHECK(memcmp(m3.embed, m.embed, sizeof before_embed) != 0);

    /* Usage: uniform counts → perplexity K; one code → 1. */
    double perplexity;
    int64_t used;
    const double uniform[4] = {3, 3, 3, 3}, single[4] = {0, 5, 0, 0}, half[4] = {2, 2, 0, 0};
    pd_vq_usage(uniform, 4, &perplexity, &used);
    CHECK_NEAR(perplexity, 4, 1e-12);
    CHECK(used == 4);
    pd_vq_usage(single, 4, &perplexity, &used);
    CHECK_NEAR(perplexity, 1, 1e-12);
    CHECK(used == 1);
    pd_vq_usage(half, 4, &perplexity, &used);
    CHECK_NEAR(perplexity, 2, 1e-12);
    CHECK(used == 2);

    free(x); book_free(&m); book_free(&m2); book_free(&m3);
    return pd_test_finish("test_vq_kernels");
}
