/* bb_vae_pair.c — the backbone VAE's pairwise head and its cross-entropy as one tape op. The
 * L^2 pair activations of an entry would need gigabytes at L = 1024, so the op walks each entry
 * in blocks of rows and keeps only per-residue tensors. When gradients are wanted, each block's
 * backward runs right after its forward (at upstream gradient 1) into small per-residue and
 * per-parameter buffers, and the tape's backward only scales and adds them: no recompute.
 * Math (pair a, b; q, k [N, D]; W1 = [W1p | W1d] [H, 2D]; T the relative-position table [66, H]):
 *   pre = W1p (q_b * k_a) + W1d k_a - W1d q_b + b1 + T[relpos(a, b)],  hid = gelu(pre),
 *   logits = W2 hid + b2,  relpos = pd_bb_relpos_class (SPEC.md section 5, as the encoder's edges).
 * One block's forward, cross-entropy and backward: bb_vae_pair_block.c. */
#include "models/bb_vae.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/bb_vae_pair_block.h"

/* Pair rows (a, b) per block: scratch ~ rows * (2D + 3H + 2*80) floats (~11 MB at width 64). */
static int64_t pair_block_rows = 8192;

void pd_bb_vae_set_pair_block_rows(int64_t rows) { pair_block_rows = rows > 0 ? rows : 8192; }

typedef struct pair_saved { pd_bb_pair_grads grads; } pair_saved;

static int row_has_label(const int8_t *dist_row, int64_t L)
{
    for (int64_t b = 0; b < L; b++)
        if (dist_row[b] != PD_BB_LABEL_IGNORE) return 1;
    return 0;
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

static void pair_backward(pd_graph *g, pd_node *n)
{
    const pd_bb_pair_grads *gr = &((const pair_saved *)n->saved)->grads;
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
    pd_bb_pair_grads gr = {0};
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
    pd_bb_pair_scratch s;
    pd_real *qd = malloc((size_t)(N * H + 1) * sizeof(pd_real)), *kd = malloc((size_t)(N * H + 1) * sizeof(pd_real));
    if (want_grad) {
        gqd = calloc((size_t)(N * H + 1), sizeof(pd_real));
        gkd = calloc((size_t)(N * H + 1), sizeof(pd_real));
    }
    int64_t *rows = malloc((size_t)block_rows * sizeof(int64_t));
    if (!qd || !kd || !rows || (want_grad && (!gqd || !gkd)) ||
        !pd_bb_pair_scratch_alloc(&s, block_rows * max_len, D, H, want_grad)) {
        free(qd), free(kd), free(rows), free(gqd), free(gkd);
        return pd_graph_fail(g, "bb_vae pair loss: out of memory for %lld x %lld pair rows; use smaller batches",
                             (long long)block_rows, (long long)max_len);
    }
    const pd_real *w1 = l1->w->data, *b1 = l1->b ? l1->b->data : NULL, *w2 = l2->w->data;
    const pd_real *b2 = l2->b ? l2->b->data : NULL, *table = relpos_table ? relpos_table->data : NULL;
    /* kd = k W1d^T, qd = q W1d^T [N, H], W1d = columns D..2D-1 of W1 */
    pd_gemm(0, 1, N, H, D, 1, k->data, D, w1 + D, 2 * D, 0, kd, H);
    pd_gemm(0, 1, N, H, D, 1, q->data, D, w1 + D, 2 * D, 0, qd, H);
    pd_bb_pair_sums sums = {0};
    for (int e = 0; e < graph->n_entries; e++) {
        int64_t off = graph->node_offset[e], L = graph->node_offset[e + 1] - off;
        const int8_t *dist = graph->dist_label + graph->pair_offset[e];
        const int8_t *orient = graph->orient_label + graph->pair_offset[e];
        int64_t a = 0, nb;
        while ((nb = next_block(dist, L, &a, rows, block_rows)) > 0) {
            const pd_bb_pair_block blk = {.rows = rows, .nb = nb, .off = off, .L = L, .D = D, .H = H, .q = q->data,
                                          .k = k->data, .qd = qd, .kd = kd, .w1 = w1, .b1 = b1, .w2 = w2, .b2 = b2,
                                          .table = table, .chain = graph->node_chain};
            pd_bb_pair_block_forward(&s, &blk, want_grad);
            pd_bb_pair_block_ce(&s, &blk, dist, orient, scale, &sums);
            if (want_grad) pd_bb_pair_block_backward(&s, &blk, &gr, gqd, gkd);
        }
    }
    if (want_grad) {   /* fold the difference term: kd = k W1d^T, qd = q W1d^T */
        pd_gemm(1, 0, H, D, N, 1, gkd, H, k->data, D, 1, gr.w1 + D, 2 * D);
        pd_gemm(1, 0, H, D, N, 1, gqd, H, q->data, D, 1, gr.w1 + D, 2 * D);
        pd_gemm(0, 0, N, D, H, 1, gkd, H, w1 + D, 2 * D, 1, gr.k, D);
        pd_gemm(0, 0, N, D, H, 1, gqd, H, w1 + D, 2 * D, 1, gr.q, D);
    }
    pd_bb_pair_scratch_free(&s);
    free(qd), free(kd), free(rows), free(gqd), free(gkd);
    if (stats) {
        stats->dist_ce = sums.dist_ce;
        stats->orient_ce = sums.orient_ce;
        stats->pairs = sums.pairs;
        stats->dist_correct = sums.dist_ok;
        stats->orient_correct = sums.orient_ok;
        stats->near_pairs = sums.near;
        stats->near_correct = sums.near_ok;
    }
    pd_tensor *y = pd_tensor_new1(g, 1);
    if (!y) return NULL;
    y->data[0] = (pd_real)((sums.dist_ce + sums.orient_ce) / norm);
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
    pd_bb_pair_scratch s;
    pd_real *qd = malloc((size_t)(N * H + 1) * sizeof(pd_real)), *kd = malloc((size_t)(N * H + 1) * sizeof(pd_real));
    int64_t *rows = malloc((size_t)block_rows * sizeof(int64_t));
    if (!qd || !kd || !rows || !pd_bb_pair_scratch_alloc(&s, block_rows * max_len, D, H, 0)) {
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
            const pd_bb_pair_block blk = {.rows = rows, .nb = nb, .off = off, .L = L, .D = D, .H = H, .q = q->data,
                                          .k = k->data, .qd = qd, .kd = kd, .w1 = w1, .b1 = b1, .w2 = w2, .b2 = b2,
                                          .table = table, .chain = graph->node_chain};
            pd_bb_pair_block_forward(&s, &blk, 0);
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
    pd_bb_pair_scratch_free(&s);
    free(qd), free(kd), free(rows);
    return PD_OK;
}
