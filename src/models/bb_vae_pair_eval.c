/* bb_vae_pair_eval.c — figures of the backbone VAE's pair head that can move in a CPU budget
 * (issue 17, item 5): the distance cross-entropy against the entropy of the distance-class
 * marginal and of the relative-position-conditioned marginal (the relative-position oracle), and
 * the precision of the top-L/5 predicted contacts (CB-CB < 7.87 A) at sequence separation >= 12,
 * beside the same precision for the oracle's ranking and for a random ranking (the contact rate).
 * Sums per entry; the caller adds entries (and ranks) up. */
#include "models/bb_vae_pair_eval.h"

#include <math.h>
#include <stdlib.h>

#include "features/graph.h"

typedef struct scored_pair {
    float score;
    int contact;
    int64_t index;   /* ties are broken by position: deterministic on any platform */
} scored_pair;

static int by_score_desc(const void *a, const void *b)
{
    const scored_pair *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return (x->index > y->index) - (x->index < y->index);
}

/* Contacts among the n best-scored of m pairs. */
static int64_t top_hits(scored_pair *p, int64_t m, int64_t n)
{
    qsort(p, (size_t)m, sizeof *p, by_score_desc);
    int64_t hits = 0;
    for (int64_t i = 0; i < n && i < m; i++) hits += p[i].contact;
    return hits;
}

void pd_bb_pair_marginals_add(pd_bb_pair_marginals *mg, const pd_bb_graph *graph, int e)
{
    const int64_t off = graph->node_offset[e], L = graph->node_offset[e + 1] - off;
    const int8_t *dist = graph->dist_label + graph->pair_offset[e];
    for (int64_t a = 0; a < L; a++)
        for (int64_t b = 0; b < L; b++) {
            const int8_t c = dist[a * L + b];
            if (c == PD_BB_LABEL_IGNORE) continue;
            mg->count[pd_bb_relpos_class(a, b, graph->node_chain[off + a], graph->node_chain[off + b])][c] += 1;
        }
}

pd_status pd_bb_pair_eval_entry(const pd_bb_graph *graph, int e, const float *label_logp, const float *contact_p,
                                const pd_bb_pair_marginals *mg, pd_bb_pair_sums *s)
{
    const int64_t off = graph->node_offset[e], L = graph->node_offset[e + 1] - off, base = graph->pair_offset[e];
    const int8_t *dist = graph->dist_label + base;
    const uint8_t *chain = graph->node_chain + off;
    /* the marginals with add-one smoothing: overall, and per relative-position class r */
    double all[PD_BB_DIST_CLASSES] = {0}, n_all = 0, n_r[PD_BB_RELPOS_CLASSES] = {0}, near_r[PD_BB_RELPOS_CLASSES] = {0};
    for (int r = 0; r < PD_BB_RELPOS_CLASSES; r++)
        for (int c = 0; c < PD_BB_DIST_CLASSES; c++) {
            all[c] += mg->count[r][c];
            n_all += mg->count[r][c];
            n_r[r] += mg->count[r][c];
            if (c <= PD_BB_CONTACT_CLASS_MAX) near_r[r] += mg->count[r][c];
        }
    scored_pair *model = malloc((size_t)(L * L / 2 + 1) * sizeof *model);
    scored_pair *oracle = malloc((size_t)(L * L / 2 + 1) * sizeof *oracle);
    if (!model || !oracle) {
        free(model);
        free(oracle);
        return pd_fail(PD_ERR_NOMEM, "bb_vae pair evaluation: out of memory for an entry of %lld residues", (long long)L);
    }
    int64_t m = 0, contacts = 0;
    for (int64_t a = 0; a < L; a++)
        for (int64_t b = 0; b < L; b++) {
            const int64_t p = a * L + b;
            const int8_t c = dist[p];
            if (c == PD_BB_LABEL_IGNORE || !isfinite(label_logp[base + p])) continue;
            const int r = pd_bb_relpos_class(a, b, chain[a], chain[b]);
            s->pairs += 1;
            s->model_ce -= label_logp[base + p];
            s->marginal_ce -= log((all[c] + 1) / (n_all + PD_BB_DIST_CLASSES));
            s->relpos_ce -= log((mg->count[r][c] + 1) / (n_r[r] + PD_BB_DIST_CLASSES));
            /* contacts: each unordered pair once (a < b), same chain, separation >= 12, both
             * directions labelled; the model's score is the mean of its two directions */
            const int64_t q = b * L + a;
            if (b - a < PD_BB_CONTACT_MIN_SEP || chain[a] != chain[b] || dist[q] == PD_BB_LABEL_IGNORE ||
                !isfinite(contact_p[base + q]))
                continue;
            model[m] = (scored_pair){0.5f * (contact_p[base + p] + contact_p[base + q]), c <= PD_BB_CONTACT_CLASS_MAX, m};
            oracle[m] = (scored_pair){(float)((near_r[r] + 1) / (n_r[r] + 2)), model[m].contact, m};
            contacts += model[m].contact;
            m++;
        }
    const int64_t n_top = L / 5 < m ? L / 5 : m;
    if (n_top > 0) {
        const int64_t hits = top_hits(model, m, n_top), oracle_hits = top_hits(oracle, m, n_top);
        s->entries += 1;
        s->top_pairs += n_top;
        s->model_hits += hits;
        s->oracle_hits += oracle_hits;
        s->model_precision += (double)hits / (double)n_top;
        s->oracle_precision += (double)oracle_hits / (double)n_top;
        s->random_precision += (double)contacts / (double)m;
    }
    free(model);
    free(oracle);
    return PD_OK;
}
