/* bb_vae_pair_eval.h — how good the backbone VAE's pair head is, in figures that move within a
 * CPU budget (issue 17, item 5; the exact 0.32 A distance bin is too fine to): distance
 * cross-entropy per pair against two baselines, and top-L/5 contact precision at separation
 * >= 12 against the relative-position oracle. Used by `evaluate` (bb_vae_pair in evaluate.json)
 * and its tests; the model's per-pair outputs come from pd_bb_vae_predict_pairs. */
#ifndef PD_MODELS_BB_VAE_PAIR_EVAL_H
#define PD_MODELS_BB_VAE_PAIR_EVAL_H

#include <stdint.h>

#include "core/error.h"
#include "features/graph.h"
#include "models/bb_vae.h"

/* Contacts are scored between residues of one chain at least this far apart in sequence. */
#define PD_BB_CONTACT_MIN_SEP 12

/* Distance-class counts per relative-position class (pd_bb_relpos_class) of a reference set of
 * labelled pairs: the marginal and the relative-position oracle are read from it. */
typedef struct pd_bb_pair_marginals {
    double count[PD_BB_RELPOS_CLASSES][PD_BB_DIST_CLASSES];
} pd_bb_pair_marginals;

/* Sums over entries (all doubles: reducible with one MPI_SUM). */
typedef struct pd_bb_pair_sums {
    double pairs;             /* labelled ordered pairs */
    double model_ce;          /* sum of -log p_model(label) */
    double marginal_ce;       /* sum of -log p_marginal(label) (the marginal's entropy on the reference set) */
    double relpos_ce;         /* sum of -log p(label | relative-position class): the oracle */
    double entries;           /* entries with >= 1 top-L/5 pair */
    double top_pairs, model_hits, oracle_hits;     /* pooled over entries */
    double model_precision, oracle_precision;      /* sums over entries of each entry's top-L/5 precision */
    double random_precision;                       /* sum over entries of the contact rate of the candidates */
} pd_bb_pair_sums;

/* Add entry e's labelled pairs of a labelled graph to the counts. */
void pd_bb_pair_marginals_add(pd_bb_pair_marginals *mg, const pd_bb_graph *graph, int e);

/* Add entry e of a labelled graph to s: label_logp / contact_p as pd_bb_vae_pair_probs fills them
 * for the whole graph; mg the reference counts (the train split in evaluate). Ties in a ranking
 * are broken by pair position (a, b) in row order. */
pd_status pd_bb_pair_eval_entry(const pd_bb_graph *graph, int e, const float *label_logp, const float *contact_p,
                                const pd_bb_pair_marginals *mg, pd_bb_pair_sums *s);

#endif
