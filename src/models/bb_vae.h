/* bb_vae.h — the backbone VAE of SPEC.md section 7: a message-passing encoder over the section 5
 * graph to a per-residue Gaussian latent, a post-LN transformer decoder over each entry, a
 * pairwise distance/orientation head and a sequence head. Parameters, forward code and loss;
 * the training engine drives it (docs/models/bb_vae.md describes the architecture as built). */
#ifndef PD_MODELS_BB_VAE_H
#define PD_MODELS_BB_VAE_H

#include <stdint.h>

#include "core/config.h"
#include "core/error.h"
#include "features/graph.h"
#include "models/model_opts.h"
#include "nn/layers.h"
#include "nn/ops.h"
#include "nn/params.h"

#define PD_BB_VAE_AA 20            /* sequence head classes (ACDEFGHIKLMNPQRSTVWY) */
#define PD_BB_VAE_PAIR_CLASSES (PD_BB_DIST_CLASSES + PD_BB_ORIENT_CLASSES)
#define PD_BB_VAE_FFN_MULT 4       /* FFN hidden = 4 * width (encoder and decoder) */
#define PD_BB_VAE_LN_EPS 1e-5
/* Decoder rotary positions: residue index within the entry + PD_BB_VAE_ROPE_CHAIN_GAP * chain index
 * (chains far apart), rotating the whole head dimension with base PD_BB_VAE_ROPE_BASE. */
#define PD_BB_VAE_ROPE_CHAIN_GAP 1000
#define PD_BB_VAE_ROPE_BASE 10000.0

typedef struct pd_bb_vae_config {
    int width;            /* node, edge and decoder width */
    int layers;           /* encoder message-passing layers */
    int neighbors;        /* k of the graph */
    int latent;           /* latent size per residue */
    int decoder_layers;
    int heads;            /* decoder attention heads (must divide width; width / heads must be even) */
    double beta_kl;
} pd_bb_vae_config;

/* The schema defaults (width 64, 3 layers, k 16, latent 32, 2 decoder layers, 4 heads, 1e-3). */
void pd_bb_vae_config_default(pd_bb_vae_config *c);
/* model.bb_vae.* of a loaded run file; fails (naming the keys) when heads do not divide width or
 * the head dimension width / heads is odd (rotary embeddings rotate pairs of dimensions). */
pd_status pd_bb_vae_config_from(const pd_config *cfg, pd_bb_vae_config *c);

typedef struct pd_bb_vae_enc_layer {
    pd_linear_layer msg1, msg2, msg3;      /* [3W -> W -> W -> W] node message MLP */
    pd_norm_layer norm1;
    pd_linear_layer ffn1, ffn2;            /* [W -> 4W -> W] */
    pd_norm_layer norm2;
    int has_edge_update;                    /* every layer but the last */
    pd_linear_layer edge1, edge2, edge3;   /* [3W -> W -> W -> W] edge MLP */
    pd_norm_layer norm3;
} pd_bb_vae_enc_layer;

typedef struct pd_bb_vae_dec_layer {
    pd_linear_layer q, k, v, o;            /* [W -> W] each */
    pd_norm_layer norm1;
    pd_linear_layer ffn1, ffn2;
    pd_norm_layer norm2;
} pd_bb_vae_dec_layer;

