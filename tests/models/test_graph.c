/* test_graph.c — the backbone graph of SPEC.md section 5 on real structures: kNN against brute
 * force, padding of short / invalid entries, invariance of edge features and labels under a
 * rigid motion, and every feature against the independent numpy code in bb_vae_ref.py. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "features/graph.h"
#include "test.h"
#include "test_bb_vae_bundle.h"
#include "test_bb_vae_data.h"

#define K 16
#define N_ENTRIES 4

static double ca_dist(const float *atom14, int i, int j)
{
    double s = 0;
    for (int c = 0; c < 3; c++) {
        double d = (double)atom14[(size_t)i * 42 + 3 + c] - (double)atom14[(size_t)j * 42 + 3 + c];
        s += d * d;
    }
    return sqrt(s);
}

typedef struct cand { double d; int j; } cand;
static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->d != y->d) return x->d < y->d ? -1 : 1;
    return x->j - y->j;
}

/* Neighbour lists against a double-precision brute force (sorted by distance, self first);
 * a different index in a slot is accepted only for a tie within 1e-4 A. */
static void check_knn(const pd_bb_graph *g, const test_backbone *bb)
{
    cand *c = malloc(sizeof(cand) * 2048);
    int bad = 0, ties = 0;
    for (int e = 0; e < g->n_entries; e++) {
        int64_t off = g->node_offset[e];
        const test_backbone *t = &bb[e];
        int nv = 0;
        for (int j = 0; j < t->length; j++) nv += (t->mask[j] & PD_MASK_BACKBONE) != 0;
        for (int i = 0; i < t->length; i++) {
            const int32_t *nb = g->neighbor + (off + i) * K;
            int valid = (t->mask[i] & PD_MASK_BACKBONE) != 0;
            CHECK(g->node_valid[off + i] == valid);
            int n = 0;
            if (valid)
                for (int j = 0; j < t->length; j++)
                    if (t->mask[j] & PD_MASK_BACKBONE) c[n++] = (cand){j == i ? -1.0 : ca_dist(t->atom14, i, j), j};
            qsort(c, (size_t)n, sizeof *c, cand_cmp);
            int real = valid ? (nv < K ? nv : K) : 0;
            for (int s = 0; s < K; s++) {
                int64_t edge = (off + i) * K + s;
                if (s >= real) {   /* padding */
                    int zero = 1;
                    for (int f = 0; f < PD_BB_EDGE_RBF; f++) zero &= g->edge_rbf[edge * PD_BB_EDGE_RBF + f] == 0;
                    bad += g->edge_valid[edge] != 0 || g->edge_target[edge] != -1 || nb[s] != off + i || !zero;
                    continue;
                }
                bad += g->edge_valid[edge] != 1 || g->edge_target[edge] != off + i;
                int j = nb[s] - (int)off;
                if (j == c[s].j) continue;
                if (s > 0 && j >= 0 && j < t->length && fabs(ca_dist(t->atom14, i, j) - c[s].d) < 1e-4) ties++;
                else bad++;
            }
        }
    }
    CHECK_MSG(bad == 0, "%d neighbour slots differ from brute force", bad);
    CHECK_MSG(ties < 3, "%d ties", ties);
    free(c);
}

static void rotate(test_backbone *t)
{
    double ax[3] = {0.3, -0.5, 0.8}, n = sqrt(0.09 + 0.25 + 0.64), th = 1.1, R[3][3];
    for (int i = 0; i < 3; i++) ax[i] /= n;
    double cs = cos(th), sn = sin(th);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) R[i][j] = (i == j ? cs : 0) + (1 - cs) * ax[i] * ax[j];
    R[0][1] -= sn * ax[2], R[0][2] += sn * ax[1], R[1][0] += sn * ax[2];
    R[1][2] -= sn * ax[0], R[2][0] -= sn * ax[1], R[2][1] += sn * ax[0];
    const double shift[3] = {12.5, -40.0, 27.25};
    for (int64_t a = 0; a < (int64_t)t->length * 14; a++) {
        float *x = t->atom14 + a * 3;
        double y[3];
        for (int i = 0; i < 3; i++) y[i] = R[i][0] * x[0] + R[i][1] * x[1] + R[i][2] * x[2] + shift[i];
        for (int i = 0; i < 3; i++) x[i] = (float)y[i];
    }
}

