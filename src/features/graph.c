/* graph.c — builds the backbone graph of SPEC.md section 5 for a batch on the fly: k nearest
 * valid residues by CA distance with a per-row partial selection (O(L) time per row, O(N k)
 * memory, no L x L matrix), then the edge features and the decoder's pair labels. */
#include "features/graph.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "features/geometry.h"

#define ATOMS_PER_NODE 4   /* N, CA, C, virtual CB */

pd_bb_backbone pd_bb_backbone_of_entry(const pd_entry *e)
{
    pd_bb_backbone b = {e->length, e->atom14, e->mask, e->chain};
    return b;
}

int pd_bb_dist_class(double distance)
{
    /* centres 2 + m * 20/63: the nearest is the rounded fractional index, clamped. */
    double x = floor((distance - 2.0) * (PD_BB_DIST_CLASSES - 1) / 20.0 + 0.5);
    if (!(x > 0)) return 0;
    if (x > PD_BB_DIST_CLASSES - 1) return PD_BB_DIST_CLASSES - 1;
    return (int)x;
}

int pd_bb_orient_class(double cosine)
{
    double x = floor((cosine + 1.0) * (PD_BB_ORIENT_CLASSES - 1) / 2.0 + 0.5);
    if (!(x > 0)) return 0;
    if (x > PD_BB_ORIENT_CLASSES - 1) return PD_BB_ORIENT_CLASSES - 1;
    return (int)x;
}

void pd_bb_graph_free(pd_bb_graph *g)
{
    if (!g) return;
    free(g->node_offset);
    free(g->node_valid);
    free(g->node_chain);
    free(g->atoms);
    free(g->frames);
    free(g->neighbor);
    free(g->edge_target);
    free(g->edge_valid);
    free(g->edge_rbf);
    free(g->edge_rot);
    free(g->edge_relpos);
    free(g->pair_offset);
    free(g->dist_label);
    free(g->orient_label);
    memset(g, 0, sizeof *g);
}

static int backbone_present(const pd_bb_backbone *e, int32_t r)
{
    if (e->mask && !(e->mask[r] & PD_MASK_BACKBONE)) return 0;
    const float *x = e->atom14 + (int64_t)r * PD_ATOM14 * 3;
    for (int c = 0; c < 9; c++)
        if (!isfinite(x[c])) return 0;
    return 1;
}

/* Per-node geometry: atoms (N, CA, C, CB) and the residue frame; zeros for invalid nodes. */
static void node_geometry(pd_bb_graph *g, const pd_bb_backbone *entries, const int32_t *entry_of)
{
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < g->n_nodes; i++) {
        const pd_bb_backbone *e = &entries[entry_of[i]];
        int32_t r = (int32_t)(i - g->node_offset[entry_of[i]]);
        float *at = g->atoms + i * ATOMS_PER_NODE * 3;
        g->node_valid[i] = (uint8_t)backbone_present(e, r);
        if (!g->node_valid[i]) {
            memset(at, 0, ATOMS_PER_NODE * 3 * sizeof(float));
            memset(g->frames + i * 9, 0, 9 * sizeof(float));
            continue;
        }
        const float *x = e->atom14 + (int64_t)r * PD_ATOM14 * 3;
        memcpy(at, x, 9 * sizeof(float));
        pd_virtual_cb(at, at + 3, at + 6, at + 9);
        pd_residue_frame(at, at + 3, at + 6, at + 9, g->frames + i * 9);
    }
}

static float ca_dist2(const float *atoms, int64_t i, int64_t j)
{
    const float *a = atoms + i * ATOMS_PER_NODE * 3 + 3, *b = atoms + j * ATOMS_PER_NODE * 3 + 3;
    float dx = a[0] - b[0], dy = a[1] - b[1], dz = a[2] - b[2];
    return dx * dx + dy * dy + dz * dz;
}

/* The k - 1 nearest other valid nodes of node i (ascending distance, then index), by insertion
 * into a sorted list: candidates mostly fail the first comparison, so a row costs O(L). */
static int select_neighbours(const pd_bb_graph *g, int64_t i, const int32_t *valid_nodes, int64_t n_valid, int want,
                             int32_t *best, float *best_d2)
{
    int n = 0;
    for (int64_t v = 0; v < n_valid; v++) {
        int32_t j = valid_nodes[v];
        if (j == i) continue;
        float d2 = ca_dist2(g->atoms, i, j);
        if (n == want && !(d2 < best_d2[n - 1])) continue;   /* ties keep the lower index */
        int pos = n < want ? n++ : want - 1;
        while (pos > 0 && d2 < best_d2[pos - 1]) {
            best_d2[pos] = best_d2[pos - 1];
            best[pos] = best[pos - 1];
            pos--;
        }
        best_d2[pos] = d2;
        best[pos] = j;
    }
    return n;
}

