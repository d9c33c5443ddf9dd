/* vq_ops.c — the tape ops of vq.h: nearest-code lookup with a straight-through backward, and
 * the commitment loss β·Σ(x − sg(q))²/normaliser whose gradient goes to the encoder output:
 * the op functions and their CPU kernels, registered in backend_cpu.c's table. On a device
 * graph the backend computes the nearest code, lookup and straight-through backward (on a copy
 * of the model's codebook it can read, op_run.h); the commitment loss is host-side (op.h). */
#include "nn/vq.h"

#include <string.h>

#include "nn/backend_cpu.h"
#include "nn/kernel_desc.h"
#include "nn/op_run.h"
#include "nn/ops_internal.h"

/* ---- CPU kernels ---- */

pd_status pd_cpu_vq_forward(const void *desc)
{
    const pd_vq_desc *d = desc;
    const pd_vq_codebook book = {.codes = d->K, .dim = d->D, .embed = (pd_real *)d->embed};
    pd_status st = pd_vq_nearest(&book, d->x, d->N, d->P, d->index, NULL);
    if (st != PD_OK) return st;
    pd_vq_lookup(&book, d->index, d->N, d->P, d->q);
    return PD_OK;
}

pd_status pd_cpu_vq_backward(const void *desc)
{
    const pd_vq_desc *d = desc;
    for (int64_t i = 0; i < d->n; i++) d->gx[i] += d->gq[i];
    return PD_OK;
}

pd_status pd_cpu_commitment_forward(const void *desc)
{
    const pd_commitment_desc *d = desc;
    double sum = 0;
    for (int64_t i = 0; i < d->n; i++) {
        const double v = (double)d->x[i] - d->q[i];
        sum += v * v;
    }
    d->y[0] = (pd_real)(d->beta * sum / d->denom);
    return PD_OK;
}

pd_status pd_cpu_commitment_backward(const void *desc)
{
    const pd_commitment_desc *d = desc;
    const pd_real k = d->scale * d->gy[0];
    for (int64_t i = 0; i < d->n; i++) d->gx[i] += k * (d->x[i] - d->q[i]);
    return PD_OK;
}

/* ---- ops ---- */

static void straight_through_backward(pd_graph *g, pd_node *n)
{
    pd_real *gx = pd_grad(g, n->in[0]);
    if (!gx) return;
    pd_vq_desc d = {.n = n->out->numel, .gq = n->out->grad, .gx = gx};
    pd_op_backward(g, n, &d);
}

static void commitment_backward(pd_graph *g, pd_node *n)
{
    pd_real *gx = pd_grad(g, n->in[0]);
    if (!gx) return;
    pd_commitment_desc d = *(const pd_commitment_desc *)n->saved;
    d.gy = n->out->grad;
    d.gx = gx;
    pd_op_backward(g, n, &d);
}

/* The commitment loss of x against its codes q (host-side: q is read after the forward). */
static pd_tensor *commitment(pd_graph *g, pd_tensor *x, const pd_tensor *q, double beta, double normaliser)
{
    pd_tensor *loss = pd_tensor_new1(g, 1);
    if (!loss) return NULL;
    const double denom = normaliser > 0 ? normaliser : (double)x->numel;
    pd_commitment_desc d = {.n = x->numel, .beta = beta, .denom = denom, .scale = (pd_real)(2 * beta / denom),
                            .x = x->data, .q = q->data, .y = loss->data};
    if (!pd_op_forward(g, PD_OP_VQ_COMMITMENT, &d)) return NULL;
    pd_node *n = pd_record_op(g, PD_OP_VQ_COMMITMENT, commitment_backward, loss, 1, (pd_tensor *[]){x});
    if (n) {
        pd_commitment_desc *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        *s = d;
    }
    return loss;
}

pd_tensor *pd_vq_quantize(pd_graph *g, pd_tensor *x, const pd_vq_codebook *book, double beta, double normaliser,
                          pd_tensor **commitment_loss, int32_t **index)
{
    if (commitment_loss) *commitment_loss = NULL;
    if (index) *index = NULL;
    if (!pd_graph_ok(g, x)) return NULL;
    if (x->ndim < 2 || x->shape[1] != book->dim)
        return pd_graph_fail(g, "vector quantisation: input %s must be [N, %lld, ...] for a codebook of dimension %lld",
                             pd_shape_of(x).s, (long long)book->dim, (long long)book->dim);
    const int64_t N = x->shape[0], P = x->numel / (N * book->dim);
    int32_t *idx = pd_graph_alloc(g, (size_t)(N * P) * sizeof *idx);
    pd_tensor *q = pd_tensor_new_like(g, x);
    /* The codebook belongs to the model (host memory): the backend reads a copy it can reach. */
    const pd_real *embed = pd_graph_backend_copy(g, book->embed, (size_t)(book->codes * book->dim) * sizeof(pd_real));
    if (!idx || !q || !embed) return NULL;
    pd_vq_desc d = {.K = book->codes, .D = book->dim, .N = N, .P = P, .n = x->numel, .embed = embed, .x = x->data,
                    .index = idx, .q = q->data};
    if (!pd_op_forward(g, PD_OP_VQ_STRAIGHT_THROUGH, &d)) return NULL;
    pd_record_op(g, PD_OP_VQ_STRAIGHT_THROUGH, straight_through_backward, q, 1, (pd_tensor *[]){x});
    if (commitment_loss) {
        *commitment_loss = commitment(g, x, q, beta, normaliser);
        if (!*commitment_loss) return NULL;
    }
    if (index) *index = idx;
    return q;
}