/* Distance / cosine of pair (a, b) near a class boundary (a label may flip by rounding). */
static int near_boundary(const pd_bb_graph *g, int64_t i, int64_t j)
{
    const float *xa = g->atoms + i * 12, *xb = g->atoms + j * 12;
    double d = 0, ua[3], ub[3], na = 0, nb = 0, dot = 0;
    for (int c = 0; c < 3; c++) {
        d += ((double)xa[9 + c] - xb[9 + c]) * ((double)xa[9 + c] - xb[9 + c]);
        ua[c] = (double)xa[9 + c] - xa[3 + c];
        ub[c] = (double)xb[9 + c] - xb[3 + c];
        na += ua[c] * ua[c];
        nb += ub[c] * ub[c];
    }
    for (int c = 0; c < 3; c++) dot += ua[c] * ub[c];
    dot /= sqrt(na * nb);
    double fd = (sqrt(d) - 2) * 63 / 20, fo = (dot + 1) * 15 / 2;
    return fabs(fd - floor(fd) - 0.5) < 1e-3 || fabs(fo - floor(fo) - 0.5) < 1e-3;
}

static void check_invariance(const pd_bb_graph *a, const pd_bb_graph *b)
{
    double rbf_err = 0, rot_err = 0;
    int nb_bad = 0, relpos_bad = 0, label_bad = 0, label_edge = 0;
    for (int64_t e = 0; e < a->n_edges; e++) {
        if (a->neighbor[e] != b->neighbor[e]) {
            nb_bad++;
            continue;
        }
        relpos_bad += a->edge_relpos[e] != b->edge_relpos[e];
        for (int f = 0; f < PD_BB_EDGE_RBF; f++)
            rbf_err = fmax(rbf_err, fabs(a->edge_rbf[e * PD_BB_EDGE_RBF + f] - b->edge_rbf[e * PD_BB_EDGE_RBF + f]));
        for (int f = 0; f < 9; f++) rot_err = fmax(rot_err, fabs(a->edge_rot[e * 9 + f] - b->edge_rot[e * 9 + f]));
    }
    for (int en = 0; en < a->n_entries; en++) {
        int64_t off = a->node_offset[en], L = a->node_offset[en + 1] - off;
        for (int64_t p = 0; p < L * L; p++) {
            int64_t q = a->pair_offset[en] + p;
            if (a->dist_label[q] == b->dist_label[q] && a->orient_label[q] == b->orient_label[q]) continue;
            if (near_boundary(a, off + p / L, off + p % L)) label_edge++;
            else label_bad++;
        }
    }
    printf("invariance: max |rbf diff| %.3g, max |rot diff| %.3g, %d label flips at class boundaries\n", rbf_err,
           rot_err, label_edge);
    CHECK_MSG(nb_bad <= 2, "%d neighbour slots changed under a rigid motion", nb_bad);
    CHECK(relpos_bad == 0);
    CHECK_MSG(rbf_err < 1e-4, "rbf changed by %g", rbf_err);
    CHECK_MSG(rot_err < 1e-4, "rotation changed by %g", rot_err);
    CHECK_MSG(label_bad == 0, "%d labels changed away from a class boundary", label_bad);
    CHECK(a->n_valid_pairs == b->n_valid_pairs);
}