static void edge_features(pd_bb_graph *g, int64_t edge, int64_t i, int64_t j)
{
    float *rbf = g->edge_rbf + edge * PD_BB_EDGE_RBF, *rot = g->edge_rot + edge * PD_BB_EDGE_ROT;
    const float *ai = g->atoms + i * ATOMS_PER_NODE * 3, *aj = g->atoms + j * ATOMS_PER_NODE * 3;
    for (int p = 0; p < ATOMS_PER_NODE; p++)
        for (int q = 0; q < ATOMS_PER_NODE; q++) {
            float diff[3];
            pd_sub3(ai + p * 3, aj + q * 3, diff);
            float d = pd_norm3(diff);
            float *out = rbf + (p * ATOMS_PER_NODE + q) * PD_BB_RBF_COUNT;
            for (int r = 0; r < PD_BB_RBF_COUNT; r++) {
                float mu = 2.0f + 20.0f * (float)r / (float)(PD_BB_RBF_COUNT - 1);
                float z = (d - mu) / (float)PD_BB_RBF_SIGMA;
                out[r] = expf(-z * z);
            }
        }
    const float *fi = g->frames + i * 9, *fj = g->frames + j * 9;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) rot[a * 3 + b] = pd_dot3(fi + a * 3, fj + b * 3);
    g->edge_relpos[edge] = pd_bb_relpos_class(i, j, g->node_chain[i], g->node_chain[j]);
}

static void padding_edge(pd_bb_graph *g, int64_t edge, int64_t i)
{
    g->neighbor[edge] = (int32_t)i;
    g->edge_target[edge] = -1;
    g->edge_valid[edge] = 0;
    g->edge_relpos[edge] = 32;
    memset(g->edge_rbf + edge * PD_BB_EDGE_RBF, 0, PD_BB_EDGE_RBF * sizeof(float));
    memset(g->edge_rot + edge * PD_BB_EDGE_ROT, 0, PD_BB_EDGE_ROT * sizeof(float));
}

static int build_edges(pd_bb_graph *g, const int32_t *entry_of, const int32_t *valid_nodes,
                       const int64_t *valid_offset)
{
    int k = g->k, failed = 0;
#pragma omp parallel reduction(| : failed)
    {
        int32_t *best = malloc((size_t)k * sizeof *best);
        float *best_d2 = malloc((size_t)k * sizeof *best_d2);
        if (!best || !best_d2) failed = 1;
#pragma omp for schedule(dynamic, 32)
        for (int64_t i = 0; i < g->n_nodes; i++) {
            if (failed) continue;
            int64_t first = i * k;
            int n_real = 0;
            if (g->node_valid[i]) {
                int32_t b = entry_of[i];
                const int32_t *vn = valid_nodes + valid_offset[b];
                int64_t nv = valid_offset[b + 1] - valid_offset[b];
                int n_other = select_neighbours(g, i, vn, nv, k - 1, best, best_d2);
                n_real = 1 + n_other;
                g->neighbor[first] = (int32_t)i;
                for (int s = 0; s < n_other; s++) g->neighbor[first + 1 + s] = best[s];
                for (int s = 0; s < n_real; s++) {
                    g->edge_target[first + s] = (int32_t)i;
                    g->edge_valid[first + s] = 1;
                    edge_features(g, first + s, i, g->neighbor[first + s]);
                }
            }
            for (int s = n_real; s < k; s++) padding_edge(g, first + s, i);
        }
        free(best);
        free(best_d2);
    }
    return failed;
}

static void build_labels(pd_bb_graph *g, const int32_t *entry_of)
{
#pragma omp parallel for schedule(dynamic, 16)
    for (int64_t i = 0; i < g->n_nodes; i++) {
        int32_t b = entry_of[i];
        int64_t off = g->node_offset[b], L = g->node_offset[b + 1] - off, a = i - off;
        int8_t *dist = g->dist_label + g->pair_offset[b] + a * L;
        int8_t *orient = g->orient_label + g->pair_offset[b] + a * L;
        float ua[3], ub[3], diff[3];
        const float *xa = g->atoms + i * ATOMS_PER_NODE * 3;
        if (g->node_valid[i]) {
            pd_sub3(xa + 9, xa + 3, diff);
            pd_unit3(diff, ua);
        }
        for (int64_t c = 0; c < L; c++) {
            int64_t j = off + c;
            if (!g->node_valid[i] || !g->node_valid[j] || c == a) {
                dist[c] = orient[c] = PD_BB_LABEL_IGNORE;
                continue;
            }
            const float *xb = g->atoms + j * ATOMS_PER_NODE * 3;
            pd_sub3(xb + 9, xa + 9, diff);
            dist[c] = (int8_t)pd_bb_dist_class(pd_norm3(diff));
            pd_sub3(xb + 9, xb + 3, diff);
            pd_unit3(diff, ub);
            orient[c] = (int8_t)pd_bb_orient_class(pd_dot3(ua, ub));
        }
    }
}

