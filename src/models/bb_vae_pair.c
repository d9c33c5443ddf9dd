/* bb_vae_pair.c — the backbone VAE's pairwise head and its cross-entropy as one tape op. The
 * L^2 pair activations of an entry would need gigabytes at L = 1024, so the op walks each entry
 * in blocks of rows and keeps only per-residue tensors. When gradients are wanted, each block's
 * backward runs right after its forward (at upstream gradient 1) into small per-residue and
 * per-parameter buffers, and the tape's backward only scales and adds them: no recompute.
 * Math (pair a, b; q, k [N, D]; W1 = [W1p | W1d] [H, 2D]; T the relative-position table [66, H]):
 *   pre = W1p (q_b * k_a) + W1d k_a - W1d q_b + b1 + T[relpos(a, b)],  hid = gelu(pre),
 *   logits = W2 hid + b2,  relpos = pd_bb_relpos_class (SPEC.md section 5, as the encoder's edges). */
#include "models/bb_vae.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/pointwise.h"

/* Pair rows (a, b) per block: scratch ~ rows * (2D + 3H + 2*80) floats (~11 MB at width 64). */
static int64_t pair_block_rows = 8192;

void pd_bb_vae_set_pair_block_rows(int64_t rows) { pair_block_rows = rows > 0 ? rows : 8192; }

/* d(sum of CE / normaliser) with respect to each input, at upstream gradient 1. */
typedef struct pair_grads { pd_real *q, *k, *w1, *b1, *w2, *b2, *table; } pair_grads;

typedef struct pair_saved { pair_grads grads; } pair_saved;

/* Scratch of one row block. */
typedef struct pair_scratch {
    pd_real *prod, *pre, *hid, *logits, *grad_logits, *grad_hid, *grad_prod;
    int32_t *relpos;   /* [rows] relative-position class of each pair row */
} pair_scratch;

static void scratch_free(pair_scratch *s)
{
    free(s->prod);
    free(s->pre);
    free(s->hid);
    free(s->logits);
    free(s->grad_logits);
    free(s->grad_hid);
    free(s->grad_prod);
    free(s->relpos);
    memset(s, 0, sizeof *s);
}

static int scratch_alloc(pair_scratch *s, int64_t rows, int64_t D, int64_t H, int backward)
{
    memset(s, 0, sizeof *s);
    s->prod = malloc((size_t)(rows * D) * sizeof(pd_real));
    s->pre = malloc((size_t)(rows * H) * sizeof(pd_real));
    s->hid = malloc((size_t)(rows * H) * sizeof(pd_real));
    s->logits = malloc((size_t)(rows * PD_BB_VAE_PAIR_CLASSES) * sizeof(pd_real));
    s->relpos = malloc((size_t)rows * sizeof(int32_t));
    int ok = s->prod && s->pre && s->hid && s->logits && s->relpos;
    if (backward) {
        s->grad_logits = malloc((size_t)(rows * PD_BB_VAE_PAIR_CLASSES) * sizeof(pd_real));
        s->grad_hid = malloc((size_t)(rows * H) * sizeof(pd_real));
        s->grad_prod = malloc((size_t)(rows * D) * sizeof(pd_real));
        ok = ok && s->grad_logits && s->grad_hid && s->grad_prod;
    }
    if (!ok) scratch_free(s);
    return ok;
}

static int row_has_label(const int8_t *dist_row, int64_t L)
{
    for (int64_t b = 0; b < L; b++)
        if (dist_row[b] != PD_BB_LABEL_IGNORE) return 1;
    return 0;
}

/* Forward of one block: rows[r] (entry-local row a) for r < nb, all L columns of the entry
 * starting at node `off`. Fills prod, pre, hid, logits, relpos. qd/kd = q W1d^T, k W1d^T [N, H];
 * chain = the graph's node_chain; table [66, H] or NULL. */
