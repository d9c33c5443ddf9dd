/* vq_ops.c — the tape ops of vq.h: nearest-code lookup with a straight-through backward, and
 * the commitment loss β·Σ(x − sg(q))²/normaliser whose gradient goes to the encoder output.
 * On a GPU graph the nearest code, lookup and straight-through backward run cuda/ops_vq.cu's
 * kernels; the commitment loss stays a host op (on managed memory). */
#include "nn/vq.h"

#include <string.h>

#include "nn/ops_device.h"
#include "nn/ops_internal.h"

static void straight_through_backward(pd_graph *g, pd_node *n)
{
    pd_real *gx = pd_grad(g, n->in[0]);
    if (!gx) return;
    const pd_real *gq = n->out->grad;
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) { /* gx += 1·gq */
        pd_graph_cuda_backward_done(g, pd_cuda_affine_backward(gq, gx, n->out->numel, 1.0f), "vq straight-through");
        return;
    }
#endif
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

#if PD_NN_CUDA
/* Nearest code and lookup on the GPU. The codebook belongs to the model (host memory the kernels
 * cannot address): it is copied into the graph's managed arena first. 1 when all went well. */
static int vq_nearest_on_gpu(pd_graph *g, const pd_vq_codebook *book, const pd_tensor *x, int64_t N, int64_t P,
                             int32_t *idx, pd_tensor *q)
{
    const size_t bytes = (size_t)(book->codes * book->dim) * sizeof(pd_real);
    pd_real *embed = pd_graph_alloc(g, bytes ? bytes : sizeof(pd_real));
    pd_cuda_arena *work = pd_graph_cuda_work(g);
    if (!embed || !work) return 0;
    memcpy(embed, book->embed, bytes);
    size_t mark = work->used;
    pd_status st = pd_cuda_vq_nearest(work, embed, book->codes, book->dim, x->data, N, P, idx, q->data);
    work->used = mark;
    return pd_graph_cuda_forward_done(g, st, "vector quantisation");
}
#endif

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
    int on_gpu = 0;
#if PD_NN_CUDA
    on_gpu = pd_graph_on_cuda(g);
    if (on_gpu && !vq_nearest_on_gpu(g, book, x, N, P, idx, q)) return NULL;
#endif
    if (!on_gpu) {
        pd_status st = pd_vq_nearest(book, x->data, N, P, idx, NULL);
        if (st != PD_OK) {
            pd_graph_set_status(g, st);
            return NULL;
        }
        pd_vq_lookup(book, idx, N, P, q->data);
    }
#if PD_NN_CUDA
    if (on_gpu)
        pd_node_on_device(pd_record(g, "vq straight-through", straight_through_backward, q, 1, (pd_tensor *[]){x}));
#endif
    if (!on_gpu) pd_record(g, "vq straight-through", straight_through_backward, q, 1, (pd_tensor *[]){x});
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
