/* ops_attention.c — rotary position embedding on part of each head, and multi-head softmax
 * attention with key padding masks and an optional additive pair bias per head. Attention keeps
 * the probabilities P [B, H, Lq, Lk] for backward; each (batch, head) pair is an independent pair
 * of GEMMs, run in parallel. */
#include "nn/ops.h"

#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "nn/ops_device.h"
#include "nn/ops_internal.h"
#include "nn/pointwise_index.h"

/* ---- rotary embedding ---- */

typedef struct rope_saved { int n_heads, rope_dim; pd_real *cos_t, *sin_t; } rope_saved;

/* y = R x (forward) or y += R^T x (backward, transpose = 1) on one head's first rope_dim dims. */
static void rope_apply(pd_tensor *x, pd_real *dst, const pd_real *src, const pd_real *cos_t, const pd_real *sin_t,
                       int n_heads, int rope_dim, int transpose)
{
    int64_t C = pd_tensor_cols(x), rows = pd_tensor_rows(x), Dh = C / n_heads;
    int half = rope_dim / 2;
#pragma omp parallel for schedule(static) if (x->numel > PD_OMP_MIN_WORK)
    for (int64_t r = 0; r < rows; r++) {
        const pd_real *cr = cos_t + r * half, *sr = sin_t + r * half;
        for (int h = 0; h < n_heads; h++) {
            const pd_real *s = src + r * C + h * Dh;
            pd_real *d = dst + r * C + h * Dh;
            for (int j = 0; j < half; j++) {
                pd_real ya, yb;
                pd_rope_rotate(s[j], s[j + half], cr[j], transpose ? -sr[j] : sr[j], &ya, &yb);
                if (transpose) {
                    d[j] += ya;
                    d[j + half] += yb;
                } else {
                    d[j] = ya;
                    d[j + half] = yb;
                }
            }
            for (int64_t j = rope_dim; j < Dh; j++) {
                if (transpose) d[j] += s[j];
                else d[j] = s[j];
            }
        }
    }
}

static void rope_backward(pd_graph *g, pd_node *n)
{
    const rope_saved *s = n->saved;
    pd_real *gx = pd_grad(g, n->in[0]);
    if (!gx) return;
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        pd_tensor *x = n->in[0];
        const pd_cuda_rope_tables t = {s->cos_t, s->sin_t, pd_tensor_rows(x), s->rope_dim / 2};
        pd_graph_cuda_backward_done(g, pd_cuda_rope_backward(&t, n->out->grad, gx, t.rows, s->n_heads,
                                                             x->shape[2] / s->n_heads, s->rope_dim), "rope");
        return;
    }
#endif
    rope_apply(n->in[0], gx, n->out->grad, s->cos_t, s->sin_t, s->n_heads, s->rope_dim, 1);
}

pd_tensor *pd_rope(pd_graph *g, pd_tensor *x, const int32_t *pos, int n_heads, int rope_dim, double base)
{
    if (!pd_graph_ok(g, x)) return NULL;
    if (x->ndim != 3 || n_heads < 1 || x->shape[2] % n_heads != 0)
        return pd_graph_fail(g, "rope: x %s must be [B, L, H*Dh] with H = %d dividing the last dim", pd_shape_of(x).s, n_heads);
    int64_t Dh = x->shape[2] / n_heads, L = x->shape[1], rows = pd_tensor_rows(x);
    if (rope_dim < 0 || rope_dim % 2 || rope_dim > Dh)
        return pd_graph_fail(g, "rope: rope_dim %d must be even and at most the head dim %lld", rope_dim, (long long)Dh);
    pd_tensor *y = pd_tensor_new_like(g, x);
    if (!y) return NULL;
    int half = rope_dim / 2;
    pd_real *cos_t = pd_graph_alloc(g, (size_t)(rows * half + 1) * sizeof(pd_real));
    pd_real *sin_t = pd_graph_alloc(g, (size_t)(rows * half + 1) * sizeof(pd_real));
    if (!cos_t || !sin_t) return NULL;
    /* Angles in double: pos * base^(-2j/rope_dim) loses ~pos ulp in f32 at long lengths. */
    for (int64_t r = 0; r < rows; r++) {
        double p = pos ? (double)pos[r] : (double)(r % L);
        for (int j = 0; j < half; j++) {
            double theta = pd_rope_theta(p, base, j, rope_dim);
            cos_t[r * half + j] = (pd_real)cos(theta);
            sin_t[r * half + j] = (pd_real)sin(theta);
        }
    }
    int on_gpu = 0;
#if PD_NN_CUDA
    /* The tables stay host-computed (above, in the graph's managed memory): the same bits as
     * the CPU's; the rotation runs on the GPU. */
    on_gpu = pd_graph_on_cuda(g);
    if (on_gpu) {
        const pd_cuda_rope_tables t = {cos_t, sin_t, rows, half};
        if (!pd_graph_cuda_forward_done(g, pd_cuda_rope_forward(&t, x->data, y->data, rows, n_heads, Dh, rope_dim),
                                        "rope"))
            return NULL;
    }
#endif
    if (!on_gpu) rope_apply(x, y->data, x->data, cos_t, sin_t, n_heads, rope_dim, 0);
    pd_node *n = pd_record(g, "rope", rope_backward, y, 1, (pd_tensor *[]){x});
#if PD_NN_CUDA
    if (on_gpu) pd_node_on_device(n);
#endif
    if (n) {
        rope_saved *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        *s = (rope_saved){n_heads, rope_dim, cos_t, sin_t};
    }
    return y;
}