static void block_forward(const pair_scratch *s, const int64_t *rows, int64_t nb, int64_t off, int64_t L, int64_t D,
                          int64_t H, const pd_real *q, const pd_real *k, const pd_real *w1, const pd_real *b1,
                          const pd_real *w2, const pd_real *b2, const pd_real *qd, const pd_real *kd,
                          const uint8_t *chain, const pd_real *table)
{
    int64_t M = nb * L;
    for (int64_t m = 0; m < M; m++) {
        int64_t a = rows[m / L], b = m % L;
        s->relpos[m] = pd_bb_relpos_class(a, b, chain[off + a], chain[off + b]);
    }
#pragma omp parallel for schedule(static) if (M * D > 65536)
    for (int64_t m = 0; m < M; m++) {
        const pd_real *ka = k + (off + rows[m / L]) * D, *qb = q + (off + m % L) * D;
        pd_real *p = s->prod + m * D;
        for (int64_t c = 0; c < D; c++) p[c] = qb[c] * ka[c];
    }
    /* pre = prod W1p^T, W1p = the first D columns of W1 (row stride 2D) */
    pd_gemm(0, 1, M, H, D, 1, s->prod, D, w1, 2 * D, 0, s->pre, H);
#pragma omp parallel for schedule(static) if (M * H > 65536)
    for (int64_t m = 0; m < M; m++) {
        const pd_real *ka = kd + (off + rows[m / L]) * H, *qb = qd + (off + m % L) * H;
        const pd_real *tc = table ? table + (int64_t)s->relpos[m] * H : NULL;
        pd_real *pr = s->pre + m * H, *hd = s->hid + m * H;
        for (int64_t h = 0; h < H; h++) {
            pr[h] += ka[h] - qb[h] + (b1 ? b1[h] : 0) + (tc ? tc[h] : 0);
            hd[h] = pd_gelu_f(pr[h]);
        }
    }
    pd_gemm(0, 1, M, PD_BB_VAE_PAIR_CLASSES, H, 1, s->hid, H, w2, H, 0, s->logits, PD_BB_VAE_PAIR_CLASSES);
#pragma omp parallel for schedule(static) if (M > 4096)
    for (int64_t m = 0; m < M; m++)
        for (int c = 0; c < PD_BB_VAE_PAIR_CLASSES; c++) s->logits[m * PD_BB_VAE_PAIR_CLASSES + c] += b2 ? b2[c] : 0;
}

/* Cross-entropy of one softmax group; writes (softmax - onehot) * scale into grad if given.
 * Returns the CE; *correct = argmax == target. */
static double group_ce(pd_real *z, int C, int target, pd_real scale, pd_real *grad, int *correct)
{
    pd_real mx = z[0];
    int arg = 0;
    for (int c = 1; c < C; c++)
        if (z[c] > mx) {
            mx = z[c];
            arg = c;
        }
    pd_real sum = 0;
    if (grad) {   /* exp once: grad holds exp(z - mx) until normalised */
        for (int c = 0; c < C; c++) sum += grad[c] = pd_exp(z[c] - mx);
        pd_real inv = scale / sum;
        for (int c = 0; c < C; c++) grad[c] *= inv;
        grad[target] -= scale;
    } else {
        for (int c = 0; c < C; c++) sum += pd_exp(z[c] - mx);
    }
    *correct = arg == target;
    return (double)(mx + pd_log(sum)) - (double)z[target];
}

/* The next block of at most max_rows entry-local rows that have a label, from row *a on. */
static int64_t next_block(const int8_t *dist, int64_t L, int64_t *a, int64_t *rows, int64_t max_rows)
{
    int64_t nb = 0;
    while (*a < L && nb < max_rows) {
        if (row_has_label(dist + *a * L, L)) rows[nb++] = *a;
        (*a)++;
    }
    return nb;
}

/* Backward of one block given s->grad_logits: accumulates into gr (and the difference-term
 * gradients gqd/gkd [N, H], folded into gr at the end of the pass). */
