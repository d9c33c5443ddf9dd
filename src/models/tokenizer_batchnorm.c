/* tokenizer_batchnorm.c — the tokenizer's training-mode BatchNorm with batch statistics summed
 * over ranks (synchronised BatchNorm), so N ranks holding parts of a global batch normalise, update
 * running statistics and differentiate exactly like one rank holding all of it. The model does not
 * know about ranks: it calls a summing function the training engine hands it. Same formulas and
 * summation order as nn/norm_batch.c (on one rank the result is bitwise that of pd_batchnorm). */
#include <stdlib.h>
#include <string.h>

#include "models/tokenizer.h"
#include "nn/pointwise_norm.h"

typedef struct sync_saved {
    int64_t N, C, S;
    double count;                 /* global values per channel */
    pd_real *mean, *rstd;         /* [C] */
    pd_tokenizer_batch_sum sum;
} sync_saved;

static pd_status global_sum(const pd_tokenizer_batch_sum *sum, double *buf, int64_t n)
{
    for (int64_t i = 0; i < n; i++) buf[i] *= sum->weight;
    return sum->fn ? sum->fn(sum->user, buf, n) : PD_OK;
}

static void sync_backward(pd_graph *g, pd_node *n)
{
    const sync_saved *s = n->saved;
    pd_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2];
    pd_real *gx = pd_grad(g, x), *gw = pd_grad(g, w), *gb = pd_grad(g, b);
    const pd_real *dy = n->out->grad, *gamma = w ? w->data : NULL;
    const int64_t N = s->N, C = s->C, S = s->S;
    double *sums = pd_graph_alloc(g, (size_t)(2 * C) * sizeof *sums);
    if (!sums) return;
    for (int64_t c = 0; c < C; c++) {
        const double mu = s->mean[c], r = s->rstd[c];
        double sum_dy = 0, sum_dy_xh = 0;
        for (int64_t i = 0; i < N; i++) {
            const pd_real *xc = x->data + (i * C + c) * S, *dyc = dy + (i * C + c) * S;
            for (int64_t k = 0; k < S; k++) {
                sum_dy += dyc[k];
                sum_dy_xh += dyc[k] * (xc[k] - mu) * r;
            }
        }
        /* γ and β gradients stay local: the engine sums parameter gradients over ranks. */
        if (gw) gw[c] += (pd_real)sum_dy_xh;
        if (gb) gb[c] += (pd_real)sum_dy;
        sums[c] = sum_dy;
        sums[C + c] = sum_dy_xh;
    }
    pd_status st = global_sum(&s->sum, sums, 2 * C);
    if (st != PD_OK) {
        pd_graph_set_status(g, st);
        return;
    }
    if (!gx) return;
    for (int64_t c = 0; c < C; c++) {
        const double mu = s->mean[c], r = s->rstd[c], gm = gamma ? gamma[c] : 1.0;
        const double mean_g = gm * sums[c] / s->count, mean_gx = gm * sums[C + c] / s->count;
        for (int64_t i = 0; i < N; i++) {
            const pd_real *xc = x->data + (i * C + c) * S, *dyc = dy + (i * C + c) * S;
            pd_real *dxc = gx + (i * C + c) * S;
            for (int64_t k = 0; k < S; k++) dxc[k] += pd_norm_grad_x(r, dyc[k], gm, mean_g, xc[k], mu, mean_gx);
        }
    }
}