static void dump_for_numpy(const pd_bb_graph *g, const test_backbone *bb, const char *path)
{
    int64_t N = g->n_nodes, E = g->n_edges, P = g->pair_offset[g->n_entries];
    float *bbxyz = malloc(sizeof(float) * (size_t)N * 9);
    uint8_t *mask = malloc((size_t)N), *chain = malloc((size_t)N);
    int32_t *offsets = malloc(sizeof(int32_t) * (N_ENTRIES + 1)), k = K;
    for (int e = 0, i = 0; e < g->n_entries; e++) {
        offsets[e] = (int32_t)g->node_offset[e];
        for (int r = 0; r < bb[e].length; r++, i++) {
            memcpy(bbxyz + (size_t)i * 9, bb[e].atom14 + (size_t)r * 42, 9 * sizeof(float));
            mask[i] = bb[e].mask[r];
            chain[i] = bb[e].chain[r];
        }
    }
    offsets[g->n_entries] = (int32_t)N;
    FILE *f = bundle_open(path);
    int err = !f;
    if (f) {
        err |= bundle_add_i32(f, "k", 1, (int64_t[]){1}, &k);
        err |= bundle_add_i32(f, "node_offset", 1, (int64_t[]){g->n_entries + 1}, offsets);
        err |= bundle_add_f32(f, "backbone", 3, (int64_t[]){N, 3, 3}, bbxyz);
        err |= bundle_add_u8(f, "mask", 1, (int64_t[]){N}, mask);
        err |= bundle_add_u8(f, "chain", 1, (int64_t[]){N}, chain);
        err |= bundle_add_u8(f, "node_chain", 1, (int64_t[]){N}, g->node_chain);
        err |= bundle_add_i32(f, "neighbor", 2, (int64_t[]){N, K}, g->neighbor);
        err |= bundle_add_u8(f, "edge_valid", 2, (int64_t[]){N, K}, g->edge_valid);
        err |= bundle_add_f32(f, "edge_rbf", 3, (int64_t[]){N, K, PD_BB_EDGE_RBF}, g->edge_rbf);
        err |= bundle_add_f32(f, "edge_rot", 3, (int64_t[]){N, K, 9}, g->edge_rot);
        err |= bundle_add_i32(f, "edge_relpos", 2, (int64_t[]){N, K}, g->edge_relpos);
        err |= bundle_add_u8(f, "dist_label", 1, (int64_t[]){P}, (const uint8_t *)g->dist_label);
        err |= bundle_add_u8(f, "orient_label", 1, (int64_t[]){P}, (const uint8_t *)g->orient_label);
        err |= bundle_close(f);
    }
    CHECK_MSG(!err, "writing %s", path);
    (void)E;
    free(bbxyz), free(mask), free(chain), free(offsets);
}