static void block_backward(const pair_scratch *s, const int64_t *rows, int64_t nb, int64_t off, int64_t L, int64_t D,
                           int64_t H, const pd_real *q, const pd_real *k, const pd_real *w1, const pd_real *w2,
                           const pair_grads *gr, pd_real *gqd, pd_real *gkd)
{
    const int C = PD_BB_VAE_PAIR_CLASSES;
    int64_t M = nb * L;
    pd_gemm(1, 0, C, H, M, 1, s->grad_logits, C, s->hid, H, 1, gr->w2, H);
    if (gr->b2)
        for (int64_t m = 0; m < M; m++)
            for (int c = 0; c < C; c++) gr->b2[c] += s->grad_logits[m * C + c];
    /* d hid = d logits W2, then d pre = d hid * gelu'(pre) (in place) */
    pd_gemm(0, 0, M, H, C, 1, s->grad_logits, C, w2, H, 0, s->grad_hid, H);
#pragma omp parallel for schedule(static) if (M * H > 65536)
    for (int64_t m = 0; m < M * H; m++) s->grad_hid[m] *= pd_gelu_df(s->pre[m]);
    const pd_real *gpre = s->grad_hid;
    if (gr->b1)
        for (int64_t m = 0; m < M; m++)
            for (int64_t h = 0; h < H; h++) gr->b1[h] += gpre[m * H + h];
    /* d T[c] = sum of d pre over the rows of class c: serial in row order (deterministic; rows of
     * one class are spread over the block, so threads would need atomics or private tables). */
    if (gr->table)
        for (int64_t m = 0; m < M; m++) {
            pd_real *gt = gr->table + (int64_t)s->relpos[m] * H;
            for (int64_t h = 0; h < H; h++) gt[h] += gpre[m * H + h];
        }
    for (int64_t r = 0; r < nb; r++) {
        pd_real *gka = gkd + (off + rows[r]) * H;
        for (int64_t b = 0; b < L; b++)
            for (int64_t h = 0; h < H; h++) gka[h] += gpre[(r * L + b) * H + h];
    }
    for (int64_t r = 0; r < nb; r++)
        for (int64_t b = 0; b < L; b++) {
            pd_real *gqb = gqd + (off + b) * H;
            for (int64_t h = 0; h < H; h++) gqb[h] -= gpre[(r * L + b) * H + h];
        }
    /* product term: d W1p += d pre^T prod; d prod = d pre W1p */
    pd_gemm(1, 0, H, D, M, 1, gpre, H, s->prod, D, 1, gr->w1, 2 * D);
    pd_gemm(0, 0, M, D, H, 1, gpre, H, w1, 2 * D, 0, s->grad_prod, D);
#pragma omp parallel for schedule(static) if (M * D > 65536)
    for (int64_t b = 0; b < L; b++) {
        pd_real *gqb = gr->q + (off + b) * D;
        for (int64_t r = 0; r < nb; r++) {
            const pd_real *ka = k + (off + rows[r]) * D, *gp = s->grad_prod + (r * L + b) * D;
            for (int64_t c = 0; c < D; c++) gqb[c] += gp[c] * ka[c];
        }
    }
#pragma omp parallel for schedule(static) if (M * D > 65536)
    for (int64_t r = 0; r < nb; r++) {
        pd_real *gka = gr->k + (off + rows[r]) * D;
        for (int64_t b = 0; b < L; b++) {
            const pd_real *qb = q + (off + b) * D, *gp = s->grad_prod + (r * L + b) * D;
            for (int64_t c = 0; c < D; c++) gka[c] += gp[c] * qb[c];
        }
    }
}

static void pair_backward(pd_graph *g, pd_node *n)
{
    const pair_grads *gr = &((const pair_saved *)n->saved)->grads;
    pd_real up = n->out->grad[0];
    const pd_real *src[7] = {gr->q, gr->k, gr->w1, gr->b1, gr->w2, gr->b2, gr->table};
    for (int i = 0; i < 7; i++) {
        pd_real *dst = pd_grad(g, n->in[i]);
        if (!dst || !src[i]) continue;
        for (int64_t j = 0; j < n->in[i]->numel; j++) dst[j] += up * src[i][j];
    }
}

