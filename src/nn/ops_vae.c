/* ops_vae.c — the VAE pieces: reparameterisation z = mu + sigma * eps (eps from the counter
 * RNG, so the same residue gets the same noise on any number of ranks) and the KL divergence
 * to the standard normal, normalised by a given (global) count: the op functions and their CPU
 * kernels (backend_cpu.c's table). On a device graph the backend's kernels run (the noise is
 * still drawn on the host, into the graph's device-visible memory; KL's op function is
 * row_loss.h's, shared with MSE). */
#include "nn/ops.h"

#include <string.h>

#include "core/rng.h"
#include "nn/backend_cpu.h"
#include "nn/kernel_desc.h"
#include "nn/op_run.h"
#include "nn/ops_internal.h"
#include "nn/pointwise_ops.h"
#include "nn/row_loss.h"

/* ---- CPU kernels (backend_cpu.c's table) ---- */

pd_status pd_cpu_reparam_forward(const void *desc)
{
    const pd_reparam_desc *d = desc;
    const int64_t N = d->n;
#pragma omp parallel for schedule(static) if (N > PD_OMP_MIN_WORK)
    for (int64_t i = 0; i < N; i++) d->z[i] = pd_reparam_value(d->mu[i], d->logvar[i], d->eps[i]);
    return PD_OK;
}

pd_status pd_cpu_reparam_backward(const void *desc)
{
    const pd_reparam_desc *d = desc;
    const int64_t N = d->n;
    pd_real *gmu = d->gmu, *glv = d->glogvar, *geps = d->geps;
#pragma omp parallel for schedule(static) if (N > PD_OMP_MIN_WORK)
    for (int64_t i = 0; i < N; i++) {
        pd_real gz = d->gz[i], sd = pd_reparam_sd(d->logvar[i]);
        if (gmu) gmu[i] += gz;
        if (glv) glv[i] += pd_reparam_grad_logvar(gz, d->eps[i], sd);
        if (geps) geps[i] += gz * sd;
    }
    return PD_OK;
}

static double kl_term(double mu, double logvar) { return pd_kl_normal_term(mu, logvar); }

static void kl_grad(pd_real go, const pd_row_loss_desc *d, int64_t i)
{
    if (d->ga) d->ga[i] += pd_kl_grad_mu(go, d->a[i]);
    if (d->gb) d->gb[i] += pd_kl_grad_logvar(go, d->b[i]);
}

pd_status pd_cpu_kl_normal_forward(const void *desc)
{
    const pd_row_loss_desc *d = desc;
    d->y[0] = (pd_real)(pd_row_loss_sum(d, kl_term) / d->norm);
    return PD_OK;
}

pd_status pd_cpu_kl_normal_backward(const void *desc)
{
    const pd_row_loss_desc *d = desc;
    pd_row_loss_grad(d, d->gy[0] * d->inv_norm, kl_grad);
    return PD_OK;
}

/* ---- reparameterisation ---- */

static void reparam_backward(pd_graph *g, pd_node *n)
{
    pd_tensor *mu = n->in[0], *lv = n->in[1], *eps = n->in[2], *z = n->out;
    pd_reparam_desc d = {.n = z->numel, .mu = mu->data, .logvar = lv->data, .eps = eps->data, .gz = z->grad,
                         .gmu = pd_grad(g, mu), .glogvar = pd_grad(g, lv), .geps = pd_grad(g, eps)};
    pd_op_backward(g, n, &d);
}

pd_tensor *pd_reparameterize_eps(pd_graph *g, pd_tensor *mu, pd_tensor *logvar, pd_tensor *eps)
{
    if (!pd_graph_ok(g, mu) || !pd_graph_ok(g, logvar) || !pd_graph_ok(g, eps)) return NULL;
    if (!pd_shape_equal(mu, logvar) || !pd_shape_equal(mu, eps))
        return pd_graph_fail(g, "reparameterize: mu %s, logvar %s and eps %s must have one shape", pd_shape_of(mu).s,
                             pd_shape_of(logvar).s, pd_shape_of(eps).s);
    pd_tensor *z = pd_tensor_new_like(g, mu);
    if (!z) return NULL;
    pd_reparam_desc d = {.n = z->numel, .mu = mu->data, .logvar = logvar->data, .eps = eps->data, .z = z->data};
    if (!pd_op_forward(g, PD_OP_REPARAMETERIZE, &d)) return NULL;
    pd_record_op(g, PD_OP_REPARAMETERIZE, reparam_backward, z, 3, (pd_tensor *[]){mu, logvar, eps});
    return z;
}

pd_tensor *pd_reparameterize(pd_graph *g, pd_tensor *mu, pd_tensor *logvar, uint64_t seed, uint64_t step,
                             const uint64_t *row_ids)
{
    if (!pd_graph_ok(g, mu)) return NULL;
    pd_tensor *eps = pd_tensor_new_like(g, mu);
    if (!eps) return NULL;
    int64_t D = pd_tensor_cols(mu), R = pd_tensor_rows(mu);
#pragma omp parallel for schedule(static) if (mu->numel > PD_OMP_MIN_WORK)
    for (int64_t r = 0; r < R; r++) {
        pd_rng rng;
        pd_rng_init(&rng, seed, step, row_ids ? row_ids[r] : (uint64_t)r, PD_RNG_NOISE);
        for (int64_t j = 0; j < D; j++) eps->data[r * D + j] = (pd_real)pd_rng_normal(&rng);
    }
    return pd_reparameterize_eps(g, mu, logvar, eps);
}

/* ---- KL(N(mu, exp(logvar)) || N(0, 1)) ---- */

pd_tensor *pd_kl_normal(pd_graph *g, pd_tensor *mu, pd_tensor *logvar, const uint8_t *row_valid, double normaliser)
{
    if (!pd_graph_ok(g, mu) || !pd_graph_ok(g, logvar)) return NULL;
    if (!pd_shape_equal(mu, logvar))
        return pd_graph_fail(g, "kl_normal: mu %s and logvar %s differ", pd_shape_of(mu).s, pd_shape_of(logvar).s);
    return pd_row_loss_op(g, PD_OP_KL_NORMAL, mu, logvar, row_valid, normaliser, 1);
}
