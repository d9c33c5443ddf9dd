/* vq_ema.c — the non-gradient half of EMA vector quantisation: batch statistics, the EMA
 * codebook update with Laplace smoothing, dead-code re-seeding and usage statistics. The
 * formulas are written out in vq_kernels.h. */
#include "nn/vq_kernels.h"

#include <math.h>
#include <string.h>

#include "core/rng.h"
#include "nn/pointwise_index.h"

pd_vq_ema_config pd_vq_ema_defaults(void)
{
    return (pd_vq_ema_config){.decay = 0.99, .eps = 1e-5, .dead_threshold = 1.0, .reseed_count = 1.0,
                              .trainable = 1};
}

void pd_vq_codebook_reset_ema(pd_vq_codebook *book)
{
    for (int64_t k = 0; k < book->codes; k++) book->ema_count[k] = 1;
    memcpy(book->ema_sum, book->embed, (size_t)(book->codes * book->dim) * sizeof(pd_real));
}

void pd_vq_batch_stats(const pd_vq_codebook *book, const pd_real *x, int64_t N, int64_t P, const int32_t *index,
                       double *counts, double *sums)
{
    const int64_t K = book->codes, D = book->dim;
    memset(counts, 0, (size_t)K * sizeof *counts);
    memset(sums, 0, (size_t)(K * D) * sizeof *sums);
    for (int64_t n = 0; n < N; n++)
        for (int64_t p = 0; p < P; p++) {
            const int64_t k = index[n * P + p];
            counts[k] += 1;
            const pd_real *xr = x + n * D * P + p;
            double *s = sums + k * D;
            for (int64_t d = 0; d < D; d++) s[d] += xr[d * P];
        }
}

void pd_vq_ema_update(pd_vq_codebook *book, const pd_vq_ema_config *cfg, const double *counts, const double *sums)
{
    if (!cfg->trainable) return;
    const int64_t K = book->codes, D = book->dim;
    const double g = cfg->decay;
    double total = 0;
    for (int64_t k = 0; k < K; k++) {
        book->ema_count[k] = pd_vq_ema(book->ema_count[k], g, counts[k]);
        total += book->ema_count[k];
        for (int64_t d = 0; d < D; d++)
            book->ema_sum[k * D + d] = pd_vq_ema(book->ema_sum[k * D + d], g, sums[k * D + d]);
    }
    for (int64_t k = 0; k < K; k++) {
        const double smoothed = pd_vq_smoothed_count(book->ema_count[k], total, K, cfg->eps);
        for (int64_t d = 0; d < D; d++) book->embed[k * D + d] = (pd_real)(book->ema_sum[k * D + d] / smoothed);
    }
}

void pd_vq_reseed_dead(pd_vq_codebook *book, const pd_vq_ema_config *cfg, const pd_real *x, int64_t N, int64_t P,
                       uint64_t seed, uint64_t step, uint64_t stream, int64_t *n_reseeded)
{
    int64_t done = 0;
    if (cfg->trainable && cfg->dead_threshold > 0 && N * P > 0) {
        const int64_t D = book->dim;
        pd_rng rng;
        pd_rng_init(&rng, seed, step, stream, PD_RNG_VQ);
        for (int64_t k = 0; k < book->codes; k++) {
            if (book->ema_count[k] >= cfg->dead_threshold) continue;
            const int64_t r = (int64_t)pd_rng_below(&rng, (uint64_t)(N * P)), n = r / P, p = r % P;
            const pd_real *xr = x + n * D * P + p;
            for (int64_t d = 0; d < D; d++) {
                book->embed[k * D + d] = xr[d * P];
                book->ema_sum[k * D + d] = (pd_real)(cfg->reseed_count * xr[d * P]);
            }
            book->ema_count[k] = (pd_real)cfg->reseed_count;
            done++;
        }
    }
    if (n_reseeded) *n_reseeded = done;
}

void pd_vq_usage(const double *counts, int64_t K, double *perplexity, int64_t *used)
{
    double total = 0;
    int64_t u = 0;
    for (int64_t k = 0; k < K; k++) {
        total += counts[k];
        u += counts[k] > 0;
    }
    double entropy = 0;
    if (total > 0)
        for (int64_t k = 0; k < K; k++)
            if (counts[k] > 0) {
                const double p = counts[k] / total;
                entropy -= p * log(p);
            }
    if (perplexity) *perplexity = exp(entropy);
    if (used) *used = u;
}