int main(void)
{
    test_backbone bb[N_ENTRIES];
    memset(bb, 0, sizeof bb);
    /* 0: both chains of 1CKB as one assembly entry (relpos 65 across chains); 1: 1bpi; 2: five
     * residues of 1bpi with two made invalid (3 valid < k: padding slots); 3: an empty entry. */
    int rc = test_backbone_load(&bb[0], "1CKB.pdb", 0, 0, 0, 0);
    if (!rc) rc = test_backbone_load(&bb[1], "1bpi.pdb", 0, 1, 0, 0);
    if (!rc) rc = test_backbone_load(&bb[2], "1bpi.pdb", 0, 1, 20, 5);
    if (rc) {
        for (int e = 0; e < N_ENTRIES; e++) test_backbone_free(&bb[e]);
        return rc;
    }
    bb[0].mask[10] = 0;   /* an invalid residue inside a chain */
    bb[2].mask[1] = 0;
    bb[2].mask[3] = 0;
    CHECK(bb[0].chain[bb[0].length - 1] == 1);
    pd_bb_backbone views[N_ENTRIES];
    for (int e = 0; e < N_ENTRIES; e++) views[e] = test_backbone_view(&bb[e]);

    pd_bb_graph g, gr;
    CHECK_MSG(pd_bb_graph_build(&g, N_ENTRIES, views, K, 1) == PD_OK, "%s", pd_last_error());
    CHECK(g.n_nodes == bb[0].length + bb[1].length + 5);
    check_knn(&g, bb);
    int64_t across = 0;
    for (int64_t e = 0; e < g.n_edges; e++) across += g.edge_valid[e] && g.edge_relpos[e] == PD_BB_RELPOS_OTHER_CHAIN;
    CHECK_MSG(across > 0, "no cross-chain edges in the 1CKB assembly");
    /* node_chain is the input chain array, entry by entry (the assembly entry has chains 0 and 1) */
    int chain_bad = 0;
    for (int e = 0; e < N_ENTRIES; e++)
        for (int r = 0; r < bb[e].length; r++) chain_bad += g.node_chain[g.node_offset[e] + r] != bb[e].chain[r];
    CHECK_MSG(chain_bad == 0, "%d nodes with a chain index other than the input's", chain_bad);
    /* the shared relative-position class (SPEC.md section 5), as the encoder's edges use it */
    CHECK(pd_bb_relpos_class(5, 7, 0, 0) == 34 && pd_bb_relpos_class(7, 5, 1, 1) == 30);
    CHECK(pd_bb_relpos_class(0, 100, 0, 0) == 64 && pd_bb_relpos_class(100, 0, 0, 0) == 0);
    CHECK(pd_bb_relpos_class(3, 3, 2, 2) == 32 && pd_bb_relpos_class(3, 4, 0, 1) == PD_BB_RELPOS_OTHER_CHAIN);
    int relpos_bad = 0;
    for (int64_t e = 0; e < g.n_edges; e++) {
        int64_t i = e / K, j = g.neighbor[e];
        if (g.edge_valid[e])
            relpos_bad += g.edge_relpos[e] != pd_bb_relpos_class(i, j, g.node_chain[i], g.node_chain[j]);
    }
    CHECK_MSG(relpos_bad == 0, "%d edges whose relative-position class is not pd_bb_relpos_class", relpos_bad);
    /* a backbone without a chain array is one chain */
    pd_bb_backbone no_chain = views[1];
    no_chain.chain = NULL;
    pd_bb_graph g1;
    CHECK_MSG(pd_bb_graph_build(&g1, 1, &no_chain, K, 0) == PD_OK, "%s", pd_last_error());
    int nonzero_chain = 0;
    for (int64_t i = 0; i < g1.n_nodes; i++) nonzero_chain += g1.node_chain[i] != 0;
    CHECK(g1.n_nodes == bb[1].length && nonzero_chain == 0);
    pd_bb_graph_free(&g1);
    CHECK(g.dist_label[g.pair_offset[1] + 0] == PD_BB_LABEL_IGNORE);   /* diagonal */
    CHECK(pd_bb_dist_class(2.0) == 0 && pd_bb_dist_class(22.0) == 63 && pd_bb_dist_class(100) == 63);
    CHECK(pd_bb_dist_class(2.0 + 20.0 / 63 * 0.49) == 0 && pd_bb_dist_class(2.0 + 20.0 / 63 * 0.51) == 1);
    CHECK(pd_bb_orient_class(-1) == 0 && pd_bb_orient_class(1) == 15 && pd_bb_orient_class(-0.01) == 7 && pd_bb_orient_class(0.01) == 8);

    /* rigid motion */
    for (int e = 0; e < N_ENTRIES; e++) rotate(&bb[e]);
    CHECK_MSG(pd_bb_graph_build(&gr, N_ENTRIES, views, K, 1) == PD_OK, "%s", pd_last_error());
    check_invariance(&g, &gr);
    pd_bb_graph_free(&gr);
    for (int e = 0; e < N_ENTRIES; e++) rotate(&bb[e]);   /* leave them moved: numpy sees these */
    CHECK_MSG(pd_bb_graph_build(&gr, N_ENTRIES, views, K, 1) == PD_OK, "%s", pd_last_error());

    /* independent numpy computation of every feature and label */
    char in[] = "/tmp/pd_bbgraph_XXXXXX";
    int fd = mkstemp(in);
    if (fd >= 0) {
        close(fd);
        dump_for_numpy(&gr, bb, in);
        int py = bundle_run_reference("graph", in, "-");
        if (py == 77) printf("numpy reference skipped (PYTHON_REF unset)\n");
        else CHECK_MSG(py == 0, "bb_vae_ref.py graph: exit %d", py);
        remove(in);
    }
    CHECK(fd >= 0);

    /* bad arguments */
    pd_bb_graph bad;
    CHECK(pd_bb_graph_build(&bad, N_ENTRIES, views, 0, 1) != PD_OK);
    pd_bb_graph_free(&g);
    pd_bb_graph_free(&gr);
    for (int e = 0; e < N_ENTRIES; e++) test_backbone_free(&bb[e]);
    return pd_test_finish("test_graph");
}
