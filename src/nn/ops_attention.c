/* ops_attention.c — rotary position embedding on part of each head, and multi-head softmax
 * attention with key padding masks and an optional additive pair bias per head: the op
 * functions (validate, allocate, fill a descriptor, record one node; op_run.h) and their CPU
 * kernels, registered in backend_cpu.c's table (a device backend computes them from the same
 * descriptors, kernel_desc.h). Attention keeps the probabilities P [B, H, Lq, Lk] for backward;
 * each (batch, head) pair is an independent pair of GEMMs, run in parallel. */
#include "nn/ops.h"

#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "nn/arena.h"
#include "nn/backend_cpu.h"
#include "nn/kernel_desc.h"
#include "nn/op_run.h"
#include "nn/ops_internal.h"
#include "nn/pointwise_index.h"

/* ---- rotary embedding ---- */

/* dst = R src (forward) or dst += Rᵀ src (backward, transpose = 1) on each head's first rope_dim dims. */
static void rope_apply(const pd_rope_desc *d, pd_real *dst, const pd_real *src, int transpose)
{
    const int64_t Dh = d->head_dim, C = Dh * d->n_heads, rows = d->rows;
    const int half = d->rope_dim / 2, n_heads = d->n_heads, rope_dim = d->rope_dim;
#pragma omp parallel for schedule(static) if (rows * C > PD_OMP_MIN_WORK)
    for (int64_t r = 0; r < rows; r++) {
        const pd_real *cr = d->cos_t + r * half, *sr = d->sin_t + r * half;
        for (int h = 0; h < n_heads; h++) {
            const pd_real *s = src + r * C + h * Dh;
            pd_real *o = dst + r * C + h * Dh;
            for (int j = 0; j < half; j++) {
                pd_real ya, yb;
                pd_rope_rotate(s[j], s[j + half], cr[j], transpose ? -sr[j] : sr[j], &ya, &yb);
                if (transpose) {
                    o[j] += ya;
                    o[j + half] += yb;
                } else {
                    o[j] = ya;
                    o[j + half] = yb;
                }
            }
            for (int64_t j = rope_dim; j < Dh; j++) {
                if (transpose) o[j] += s[j];
                else o[j] = s[j];
            }
        }
    }
}

pd_status pd_cpu_rope_forward(const void *desc)
{
    const pd_rope_desc *d = desc;
    rope_apply(d, d->y, d->x, 0);
    return PD_OK;
}

pd_status pd_cpu_rope_backward(const void *desc)
{
    const pd_rope_desc *d = desc;
    if (d->gx) rope_apply(d, d->gx, d->gy, 1);
    return PD_OK;
}

static void rope_backward(pd_graph *g, pd_node *n)
{
    pd_rope_desc d = *(const pd_rope_desc *)n->saved;
    d.gx = pd_grad(g, n->in[0]);
    if (!d.gx) return;
    d.gy = n->out->grad;
    pd_op_backward(g, n, &d);
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
    /* Angles in double: pos * base^(-2j/rope_dim) loses ~pos ulp in f32 at long lengths. The
     * tables live in the graph's memory, which a device backend reads. */
    for (int64_t r = 0; r < rows; r++) {
        double p = pos ? (double)pos[r] : (double)(r % L);
        for (int j = 0; j < half; j++) {
            double theta = pd_rope_theta(p, base, j, rope_dim);
            cos_t[r * half + j] = (pd_real)cos(theta);
            sin_t[r * half + j] = (pd_real)sin(theta);
        }
    }
    pd_rope_desc d = {.rows = rows, .head_dim = Dh, .n_heads = n_heads, .rope_dim = rope_dim, .cos_t = cos_t,
                      .sin_t = sin_t, .x = x->data, .y = y->data};
    if (!pd_op_forward(g, PD_OP_ROPE, &d)) return NULL;
    pd_node *n = pd_record_op(g, PD_OP_ROPE, rope_backward, y, 1, (pd_tensor *[]){x});
    if (n) {
        pd_rope_desc *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        *s = d;
    }
    return y;
}

/* ---- attention ---- */

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

pd_status pd_cpu_attention_forward(const void *desc)
{
    const pd_attention_desc *d = desc;
    const int H = d->n_heads;
    const int64_t B = d->B, Lq = d->Lq, Lk = d->Lk, Dh = d->head_dim, HD = H * Dh;
    const pd_real sc = d->scale;
    int parallel = B * H > 1 && B * H * Lq * Lk * Dh > PD_OMP_MIN_WORK && max_threads() > 1;
    int blas_threads = parallel ? pd_blas_set_threads(1) : 0;
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
    for (int64_t bh = 0; bh < B * H; bh++) {
        int64_t b = bh / H, h = bh % H;
        pd_real *P = d->probs + bh * Lq * Lk;
        int64_t qo = b * Lq * HD + h * Dh, ko = b * Lk * HD + h * Dh;
        pd_gemm(0, 1, Lq, Lk, Dh, sc, d->q + qo, HD, d->k + ko, HD, 0, P, Lk);
        if (d->bias)
            for (int64_t ij = 0; ij < Lq * Lk; ij++) P[ij] += d->bias[(b * Lq * Lk + ij) * H + h];
        const uint8_t *valid = d->key_valid ? d->key_valid + b * Lk : NULL;
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
        pd_gemm(0, 0, Lq, Dh, Lk, 1, P, Lk, d->v + ko, HD, 0, d->o + qo, HD);
    }
    if (parallel) pd_blas_set_threads(blas_threads);
    return PD_OK;
}