pd_status pd_bb_graph_build(pd_bb_graph *g, int n_entries, const pd_bb_backbone *entries, int k, int with_labels)
{
    memset(g, 0, sizeof *g);
    if (n_entries < 0 || (n_entries > 0 && !entries))
        return pd_fail(PD_ERR, "bb graph: %d entries without an entry array", n_entries);
    if (k < 1 || k > 256)
        return pd_fail(PD_ERR, "bb graph: k = %d neighbours is outside 1..256 (model.bb_vae.neighbors)", k);
    g->k = k;
    g->n_entries = n_entries;
    g->node_offset = calloc((size_t)n_entries + 1, sizeof *g->node_offset);
    if (!g->node_offset) return pd_fail(PD_ERR_NOMEM, "bb graph: out of memory for %d entries", n_entries);
    int64_t pairs = 0;
    for (int b = 0; b < n_entries; b++) {
        if (entries[b].length < 0 || (entries[b].length > 0 && !entries[b].atom14)) {
            pd_bb_graph_free(g);
            return pd_fail(PD_ERR, "bb graph: entry %d has length %d and no coordinates", b, entries[b].length);
        }
        g->node_offset[b + 1] = g->node_offset[b] + entries[b].length;
        if (entries[b].length > g->max_length) g->max_length = entries[b].length;
        pairs += (int64_t)entries[b].length * entries[b].length;
    }
    int64_t N = g->node_offset[n_entries];
    if (N >= INT32_MAX / k) {
        pd_bb_graph_free(g);
        return pd_fail(PD_ERR, "bb graph: %lld residues x k = %d overflows 32-bit edge indices; use smaller batches",
                       (long long)N, k);
    }
    g->n_nodes = N;
    g->n_edges = N * k;
    size_t n1 = (size_t)N + 1, e1 = (size_t)g->n_edges + 1;
    g->node_valid = malloc(n1);
    g->node_chain = malloc(n1);
    g->atoms = malloc(n1 * ATOMS_PER_NODE * 3 * sizeof(float));
    g->frames = malloc(n1 * 9 * sizeof(float));
    g->neighbor = malloc(e1 * sizeof(int32_t));
    g->edge_target = malloc(e1 * sizeof(int32_t));
    g->edge_valid = malloc(e1);
    g->edge_rbf = malloc(e1 * PD_BB_EDGE_RBF * sizeof(float));
    g->edge_rot = malloc(e1 * PD_BB_EDGE_ROT * sizeof(float));
    g->edge_relpos = malloc(e1 * sizeof(int32_t));
    int32_t *entry_of = malloc(n1 * sizeof(int32_t));
    int32_t *valid_nodes = malloc(n1 * sizeof(int32_t));
    int64_t *valid_offset = malloc(((size_t)n_entries + 1) * sizeof(int64_t));
    int ok = g->node_valid && g->node_chain && g->atoms && g->frames && g->neighbor && g->edge_target &&
             g->edge_valid && g->edge_rbf && g->edge_rot && g->edge_relpos && entry_of && valid_nodes && valid_offset;
    if (ok && with_labels) {
        g->pair_offset = malloc(((size_t)n_entries + 1) * sizeof(int64_t));
        g->dist_label = malloc((size_t)pairs + 1);
        g->orient_label = malloc((size_t)pairs + 1);
        ok = g->pair_offset && g->dist_label && g->orient_label;
    }
    if (ok) {
        for (int b = 0; b < n_entries; b++)
            for (int64_t i = g->node_offset[b]; i < g->node_offset[b + 1]; i++) {
                entry_of[i] = b;
                g->node_chain[i] = entries[b].chain ? entries[b].chain[i - g->node_offset[b]] : 0;
            }
        node_geometry(g, entries, entry_of);
        valid_offset[0] = 0;
        for (int b = 0; b < n_entries; b++) {
            int64_t n = valid_offset[b];
            for (int64_t i = g->node_offset[b]; i < g->node_offset[b + 1]; i++)
                if (g->node_valid[i]) valid_nodes[n++] = (int32_t)i;
            valid_offset[b + 1] = n;
        }
        g->n_valid_nodes = valid_offset[n_entries];
        ok = !build_edges(g, entry_of, valid_nodes, valid_offset);
    }
    if (ok) {
        for (int64_t e = 0; e < g->n_edges; e++) g->n_valid_edges += g->edge_valid[e];
        if (with_labels) {
            g->pair_offset[0] = 0;
            for (int b = 0; b < n_entries; b++) {
                int64_t L = entries[b].length;
                g->pair_offset[b + 1] = g->pair_offset[b] + L * L;
            }
            build_labels(g, entry_of);
            for (int64_t p = 0; p < pairs; p++) g->n_valid_pairs += g->dist_label[p] != PD_BB_LABEL_IGNORE;
        }
    }
    free(entry_of);
    free(valid_nodes);
    free(valid_offset);
    if (!ok) {
        pd_bb_graph_free(g);
        return pd_fail(PD_ERR_NOMEM, "bb graph: out of memory for %lld residues (k = %d, %lld label pairs); "
                       "use smaller batches (train.batch_residues)", (long long)N, k, (long long)pairs);
    }
    return PD_OK;
}