pd_tensor *pd_bb_vae_pair_loss(pd_graph *g, const pd_bb_graph *graph, pd_tensor *q, pd_tensor *k,
                               const pd_linear_layer *l1, const pd_linear_layer *l2, pd_tensor *relpos_table,
                               double normaliser, pd_bb_vae_stats *stats)
{
    if (!pd_graph_ok(g, q) || !pd_graph_ok(g, k) || !pd_graph_ok(g, l1->w) || !pd_graph_ok(g, l2->w)) return NULL;
    int64_t N = graph->n_nodes, D = pd_tensor_cols(q), H = l1->w->shape[0];
    const int C = PD_BB_VAE_PAIR_CLASSES;
    if (!graph->dist_label)
        return pd_graph_fail(g, "bb_vae pair loss: the graph was built without labels (with_labels = 0)");
    if (relpos_table && !pd_graph_ok(g, relpos_table)) return NULL;
    if (relpos_table && (relpos_table->ndim != 2 || relpos_table->shape[0] != PD_BB_RELPOS_CLASSES ||
                         relpos_table->shape[1] != H))
        return pd_graph_fail(g, "bb_vae pair loss: the relative-position table must be [%d, %lld] (H = rows of W1)",
                             PD_BB_RELPOS_CLASSES, (long long)H);
    if (!graph->node_chain) return pd_graph_fail(g, "bb_vae pair loss: the graph has no node_chain array");
    if (q->ndim != 2 || k->ndim != 2 || q->shape[0] != N || !pd_shape_equal(q, k) || l1->w->ndim != 2 ||
        l1->w->shape[1] != 2 * D || l2->w->ndim != 2 || l2->w->shape[0] != C || l2->w->shape[1] != H ||
        (l1->b && l1->b->numel != H) || (l2->b && l2->b->numel != C))
        return pd_graph_fail(g, "bb_vae pair loss: q/k must be [%lld, D], W1 [H, 2D], W2 [%d, H]", (long long)N, C);
    pd_tensor *in[7] = {q, k, l1->w, l1->b, l2->w, l2->b, relpos_table};
    int want_grad = 0;
    for (int i = 0; i < 7; i++) want_grad |= in[i] && in[i]->requires_grad;
    want_grad = want_grad && pd_graph_grad_enabled(g);
    double norm = normaliser > 0 ? normaliser : (double)(graph->n_valid_pairs > 0 ? graph->n_valid_pairs : 1);
    pd_real scale = (pd_real)(1.0 / norm);

    /* gradient buffers live in the arena until the graph is reset */
    pair_grads gr = {0};
    pd_real *gqd = NULL, *gkd = NULL;
    if (want_grad) {
        pd_real **dst[7] = {&gr.q, &gr.k, &gr.w1, &gr.b1, &gr.w2, &gr.b2, &gr.table};
        for (int i = 0; i < 7; i++) {
            if (!in[i]) continue;
            *dst[i] = pd_graph_alloc(g, ((size_t)in[i]->numel + 1) * sizeof(pd_real));
            if (!*dst[i]) return NULL;
            memset(*dst[i], 0, (size_t)in[i]->numel * sizeof(pd_real));
        }
    }
    int64_t max_len = graph->max_length > 0 ? graph->max_length : 1;
    int64_t block_rows = pair_block_rows / max_len > 0 ? pair_block_rows / max_len : 1;
    pair_scratch s;
    pd_real *qd = malloc((size_t)(N * H + 1) * sizeof(pd_real)), *kd = malloc((size_t)(N * H + 1) * sizeof(pd_real));
    if (want_grad) {
        gqd = calloc((size_t)(N * H + 1), sizeof(pd_real));
        gkd = calloc((size_t)(N * H + 1), sizeof(pd_real));
    }
    int64_t *rows = malloc((size_t)block_rows * sizeof(int64_t));
    if (!qd || !kd || !rows || (want_grad && (!gqd || !gkd)) ||
        !scratch_alloc(&s, block_rows * max_len, D, H, want_grad)) {
        free(qd), free(kd), free(rows), free(gqd), free(gkd);
        return pd_graph_fail(g, "bb_vae pair loss: out of memory for %lld x %lld pair rows; use smaller batches",
                             (long long)block_rows, (long long)max_len);
    }
    const pd_real *w1 = l1->w->data, *b1 = l1->b ? l1->b->data : NULL, *w2 = l2->w->data;
    const pd_real *b2 = l2->b ? l2->b->data : NULL, *table = relpos_table ? relpos_table->data : NULL;
    /* kd = k W1d^T, qd = q W1d^T [N, H], W1d = columns D..2D-1 of W1 */
    pd_gemm(0, 1, N, H, D, 1, k->data, D, w1 + D, 2 * D, 0, kd, H);
    pd_gemm(0, 1, N, H, D, 1, q->data, D, w1 + D, 2 * D, 0, qd, H);
    double dist_ce = 0, orient_ce = 0;
    int64_t pairs = 0, dist_ok = 0, orient_ok = 0, near = 0, near_ok = 0;
    for (int e = 0; e < graph->n_entries; e++) {
        int64_t off = graph->node_offset[e], L = graph->node_offset[e + 1] - off;
        const int8_t *dist = graph->dist_label + graph->pair_offset[e];
        const int8_t *orient = graph->orient_label + graph->pair_offset[e];
        int64_t a = 0, nb;
        while ((nb = next_block(dist, L, &a, rows, block_rows)) > 0) {
            int64_t M = nb * L;
            block_forward(&s, rows, nb, off, L, D, H, q->data, k->data, w1, b1, w2, b2, qd, kd, graph->node_chain,
                          table);
            for (int64_t m = 0; m < M; m++) {
                int64_t p = rows[m / L] * L + m % L;
                pd_real *gz = want_grad ? s.grad_logits + m * C : NULL;
                if (dist[p] == PD_BB_LABEL_IGNORE) {
                    if (gz) memset(gz, 0, (size_t)C * sizeof(pd_real));
                    continue;
                }
                int ok_d, ok_o;
                dist_ce += group_ce(s.logits + m * C, PD_BB_DIST_CLASSES, dist[p], scale, gz, &ok_d);
                orient_ce += group_ce(s.logits + m * C + PD_BB_DIST_CLASSES, PD_BB_ORIENT_CLASSES, orient[p], scale,
                                      gz ? gz + PD_BB_DIST_CLASSES : NULL, &ok_o);
                pairs++;
                dist_ok += ok_d;
                orient_ok += ok_o;
                if (dist[p] < PD_BB_DIST_CLASSES - 1) {
                    near++;
                    near_ok += ok_d;
                }
            }
            if (want_grad) block_backward(&s, rows, nb, off, L, D, H, q->data, k->data, w1, w2, &gr, gqd, gkd);
        }
    }
    if (want_grad) {   /* fold the difference term: kd = k W1d^T, qd = q W1d^T */
        pd_gemm(1, 0, H, D, N, 1, gkd, H, k->data, D, 1, gr.w1 + D, 2 * D);
        pd_gemm(1, 0, H, D, N, 1, gqd, H, q->data, D, 1, gr.w1 + D, 2 * D);
        pd_gemm(0, 0, N, D, H, 1, gkd, H, w1 + D, 2 * D, 1, gr.k, D);
        pd_gemm(0, 0, N, D, H, 1, gqd, H, w1 + D, 2 * D, 1, gr.q, D);
    }
    scratch_free(&s);
    free(qd), free(kd), free(rows), free(gqd), free(gkd);
    if (stats) {
        stats->dist_ce = dist_ce;
        stats->orient_ce = orient_ce;
        stats->pairs = pairs;
        stats->dist_correct = dist_ok;
        stats->orient_correct = orient_ok;
        stats->near_pairs = near;
        stats->near_correct = near_ok;
    }
    pd_tensor *y = pd_tensor_new1(g, 1);
    if (!y) return NULL;
    y->data[0] = (pd_real)((dist_ce + orient_ce) / norm);
    pd_node *n = want_grad ? pd_record(g, "bb_vae_pair_loss", pair_backward, y, 7, in) : NULL;
    if (n) {
        pair_saved *sv = pd_node_save(g, n, sizeof *sv);
        if (!sv) return NULL;
        sv->grads = gr;
    }
    return y;
}

