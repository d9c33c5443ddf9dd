/* ops_vae.c — the VAE pieces: reparameterisation z = mu + sigma * eps (eps from the counter
 * RNG, so the same residue gets the same noise on any number of ranks) and the KL divergence
 * to the standard normal, normalised by a given (global) count. On a GPU graph the eps variant
 * and the KL run cuda/ops_elementwise.cu / ops_rows.cu's kernels (the noise is still drawn on
 * the host, into the graph's managed memory; KL's row mask is copied there first). */
#include "nn/ops.h"

#include <string.h>

#include "core/rng.h"
#include "nn/ops_device.h"
#include "nn/ops_internal.h"
#include "nn/pointwise_ops.h"

static void reparam_backward(pd_graph *g, pd_node *n)
{
    pd_tensor *mu = n->in[0], *lv = n->in[1], *eps = n->in[2], *z = n->out;
    pd_real *gmu = pd_grad(g, mu), *glv = pd_grad(g, lv), *geps = pd_grad(g, eps);
    int64_t N = z->numel;
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        pd_graph_cuda_backward_done(g, pd_cuda_reparam_backward(lv->data, eps->data, z->grad, gmu, glv, geps, N),
                                    "reparameterize");
        return;
    }
#endif
#pragma omp parallel for schedule(static) if (N > PD_OMP_MIN_WORK)
    for (int64_t i = 0; i < N; i++) {
        pd_real gz = z->grad[i], sd = pd_reparam_sd(lv->data[i]);
        if (gmu) gmu[i] += gz;
        if (glv) glv[i] += pd_reparam_grad_logvar(gz, eps->data[i], sd);
        if (geps) geps[i] += gz * sd;
    }
}

pd_tensor *pd_reparameterize_eps(pd_graph *g, pd_tensor *mu, pd_tensor *logvar, pd_tensor *eps)
{
    if (!pd_graph_ok(g, mu) || !pd_graph_ok(g, logvar) || !pd_graph_ok(g, eps)) return NULL;
    if (!pd_shape_equal(mu, logvar) || !pd_shape_equal(mu, eps))
        return pd_graph_fail(g, "reparameterize: mu %s, logvar %s and eps %s must have one shape", pd_shape_of(mu).s,
                             pd_shape_of(logvar).s, pd_shape_of(eps).s);
    pd_tensor *z = pd_tensor_new_like(g, mu);
    if (!z) return NULL;
    int64_t N = z->numel;
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        if (!pd_graph_cuda_forward_done(g, pd_cuda_reparam_forward(mu->data, logvar->data, eps->data, z->data, N),
                                        "reparameterize"))
            return NULL;
        pd_node_on_device(pd_record(g, "reparameterize", reparam_backward, z, 3, (pd_tensor *[]){mu, logvar, eps}));
        return z;
    }
#endif
#pragma omp parallel for schedule(static) if (N > PD_OMP_MIN_WORK)
    for (int64_t i = 0; i < N; i++) z->data[i] = pd_reparam_value(mu->data[i], logvar->data[i], eps->data[i]);
    pd_record(g, "reparameterize", reparam_backward, z, 3, (pd_tensor *[]){mu, logvar, eps});
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

typedef struct kl_saved { const uint8_t *row_valid; pd_real inv_norm; double norm; } kl_saved;

static void kl_backward(pd_graph *g, pd_node *n)
{
    const kl_saved *s = n->saved;
    pd_tensor *mu = n->in[0], *lv = n->in[1];
    pd_real *gmu = pd_grad(g, mu), *glv = pd_grad(g, lv);
    int64_t D = pd_tensor_cols(mu), R = pd_tensor_rows(mu);
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        pd_graph_cuda_backward_done(g, pd_cuda_kl_normal_backward(mu->data, lv->data, s->row_valid, n->out->grad, gmu,
                                                                  glv, R, D, s->norm), "kl_normal");
        return;
    }
#endif
    pd_real go = n->out->grad[0] * s->inv_norm;
#pragma omp parallel for schedule(static) if (mu->numel > PD_OMP_MIN_WORK)
    for (int64_t r = 0; r < R; r++) {
        if (s->row_valid && !s->row_valid[r]) continue;
        for (int64_t j = 0; j < D; j++) {
            int64_t i = r * D + j;
            if (gmu) gmu[i] += pd_kl_grad_mu(go, mu->data[i]);
            if (glv) glv[i] += pd_kl_grad_logvar(go, lv->data[i]);
        }
    }
}

pd_tensor *pd_kl_normal(pd_graph *g, pd_tensor *mu, pd_tensor *logvar, const uint8_t *row_valid, double normaliser)
{
    if (!pd_graph_ok(g, mu) || !pd_graph_ok(g, logvar)) return NULL;
    if (!pd_shape_equal(mu, logvar))
        return pd_graph_fail(g, "kl_normal: mu %s and logvar %s differ", pd_shape_of(mu).s, pd_shape_of(logvar).s);
    int64_t D = pd_tensor_cols(mu), R = pd_tensor_rows(mu), valid = 0;
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        for (int64_t r = 0; r < R; r++) valid += (!row_valid || row_valid[r]) ? 1 : 0;
        double norm = normaliser > 0 ? normaliser : (double)(valid ? valid : 1);
        uint8_t *mask = row_valid ? pd_graph_alloc(g, (size_t)R) : NULL;   /* managed: the kernels read it */
        pd_tensor *y = pd_tensor_new1(g, 1);
        pd_cuda_arena *work = pd_graph_cuda_work(g);
        if (!y || !work || (row_valid && !mask)) return NULL;
        if (mask) memcpy(mask, row_valid, (size_t)R);
        size_t mark = work->used;
        pd_status st = pd_cuda_kl_normal_forward(work, mu->data, logvar->data, mask, y->data, R, D, norm);
        work->used = mark;
        if (!pd_graph_cuda_forward_done(g, st, "kl_normal")) return NULL;
        pd_node *nd = pd_record(g, "kl_normal", kl_backward, y, 2, (pd_tensor *[]){mu, logvar});
        pd_node_on_device(nd);
        if (nd) {
            kl_saved *s = pd_node_save(g, nd, sizeof *s);
            if (!s) return NULL;
            *s = (kl_saved){mask, (pd_real)(1.0 / norm), norm};
        }
        return y;
    }
#endif
    double total = 0;
    for (int64_t r = 0; r < R; r++) {
        if (row_valid && !row_valid[r]) continue;
        valid++;
        for (int64_t j = 0; j < D; j++) {
            double m = mu->data[r * D + j], l = logvar->data[r * D + j];
            total += pd_kl_normal_term(m, l);
        }
    }
    double norm = normaliser > 0 ? normaliser : (double)(valid ? valid : 1);
    pd_tensor *y = pd_tensor_new1(g, 1);
    if (!y) return NULL;
    y->data[0] = (pd_real)(total / norm);
    pd_node *n = pd_record(g, "kl_normal", kl_backward, y, 2, (pd_tensor *[]){mu, logvar});
    if (n) {
        kl_saved *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        if (row_valid) {
            uint8_t *copy = pd_graph_alloc(g, (size_t)R);
            if (!copy) return NULL;
            for (int64_t r = 0; r < R; r++) copy[r] = row_valid[r];
            s->row_valid = copy;
        }
        s->inv_norm = (pd_real)(1.0 / norm);
        s->norm = norm;
    }
    return y;
}