pd_status pd_cpu_attention_backward(const void *desc)
{
    const pd_attention_desc *d = desc;
    const int H = d->n_heads;
    const int64_t B = d->B, Lq = d->Lq, Lk = d->Lk, Dh = d->head_dim, HD = H * Dh;
    int nt = max_threads();
    const pd_arena_mark mark = pd_arena_mark_here(d->host_scratch);
    pd_real *scratch = pd_arena_alloc(d->host_scratch, (size_t)(nt * Lq * Lk + 1) * sizeof(pd_real));
    if (!scratch) return pd_fail(PD_ERR_NOMEM, "no memory for the attention backward's score gradients");
    const pd_real *go = d->go;
    pd_real *gq = d->gq, *gk = d->gk, *gv = d->gv, *gbias = d->gbias;
    int parallel = B * H > 1 && B * H * Lq * Lk * Dh > PD_OMP_MIN_WORK && nt > 1;
    int blas_threads = parallel ? pd_blas_set_threads(1) : 0;
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
    for (int64_t bh = 0; bh < B * H; bh++) {
        int64_t b = bh / H, h = bh % H;
        const pd_real *P = d->probs + bh * Lq * Lk;
        pd_real *dP = scratch + (int64_t)thread_id() * Lq * Lk;
        int64_t qo = b * Lq * HD + h * Dh, ko = b * Lk * HD + h * Dh;
        /* dP = dO V^T ; dV += P^T dO */
        pd_gemm(0, 1, Lq, Lk, Dh, 1, go + qo, HD, d->v + ko, HD, 0, dP, Lk);
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
        if (gq) pd_gemm(0, 0, Lq, Dh, Lk, d->scale, dP, Lk, d->k + ko, HD, 1, gq + qo, HD);
        if (gk) pd_gemm(1, 0, Lk, Dh, Lq, d->scale, dP, Lk, d->q + qo, HD, 1, gk + ko, HD);
    }
    if (parallel) pd_blas_set_threads(blas_threads);
    pd_arena_rewind(d->host_scratch, mark);
    return PD_OK;
}

static void attention_backward(pd_graph *g, pd_node *n)
{
    pd_attention_desc d = *(const pd_attention_desc *)n->saved;
    d.go = n->out->grad;
    d.gq = pd_grad(g, n->in[0]);
    d.gk = pd_grad(g, n->in[1]);
    d.gv = pd_grad(g, n->in[2]);
    d.gbias = n->n_in > 3 ? pd_grad(g, n->in[3]) : NULL;
    if (!d.gq && !d.gk && !d.gv && !d.gbias) return;
    pd_op_backward(g, n, &d);
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
    const pd_op op = bias ? PD_OP_ATTENTION_BIASED : PD_OP_ATTENTION;
    /* Ask before allocating: a device backend without the op fails here, naming it. */
    if (!pd_graph_op_backend(g, op)) return NULL;
    pd_tensor *o = pd_tensor_new_like(g, q);
    if (!o) return NULL;
    pd_real *probs = pd_graph_alloc(g, (size_t)(B * H * Lq * Lk + 1) * sizeof(pd_real));
    if (!probs) return NULL;
    const uint8_t *valid = NULL;
    if (key_valid && !(valid = pd_graph_backend_copy(g, (void *)key_valid, (size_t)(B * Lk)))) return NULL;
    pd_attention_desc d = {.B = B, .Lq = Lq, .Lk = Lk, .head_dim = Dh, .n_heads = H,
                           .scale = (pd_real)(scale > 0 ? scale : 1.0 / sqrt((double)Dh)), .key_valid = valid,
                           .host_scratch = pd_graph_arena(g), .q = q->data, .k = k->data, .v = v->data,
                           .bias = bias ? bias->data : NULL, .probs = probs, .o = o->data};
    if (!pd_op_forward(g, op, &d)) return NULL;
    pd_node *n = bias ? pd_record_op(g, op, attention_backward, o, 4, (pd_tensor *[]){q, k, v, bias})
                      : pd_record_op(g, op, attention_backward, o, 3, (pd_tensor *[]){q, k, v});
    if (n) {
        pd_attention_desc *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        *s = d;
    }
    return o;
}