pd_tensor *pd_tokenizer_sync_batchnorm(pd_graph *g, pd_tensor *x, pd_tensor *weight, pd_tensor *bias,
                                       pd_batchnorm_stats *stats, double momentum, double eps,
                                       const pd_tokenizer_batch_sum *sum)
{
    if (!pd_graph_ok(g, x)) return NULL;
    if (x->ndim < 2) return pd_graph_fail(g, "tokenizer batchnorm: input needs [N, C, ...], got %d dims", x->ndim);
    const int64_t N = x->shape[0], C = x->shape[1];
    const int64_t S = N * C > 0 ? x->numel / (N * C) : 0;
    if (stats->channels != C)
        return pd_graph_fail(g, "tokenizer batchnorm: running statistics for %lld channels, input has %lld",
                             (long long)stats->channels, (long long)C);
    pd_tensor *y = pd_tensor_new_like(g, x);
    pd_real *mean = pd_graph_alloc(g, (size_t)C * sizeof(pd_real)), *rstd = pd_graph_alloc(g, (size_t)C * sizeof(pd_real));
    double *buf = pd_graph_alloc(g, (size_t)(C + 1) * sizeof *buf);
    if (!y || !mean || !rstd || !buf) return NULL;
    /* Pass 1: sums and the count over every rank's positions -> mean. */
    for (int64_t c = 0; c < C; c++) {
        double s = 0;
        for (int64_t i = 0; i < N; i++) {
            const pd_real *xc = x->data + (i * C + c) * S;
            for (int64_t k = 0; k < S; k++) s += xc[k];
        }
        buf[c] = s;
    }
    buf[C] = (double)(N * S);
    pd_status st = global_sum(sum, buf, C + 1);
    if (st != PD_OK) {
        pd_graph_set_status(g, st);
        return NULL;
    }
    const double m = buf[C];
    if (m < 2)
        return pd_graph_fail(g, "tokenizer batchnorm (training): %.0f value(s) per channel over all ranks; batch "
                             "statistics need at least 2", m);
    double *mu = pd_graph_alloc(g, (size_t)C * sizeof *mu);
    if (!mu) return NULL;
    for (int64_t c = 0; c < C; c++) mu[c] = buf[c] / m;
    /* Pass 2: centred sums of squares -> variance (two passes, as nn/norm_batch.c). */
    for (int64_t c = 0; c < C; c++) {
        double ss = 0;
        for (int64_t i = 0; i < N; i++) {
            const pd_real *xc = x->data + (i * C + c) * S;
            for (int64_t k = 0; k < S; k++) ss += (xc[k] - mu[c]) * (xc[k] - mu[c]);
        }
        buf[c] = ss;
    }
    st = global_sum(sum, buf, C);
    if (st != PD_OK) {
        pd_graph_set_status(g, st);
        return NULL;
    }
    const pd_real *gamma = weight ? weight->data : NULL, *beta = bias ? bias->data : NULL;
    for (int64_t c = 0; c < C; c++) {
        const double var = buf[c] / m, r = pd_norm_rstd(var, eps);
        mean[c] = (pd_real)mu[c];
        rstd[c] = (pd_real)r;
        stats->running_mean[c] = pd_batchnorm_running_mean(stats->running_mean[c], momentum, mu[c]);
        stats->running_var[c] = pd_batchnorm_running_var(stats->running_var[c], momentum, var, (int64_t)m);
        const pd_real scale = pd_norm_scale(r, gamma ? gamma[c] : 1.0);
        const pd_real shift = pd_norm_shift(mu[c], r, gamma ? gamma[c] : 1.0, beta ? beta[c] : 0.0);
        for (int64_t i = 0; i < N; i++) {
            const pd_real *xc = x->data + (i * C + c) * S;
            pd_real *yc = y->data + (i * C + c) * S;
            for (int64_t k = 0; k < S; k++) yc[k] = xc[k] * scale + shift;
        }
    }
    stats->batches_tracked++;
    pd_node *n = pd_record(g, "tokenizer_sync_batchnorm", sync_backward, y, 3, (pd_tensor *[]){x, weight, bias});
    if (n) {
        sync_saved *sv = pd_node_save(g, n, sizeof *sv);
        if (!sv) return NULL;
        *sv = (sync_saved){.N = N, .C = C, .S = S, .count = m, .mean = mean, .rstd = rstd, .sum = *sum};
    }
    return y;
}
