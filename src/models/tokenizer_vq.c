/* tokenizer_vq.c — the non-gradient half of the tokenizer's quantisers: per-level batch
 * statistics over valid tokens (one flat double buffer the engine can all-reduce), the EMA
 * codebook update with Laplace smoothing, dead-code re-seeding from valid encoder outputs, and
 * codebook usage. The formulas are those of nn/vq_kernels.h. */
#include "models/tokenizer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int64_t pd_tokenizer_vq_stats_numel(const pd_tokenizer *m)
{
    const pd_tokenizer_config *c = pd_tokenizer_get_config(m);
    return (int64_t)c->levels * c->codebook * (1 + (int64_t)c->latent_dim);
}

/* Level l's counts and sums inside the flat buffer. */
static double *level_counts(const pd_tokenizer_config *c, double *stats, int l)
{
    return stats + (int64_t)l * c->codebook * (1 + (int64_t)c->latent_dim);
}

void pd_tokenizer_vq_stats(const pd_tokenizer *m, const pd_tokenizer_vq_batch *vq, double *stats)
{
    const pd_tokenizer_config *c = pd_tokenizer_get_config(m);
    const int64_t K = c->codebook, D = c->latent_dim;
    memset(stats, 0, (size_t)pd_tokenizer_vq_stats_numel(m) * sizeof *stats);
    for (int l = 0; l < c->levels; l++) {
        double *counts = level_counts(c, stats, l), *sums = counts + K;
        for (int64_t r = 0; r < vq->rows[l]; r++) {
            if (!vq->valid[l][r]) continue;
            const int64_t k = vq->index[l][r];
            counts[k] += 1;
            const pd_real *x = vq->x[l] + r * D;
            for (int64_t d = 0; d < D; d++) sums[k * D + d] += x[d];
        }
    }
}

/* The valid rows of one level copied contiguously (the candidates for re-seeding). */
static pd_status valid_rows(const pd_tokenizer_vq_batch *vq, int l, int64_t D, pd_real **out, int64_t *n_out)
{
    int64_t n = 0;
    for (int64_t r = 0; r < vq->rows[l]; r++) n += vq->valid[l][r] != 0;
    *out = NULL;
    *n_out = n;
    if (n == 0) return PD_OK;
    pd_real *x = malloc((size_t)(n * D) * sizeof *x);
    if (!x) return pd_fail(PD_ERR_NOMEM, "tokenizer: out of memory copying %lld re-seed candidates", (long long)n);
    int64_t i = 0;
    for (int64_t r = 0; r < vq->rows[l]; r++)
        if (vq->valid[l][r]) memcpy(x + (i++) * D, vq->x[l] + r * D, (size_t)D * sizeof *x);
    *out = x;
    return PD_OK;
}

pd_status pd_tokenizer_codebook_update(pd_tokenizer *m, const double *stats, const pd_tokenizer_vq_batch *reseed_from,
                                       uint64_t seed, uint64_t step, int64_t *reseeded)
{
    const pd_tokenizer_config *c = pd_tokenizer_get_config(m);
    const int64_t K = c->codebook, D = c->latent_dim;
    const int first = pd_tokenizer_codebook_updates(m) == 0;
    pd_vq_ema_config ema = pd_vq_ema_defaults();
    ema.decay = c->ema_decay;
    ema.eps = c->vq_eps;
    ema.reseed_count = c->reseed_count;
    /* Data initialisation: on the first update every code counts as dead. */
    ema.dead_threshold = first && c->data_init ? INFINITY : c->dead_threshold;
    for (int l = 0; l < c->levels; l++) {
        pd_vq_codebook *book = pd_tokenizer_codebook(m, l);
        const double *counts = level_counts(c, (double *)stats, l);
        pd_vq_ema_update(book, &ema, counts, counts + K);
        int64_t done = 0;
        if (reseed_from) {
            pd_real *x;
            int64_t n;
            PD_TRY(valid_rows(reseed_from, l, D, &x, &n));
            if (n > 0) pd_vq_reseed_dead(book, &ema, x, n, 1, seed, step, (uint64_t)l, &done);
            free(x);
        }
        if (reseeded) reseeded[l] = done;
    }
    pd_tokenizer_set_codebook_updates(m, pd_tokenizer_codebook_updates(m) + 1);
    return PD_OK;
}

void pd_tokenizer_usage(const pd_tokenizer *m, const double *stats, int64_t *used, double *perplexity)
{
    const pd_tokenizer_config *c = pd_tokenizer_get_config(m);
    for (int l = 0; l < c->levels; l++)
        pd_vq_usage(level_counts(c, (double *)stats, l), c->codebook, &perplexity[l], &used[l]);
}
