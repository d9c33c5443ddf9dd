/* vq_ops.c — the tape ops of vq.h: nearest-code lookup with a straight-through backward, and
 * the commitment loss β·Σ(x − sg(q))²/normaliser whose gradient goes to the encoder output. */
#include "nn/vq.h"

#include "nn/ops_internal.h"

static void straight_through_backward(pd_graph *g, pd_node *n)
{
    pd_real *gx = pd_grad(g, n->in[0]);
    if (!gx) return;
    const pd_real *gq = n->out->grad;
    for (int64_t i = 0; i < n->out->numel; i++) gx[i] += gq[i];
}

typedef struct commitment_saved {
    const pd_real *q;
    pd_real scale; /* 2β / normaliser */
} commitment_saved;

static void commitment_backward(pd_graph *g, pd_node *n)
{
    const commitment_saved *s = n->saved;
    pd_tensor *x = n->in[0];
    pd_real *gx = pd_grad(g, x);
    if (!gx) return;
    const pd_real k = s->scale * n->out->grad[0];
    for (int64_t i = 0; i < x->numel; i++) gx[i] += k * (x->data[i] - s->q[i]);
}

pd_tensor *pd_vq_quantize(pd_graph *g, pd_tensor *x, const pd_vq_codebook *book, double beta, double normaliser,
                          pd_tensor **commitment, int32_t **index)
{
    if (commitment) *commitment = NULL;
    if (index) *index = NULL;
    if (!pd_graph_ok(g, x)) return NULL;
    if (x->ndim < 2 || x->shape[1] != book->dim)
        return pd_graph_fail(g, "vector quantisation: input %s must be [N, %lld, ...] for a codebook of dimension %lld",
                             pd_shape_of(x).s, (long long)book->dim, (long long)book->dim);
    const int64_t N = x->shape[0], P = x->numel / (N * book->dim);
    int32_t *idx = pd_graph_alloc(g, (size_t)(N * P) * sizeof *idx);
    pd_tensor *q = pd_tensor_new_like(g, x);
    if (!idx || !q) return NULL;
    pd_status st = pd_vq_nearest(book, x->data, N, P, idx, NULL);
    if (st != PD_OK) {
        pd_graph_set_status(g, st);
        return NULL;
    }
    pd_vq_lookup(book, idx, N, P, q->data);
    pd_record(g, "vq straight-through", straight_through_backward, q, 1, (pd_tensor *[]){x});
    if (commitment) {
        pd_tensor *loss = pd_tensor_new1(g, 1);
        if (!loss) return NULL;
        const double denom = normaliser > 0 ? normaliser : (double)x->numel;
        double sum = 0;
        for (int64_t i = 0; i < x->numel; i++) {
            const double d = (double)x->data[i] - q->data[i];
            sum += d * d;
        }
        loss->data[0] = (pd_real)(beta * sum / denom);
        pd_node *n = pd_record(g, "vq commitment", commitment_backward, loss, 1, (pd_tensor *[]){x});
        if (n) {
            commitment_saved *s = pd_node_save(g, n, sizeof *s);
            if (!s) return NULL;
            s->q = q->data;
            s->scale = (pd_real)(2 * beta / denom);
        }
        *commitment = loss;
    }
    if (index) *index = idx;
    return q;
}
