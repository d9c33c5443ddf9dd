/* graph.h — the backbone graph of SPEC.md section 5, built on the fly for a batch of entries:
 * the k nearest valid residues of every residue by CA distance (self first), the edge features
 * (atom-pair RBFs, relative rotation, relative-position class) and the decoder's pair labels. */
#ifndef PD_FEATURES_GRAPH_H
#define PD_FEATURES_GRAPH_H

#include <stdint.h>

#include "core/error.h"
#include "features/entry.h"

#define PD_BB_RBF_COUNT 16           /* RBFs per atom pair, centres linspace(2, 22, 16) */
#define PD_BB_RBF_SIGMA 1.25
#define PD_BB_EDGE_RBF 256           /* 4 x 4 atom pairs x 16 RBFs, (a_i*4 + a_j)*16 + r */
#define PD_BB_EDGE_ROT 9             /* F_i F_j^T, row-major */
#define PD_BB_RELPOS_CLASSES 66      /* clamp(j - i, -32, 32) + 32 in a chain; 65 across chains */
#define PD_BB_RELPOS_OTHER_CHAIN 65
#define PD_BB_DIST_CLASSES 64        /* nearest of linspace(2, 22, 64), CB-CB */
#define PD_BB_ORIENT_CLASSES 16      /* nearest of linspace(-1, 1, 16), unit(CB-CA) dot */
#define PD_BB_LABEL_IGNORE (-1)

/* One entry's backbone as the graph needs it (a view; nothing is owned or copied). */
typedef struct pd_bb_backbone {
    int32_t length;          /* L residues */
    const float *atom14;     /* [L*14*3]; slots 0, 1, 2 = N, CA, C (NaN where missing) */
    const uint8_t *mask;     /* [L] PD_MASK_BACKBONE bit = valid; NULL: valid when N, CA, C are finite */
    const uint8_t *chain;    /* [L] chain index within the entry; NULL: one chain */
} pd_bb_backbone;

/* The relative-position class of the ordered pair (i, j) of one entry (i, j entry-local or both
 * global indices: only their difference counts): clamp(j - i, -32, 32) + 32 when both residues
 * are in one chain, PD_BB_RELPOS_OTHER_CHAIN (65) across chains. Shared by the encoder's edges
 * and the decoder's pairwise head, so the two cannot drift apart. */
static inline int32_t pd_bb_relpos_class(int64_t i, int64_t j, uint8_t chain_i, uint8_t chain_j)
{
    if (chain_i != chain_j) return PD_BB_RELPOS_OTHER_CHAIN;
    int64_t separation = j - i;
    if (separation < -32) separation = -32;
    if (separation > 32) separation = 32;
    return (int32_t)(separation + 32);
}

/* The view of a featurized / dataset entry. */
pd_bb_backbone pd_bb_backbone_of_entry(const pd_entry *e);

/* A batch of entries packed node after node (entry b owns nodes node_offset[b] ..
 * node_offset[b+1]-1). Edge (i, s) is slot s < k of node i, nearest first; slot 0 is i itself.
 * A valid node with fewer than k valid residues in its entry, and every slot of an invalid
 * node, is padding: neighbor = i, edge_target = -1, edge_valid = 0, features all zero,
 * relpos 32 (self). Message passing sums over real slots only (pd_scatter_add_rows drops -1). */
typedef struct pd_bb_graph {
    int k;
    int n_entries;
    int64_t n_nodes;          /* N = sum of lengths */
    int64_t *node_offset;     /* [n_entries + 1] */
    int32_t max_length;
    uint8_t *node_valid;      /* [N] backbone valid */
    uint8_t *node_chain;      /* [N] chain index within the node's entry (0 when the backbone has no chain array) */
    float *atoms;             /* [N*4*3] N, CA, C, virtual CB per node (zeros for invalid nodes) */
    float *frames;            /* [N*9] residue frame rows x, y, z (SPEC.md section 2; zeros if invalid) */
    int64_t n_edges;          /* N * k */
    int64_t n_valid_edges;
    int32_t *neighbor;        /* [N*k] global node index j of edge i -> j */
    int32_t *edge_target;     /* [N*k] i for real edges, -1 for padding */
    uint8_t *edge_valid;      /* [N*k] */
    float *edge_rbf;          /* [N*k*256] */
    float *edge_rot;          /* [N*k*9] */
    int32_t *edge_relpos;     /* [N*k] 0..65 */
    /* Decoder labels for every ordered pair (a, b) of an entry, row-major per entry: -1 where a
     * residue is invalid and on the diagonal (a == b is trivially 0 A / parallel). NULL when the
     * graph was built without labels. */
    int64_t *pair_offset;     /* [n_entries + 1] first label of entry b (sum of L^2 before it) */
    int8_t *dist_label;       /* [sum L^2] */
    int8_t *orient_label;     /* [sum L^2] */
    int64_t n_valid_pairs;
    int64_t n_valid_nodes;
} pd_bb_graph;

/* Build the graph of `n_entries` backbones with k neighbours (1 <= k <= 256); with_labels = 0
 * skips the O(L^2)-byte decoder labels (encoding only). Memory is O(N k) apart from the labels;
 * rows run in parallel (OpenMP). Fails on bad sizes or allocation failure; *g is then empty. */
pd_status pd_bb_graph_build(pd_bb_graph *g, int n_entries, const pd_bb_backbone *entries, int k, int with_labels);
void pd_bb_graph_free(pd_bb_graph *g);

/* The class of a CB-CB distance (nearest of linspace(2, 22, 64)) and of the cosine between the
 * two CA->CB directions (nearest of linspace(-1, 1, 16)). */
int pd_bb_dist_class(double distance);
int pd_bb_orient_class(double cosine);

#endif