typedef struct pd_bb_vae {
    pd_bb_vae_config cfg;
    pd_params params;
    /* unit "enc.embed": edge embedding and the learned start node */
    pd_norm_layer rbf_norm;                /* LayerNorm(256) */
    pd_linear_layer rbf_proj, rot_proj;    /* 256 -> W, 9 -> W */
    pd_tensor *relpos;                      /* Embedding [66, W] */
    pd_norm_layer edge_norm;               /* LayerNorm(3W) */
    pd_linear_layer edge_mlp1, edge_mlp2;  /* 3W -> W -> W */
    pd_tensor *node_start;                  /* [1, W] */
    pd_bb_vae_enc_layer *enc;               /* [layers], unit "enc.layers.<l>" */
    pd_linear_layer head;                  /* unit "enc.head": W -> 2*latent (mu | logvar) */
    pd_linear_layer dec_in;                /* unit "dec.embed": latent -> W */
    pd_bb_vae_dec_layer *dec;               /* [decoder_layers], unit "dec.layers.<l>" */
    /* unit "dec.heads" */
    pd_linear_layer pair_q, pair_k;        /* W -> W */
    pd_linear_layer pair1, pair2;          /* 2W -> W -> 80 (64 distance | 16 orientation) */
    pd_tensor *pair_relpos;                 /* [66, W]: added to pair1's output per relative-position class */
    pd_linear_layer seq;                   /* W -> 20 */
    int unit_of_enc_embed;                  /* unit ids, for pd_unit_begin / FSDP */
    int *unit_of_enc_layer, unit_of_enc_head, unit_of_dec_embed, *unit_of_dec_layer, unit_of_dec_heads;
} pd_bb_vae;

/* Declare every parameter (one unit per encoder layer and per decoder layer, plus the embed
 * and head units), finalize with units padded for opts->pad_multiple ranks, and initialise
 * from opts->seed (PyTorch default schemes: Linear U(+-1/sqrt(fan_in)), LayerNorm 1/0,
 * Embedding N(0, 1), start node zeros, pair relative-position table N(0, 1): see bb_vae.c).
 * The struct is public for the model's own files and its tests; others use the functions. */
pd_status pd_bb_vae_create(pd_bb_vae **m, const pd_bb_vae_config *cfg, const pd_model_opts *opts);
void pd_bb_vae_destroy(pd_bb_vae *m);
pd_params *pd_bb_vae_params(pd_bb_vae *m);
const pd_bb_vae_config *pd_bb_vae_get_config(const pd_bb_vae *m);

/* One batch: the graph (built with labels for training) and per-node amino acids. */
typedef struct pd_bb_vae_batch {
    const pd_bb_graph *graph;
    const uint8_t *aa;         /* [N] 0..19, 20 = X (X and invalid residues are not sequence targets) */
    /* Noise of the reparameterisation: either given (eps [N, latent], tests) or drawn from the
     * counter RNG keyed by (seed, step, row id, PD_RNG_NOISE) with row ids = the residues'
     * global dataset rows (NULL: node index), so any rank count draws the same noise. Without
     * eps, a graph in eval mode (pd_graph_set_training(g, 0)) decodes z = mu. */
    pd_tensor *eps;
    uint64_t seed, step;
    const uint64_t *row_ids;
} pd_bb_vae_batch;

/* Global counts the loss terms are divided by (distributed training sums them over ranks);
 * a field <= 0 means the local count of this batch. */
typedef struct pd_bb_vae_normaliser {
    double pairs;              /* valid pairs (the pairwise CE is a mean over them) */
    double seq_residues;       /* valid residues with a known amino acid (sequence CE) */
    double kl_residues;        /* valid residues (KL) */
} pd_bb_vae_normaliser;

/* Local sums of the batch (for metrics; the engine reduces them over ranks). */
typedef struct pd_bb_vae_stats {
    double dist_ce, orient_ce;         /* summed over valid pairs */
    int64_t pairs, dist_correct, orient_correct;
    int64_t near_pairs, near_correct;  /* pairs whose distance class is below the last (CB-CB < ~21.8 A) */
    double seq_ce;                     /* summed over sequence targets */
    int64_t seq_residues, seq_correct;
    double kl;                         /* summed over valid residues */
    int64_t kl_residues;
} pd_bb_vae_stats;

typedef struct pd_bb_vae_output {
    pd_tensor *loss;           /* [1]: pair CE / pairs + seq CE / seq_residues + beta_kl KL / kl_residues */
    pd_tensor *pair_loss, *seq_loss, *kl_loss;   /* [1] each, already normalised (kl without beta) */
    pd_tensor *mu, *logvar;    /* [N, latent] */
    pd_tensor *seq_logits;     /* [N, 20] */
    pd_bb_vae_stats stats;
} pd_bb_vae_output;