pd_status pd_bb_vae_pair_probs(const pd_bb_graph *graph, const pd_tensor *q, const pd_tensor *k,
                               const pd_linear_layer *l1, const pd_linear_layer *l2, const pd_tensor *relpos_table,
                               float *label_logp, float *contact_p)
{
    if (!graph->dist_label) return pd_fail(PD_ERR, "bb_vae pair probs: the graph was built without labels");
    const int64_t N = graph->n_nodes, D = pd_tensor_cols(q), H = l1->w->shape[0];
    const int C = PD_BB_VAE_PAIR_CLASSES;
    if (!graph->node_chain || q->ndim != 2 || q->shape[0] != N || !pd_shape_equal(q, k) || l1->w->shape[1] != 2 * D ||
        l2->w->shape[0] != C)
        return pd_fail(PD_ERR, "bb_vae pair probs: q/k must be [%lld, D], W1 [H, 2D], W2 [%d, H]", (long long)N, C);
    const int64_t max_len = graph->max_length > 0 ? graph->max_length : 1;
    const int64_t block_rows = pair_block_rows / max_len > 0 ? pair_block_rows / max_len : 1;
    pair_scratch s;
    pd_real *qd = malloc((size_t)(N * H + 1) * sizeof(pd_real)), *kd = malloc((size_t)(N * H + 1) * sizeof(pd_real));
    int64_t *rows = malloc((size_t)block_rows * sizeof(int64_t));
    if (!qd || !kd || !rows || !scratch_alloc(&s, block_rows * max_len, D, H, 0)) {
        free(qd), free(kd), free(rows);
        return pd_fail(PD_ERR_NOMEM, "bb_vae pair probs: out of memory for %lld x %lld pair rows", (long long)block_rows,
                       (long long)max_len);
    }
    const pd_real *w1 = l1->w->data, *b1 = l1->b ? l1->b->data : NULL, *w2 = l2->w->data;
    const pd_real *b2 = l2->b ? l2->b->data : NULL, *table = relpos_table ? relpos_table->data : NULL;
    pd_gemm(0, 1, N, H, D, 1, k->data, D, w1 + D, 2 * D, 0, kd, H);
    pd_gemm(0, 1, N, H, D, 1, q->data, D, w1 + D, 2 * D, 0, qd, H);
    const int64_t total = graph->pair_offset[graph->n_entries];
    for (int64_t p = 0; p < total; p++) {
        if (label_logp) label_logp[p] = NAN;
        if (contact_p) contact_p[p] = NAN;
    }
    for (int e = 0; e < graph->n_entries; e++) {
        const int64_t off = graph->node_offset[e], L = graph->node_offset[e + 1] - off, base = graph->pair_offset[e];
        const int8_t *dist = graph->dist_label + base;
        int64_t a = 0, nb;
        while ((nb = next_block(dist, L, &a, rows, block_rows)) > 0) {
            block_forward(&s, rows, nb, off, L, D, H, q->data, k->data, w1, b1, w2, b2, qd, kd, graph->node_chain, table);
            for (int64_t m = 0; m < nb * L; m++) {
                const int64_t p = rows[m / L] * L + m % L;
                if (dist[p] == PD_BB_LABEL_IGNORE) continue;
                const pd_real *z = s.logits + m * C;   /* the 64 distance logits come first */
                double mx = z[0], sum = 0, near = 0;
                for (int c = 1; c < PD_BB_DIST_CLASSES; c++) mx = fmax(mx, (double)z[c]);
                for (int c = 0; c < PD_BB_DIST_CLASSES; c++) {
                    double ex = exp((double)z[c] - mx);
                    sum += ex;
                    if (c <= PD_BB_CONTACT_CLASS_MAX) near += ex;
                }
                if (label_logp) label_logp[base + p] = (float)((double)z[dist[p]] - mx - log(sum));
                if (contact_p) contact_p[base + p] = (float)(near / sum);
            }
        }
    }
    scratch_free(&s);
    free(qd), free(kd), free(rows);
    return PD_OK;
}