/* ---- attention ---- */

typedef struct attention_saved {
    int n_heads;
    int64_t B, Lq, Lk, Dh;
    pd_real scale;
    pd_real *probs;  /* [B, H, Lq, Lk] */
    pd_tensor *bias; /* [B, Lq, Lk, H] or NULL */
} attention_saved;

static int max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static void attention_backward(pd_graph *g, pd_node *n)
{
    const attention_saved *s = n->saved;
    pd_tensor *q = n->in[0], *k = n->in[1], *v = n->in[2];
    pd_real *gq = pd_grad(g, q), *gk = pd_grad(g, k), *gv = pd_grad(g, v);
    pd_real *gbias = s->bias ? pd_grad(g, s->bias) : NULL;
    int H = s->n_heads;
    int64_t Lq = s->Lq, Lk = s->Lk, Dh = s->Dh, HD = H * Dh;
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        pd_cuda_arena *work = pd_graph_cuda_work(g);
        if (!work) return;
        size_t mark = work->used;
        pd_graph_cuda_backward_done(g, pd_cuda_attention_backward(work, pd_graph_cuda_precision(g), q->data, k->data,
                                                                  v->data, s->probs, n->out->grad, gq, gk, gv, s->B,
                                                                  Lq, Lk, H, Dh, s->scale), "attention");
        work->used = mark;
        return;
    }
#endif
    int nt = max_threads();
    pd_real *scratch = pd_graph_alloc(g, (size_t)(nt * Lq * Lk + 1) * sizeof(pd_real));
    if (!scratch) return;
    const pd_real *go = n->out->grad;
    int parallel = s->B * H > 1 && s->B * H * Lq * Lk * Dh > PD_OMP_MIN_WORK && nt > 1;
    int blas_threads = parallel ? pd_blas_set_threads(1) : 0;
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
    for (int64_t bh = 0; bh < s->B * H; bh++) {
        int64_t b = bh / H, h = bh % H;
        const pd_real *P = s->probs + bh * Lq * Lk;
        pd_real *dP = scratch + (int64_t)thread_id() * Lq * Lk;
        int64_t qo = b * Lq * HD + h * Dh, ko = b * Lk * HD + h * Dh;
        /* dP = dO V^T ; dV += P^T dO */
        pd_gemm(0, 1, Lq, Lk, Dh, 1, go + qo, HD, v->data + ko, HD, 0, dP, Lk);
        if (gv) pd_gemm(1, 0, Lk, Dh, Lq, 1, P, Lk, go + qo, HD, 1, gv + ko, HD);
        /* dS = P * (dP - rowsum(dP * P)) */
        for (int64_t i = 0; i < Lq; i++) {
            pd_real dot = 0;
            for (int64_t j = 0; j < Lk; j++) dot += dP[i * Lk + j] * P[i * Lk + j];
            for (int64_t j = 0; j < Lk; j++) dP[i * Lk + j] = P[i * Lk + j] * (dP[i * Lk + j] - dot);
            /* the bias enters the scores unscaled: its gradient is dS itself */
            if (gbias)
                for (int64_t j = 0; j < Lk; j++) gbias[((b * Lq + i) * Lk + j) * H + h] += dP[i * Lk + j];
        }
        if (gq) pd_gemm(0, 0, Lq, Dh, Lk, s->scale, dP, Lk, k->data + ko, HD, 1, gq + qo, HD);
        if (gk) pd_gemm(1, 0, Lk, Dh, Lq, s->scale, dP, Lk, q->data + qo, HD, 1, gk + ko, HD);
    }
    if (parallel) pd_blas_set_threads(blas_threads);
}

pd_tensor *pd_attention(pd_graph *g, pd_tensor *q, pd_tensor *k, pd_tensor *v, int n_heads,
                        const uint8_t *key_valid, double scale)
{
    return pd_attention_biased(g, q, k, v, n_heads, key_valid, scale, NULL);
}