/* Training/evaluation forward on graph g's tape (grad as the graph says). norm may be NULL. */
pd_status pd_bb_vae_forward(pd_graph *g, pd_bb_vae *m, const pd_bb_vae_batch *batch,
                            const pd_bb_vae_normaliser *norm, pd_bb_vae_output *out);

/* Inference without gradients (design, evaluation, latent export): mu [N, latent] of every node
 * (rows of invalid residues are computed but meaningless) and, if seq_logits is not NULL, the
 * sequence-head logits [N, 20] of the decoder run on z = mu. Uses g's arena (reset it after);
 * the graph needs no labels. */
pd_status pd_bb_vae_encode(pd_graph *g, pd_bb_vae *m, const pd_bb_graph *graph, float *mu);
pd_status pd_bb_vae_predict(pd_graph *g, pd_bb_vae *m, const pd_bb_graph *graph, float *mu, float *seq_logits);

/* The encoder and decoder pieces (exposed for tests and tools). */
pd_tensor *pd_bb_vae_encoder(pd_graph *g, pd_bb_vae *m, const pd_bb_graph *graph);          /* [N, 2*latent] */
pd_tensor *pd_bb_vae_decoder(pd_graph *g, pd_bb_vae *m, const pd_bb_graph *graph, pd_tensor *z); /* [N, W] */

/* The fused pairwise head + cross-entropy (bb_vae_pair.c): for every entry of the graph and
 * every labelled pair (a, b), features [q_b * k_a, k_a - q_b] (elementwise, 2W) -> Linear W1,
 * plus row relpos(a, b) of the relative-position table [66, H] (pd_bb_relpos_class from the
 * graph's node_chain; NULL: no table) -> GELU -> Linear W2 -> 64 distance | 16 orientation
 * logits; returns [1] = sum over labelled pairs of (CE_dist + CE_orient) / normaliser (0: the
 * number of labelled pairs). Pairs are processed in row blocks, each block's backward right after
 * its forward, so memory is O(block * W), never O(L^2 * W). q, k [N, W]; stats (may be NULL)
 * receives the CE sums and argmax accuracies. */
pd_tensor *pd_bb_vae_pair_loss(pd_graph *g, const pd_bb_graph *graph, pd_tensor *q, pd_tensor *k,
                               const pd_linear_layer *l1, const pd_linear_layer *l2, pd_tensor *relpos_table,
                               double normaliser, pd_bb_vae_stats *stats);
/* The pair head's distance predictions for evaluation (no gradients): for every ordered pair p
 * of every entry (index graph->pair_offset[e] + a * L + b, as the labels) with a distance label,
 * label_logp[p] = log p(its label class) and contact_p[p] = p(class <= PD_BB_CONTACT_CLASS_MAX),
 * the probability that CB-CB < 7.87 A; NAN where the pair has no label. Either output may be
 * NULL. q, k [N, W] as for the loss. */
pd_status pd_bb_vae_pair_probs(const pd_bb_graph *graph, const pd_tensor *q, const pd_tensor *k,
                               const pd_linear_layer *l1, const pd_linear_layer *l2, const pd_tensor *relpos_table,
                               float *label_logp, float *contact_p);
/* Distance classes counted as a contact: centres 2 + m * 20/63 below 8 A (m <= 18, CB-CB < 7.87 A). */
#define PD_BB_CONTACT_CLASS_MAX 18
/* The whole model on a labelled graph (encoder mean, decoder, pair head) -> pd_bb_vae_pair_probs. */
pd_status pd_bb_vae_predict_pairs(pd_graph *g, pd_bb_vae *m, const pd_bb_graph *graph, float *label_logp,
                                  float *contact_p);
/* Pair rows per block of that op (default 8192; <= 0 restores it). Process-wide: for memory
 * tuning and for tests of the multi-block path. */
void pd_bb_vae_set_pair_block_rows(int64_t rows);

#endif