pd_tensor *pd_attention_biased(pd_graph *g, pd_tensor *q, pd_tensor *k, pd_tensor *v, int n_heads,
                               const uint8_t *key_valid, double scale, pd_tensor *bias)
{
    if (!pd_graph_ok(g, q) || !pd_graph_ok(g, k) || !pd_graph_ok(g, v)) return NULL;
    if (bias && !pd_graph_ok(g, bias)) return NULL;
    if (q->ndim != 3 || k->ndim != 3 || !pd_shape_equal(k, v) || q->shape[0] != k->shape[0] ||
        q->shape[2] != k->shape[2] || n_heads < 1 || q->shape[2] % n_heads != 0)
        return pd_graph_fail(g, "attention: q %s, k %s, v %s: want [B, Lq, H*Dh], [B, Lk, H*Dh] twice, H = %d",
                             pd_shape_of(q).s, pd_shape_of(k).s, pd_shape_of(v).s, n_heads);
    int H = n_heads;
    int64_t B = q->shape[0], Lq = q->shape[1], Lk = k->shape[1], HD = q->shape[2], Dh = HD / H;
    if (bias && (bias->ndim != 4 || bias->shape[0] != B || bias->shape[1] != Lq || bias->shape[2] != Lk ||
                 bias->shape[3] != H))
        return pd_graph_fail(g, "attention: bias %s, want [B, Lq, Lk, H] = [%lld, %lld, %lld, %d]",
                             pd_shape_of(bias).s, (long long)B, (long long)Lq, (long long)Lk, H);
    pd_real sc = (pd_real)(scale > 0 ? scale : 1.0 / sqrt((double)Dh));
    pd_tensor *o = pd_tensor_new_like(g, q);
    if (!o) return NULL;
    pd_real *probs = pd_graph_alloc(g, (size_t)(B * H * Lq * Lk + 1) * sizeof(pd_real));
    if (!probs) return NULL;
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g) && bias)
        return pd_graph_fail(g, "attention with a pair bias (model.diffusion.geometry) has no CUDA kernel yet: "
                                "run this model with run.device = \"cpu\"");
    if (pd_graph_on_cuda(g)) {
        /* The mask is host memory: copy it into the graph's (managed) arena for the kernels. */
        uint8_t *valid_dev = NULL;
        if (key_valid) {
            valid_dev = pd_graph_alloc(g, (size_t)(B * Lk));
            if (!valid_dev) return NULL;
            memcpy(valid_dev, key_valid, (size_t)(B * Lk));
        }
        pd_cuda_arena *work = pd_graph_cuda_work(g);
        if (!work) return NULL;
        size_t mark = work->used;
        pd_status st = pd_cuda_attention_forward(work, pd_graph_cuda_precision(g), q->data, k->data, v->data, valid_dev,
                                                 probs, o->data, B, Lq, Lk, H, Dh, sc);
        work->used = mark;
        if (!pd_graph_cuda_forward_done(g, st, "attention")) return NULL;
        pd_node *nd = pd_record(g, "attention", attention_backward, o, 3, (pd_tensor *[]){q, k, v});
        pd_node_on_device(nd);
        if (nd) {
            attention_saved *s = pd_node_save(g, nd, sizeof *s);
            if (!s) return NULL;
            *s = (attention_saved){H, B, Lq, Lk, Dh, sc, probs, NULL};
        }
        return o;
    }
#endif
    int parallel = B * H > 1 && B * H * Lq * Lk * Dh > PD_OMP_MIN_WORK && max_threads() > 1;
    int blas_threads = parallel ? pd_blas_set_threads(1) : 0;
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
    for (int64_t bh = 0; bh < B * H; bh++) {
        int64_t b = bh / H, h = bh % H;
        pd_real *P = probs + bh * Lq * Lk;
        int64_t qo = b * Lq * HD + h * Dh, ko = b * Lk * HD + h * Dh;
        pd_gemm(0, 1, Lq, Lk, Dh, sc, q->data + qo, HD, k->data + ko, HD, 0, P, Lk);
        if (bias)
            for (int64_t ij = 0; ij < Lq * Lk; ij++) P[ij] += bias->data[(b * Lq * Lk + ij) * H + h];
        const uint8_t *valid = key_valid ? key_valid + b * Lk : NULL;
        for (int64_t i = 0; i < Lq; i++) {
            pd_real *row = P + i * Lk;
            pd_real mx = -INFINITY;
            for (int64_t j = 0; j < Lk; j++)
                if ((!valid || valid[j]) && row[j] > mx) mx = row[j];
            if (mx == -INFINITY) {   /* every key is padding: attend to nothing */
                memset(row, 0, (size_t)Lk * sizeof(pd_real));
                continue;
            }
            pd_real sum = 0;
            for (int64_t j = 0; j < Lk; j++) {
                pd_real e = (!valid || valid[j]) ? pd_exp(row[j] - mx) : 0;
                row[j] = e;
                sum += e;
            }
            pd_real inv = 1 / sum;
            for (int64_t j = 0; j < Lk; j++) row[j] *= inv;
        }
        pd_gemm(0, 0, Lq, Dh, Lk, 1, P, Lk, v->data + ko, HD, 0, o->data + qo, HD);
    }
    if (parallel) pd_blas_set_threads(blas_threads);
    pd_node *n = bias ? pd_record_op(g, PD_OP_ATTENTION_BIASED, attention_backward, o, 4, (pd_tensor *[]){q, k, v, bias})
                      : pd_record(g, "attention", attention_backward, o, 3, (pd_tensor *[]){q, k, v});
    if (n) {
        attention_saved *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        *s = (attention_saved){H, B, Lq, Lk, Dh, sc, probs, bias};
    }
    return o;
}
