/* sequence.h — from per-residue amino-acid distributions to designed sequences: the user's
 * omit/bias rules (global or per residue), tied groups, sampling at a temperature (0 = argmax) with the counter RNG, fixed
 * positions kept, and the scores written into FASTA headers (mean NLL, recovery). */
#ifndef PD_DESIGN_SEQUENCE_H
#define PD_DESIGN_SEQUENCE_H

#include <stdint.h>

#include "core/error.h"

#define PD_AA_LETTERS "ACDEFGHIKLMNPQRSTVWY"

/* --omit-aa and --bias-aa: added to the log-probabilities before the temperature. */
typedef struct pd_aa_rules {
    double bias[20];
    uint8_t omit[20];
} pd_aa_rules;

/* omit: letters ("CM", case-insensitive; NULL/empty = none); bias: "W:-1.0,A:0.5" (NULL/empty
 * = none). Fails naming the bad letter or number; refuses omitting all 20. */
pd_status pd_aa_rules_parse(const char *omit, const char *bias, pd_aa_rules *out);

/* 0..19 for a one-letter code (case-insensitive), -1 otherwise. */
int pd_aa_index(char letter);

/* Choose one amino acid per residue. logp [L, 20] model log-probabilities; valid [L];
 * fixed [L] = 0..19 to keep, -1 to design; rules [L] per-residue omit/bias (residue_rules.h);
 * tie [L] (NULL: none) the first residue of each residue's tied group (symmetry.h). Designed valid
 * residues: argmax of logp + bias over allowed letters when temperature == 0, else a draw from
 * softmax((logp + bias) / T) with the uniform of the stream (seed, stream, residue, PD_RNG_DESIGN).
 * A tied group is chosen once, from the mean of its valid members' logp + bias (a letter omitted at
 * any member is out), with the stream of its first residue, so every member gets the same amino
 * acid. Invalid designed residues get 20 (X). Writes aa_out [L]. */
pd_status pd_choose_sequence(const float *logp, int64_t L, const uint8_t *valid, const int32_t *fixed,
                             const pd_aa_rules *rules, const int32_t *tie, double temperature, uint64_t seed,
                             uint64_t stream, uint8_t *aa_out);

typedef struct pd_sequence_scores {
    double nll_designed;     /* mean -log p(aa) over designed valid residues (NaN if none) */
    double nll_all;          /* mean over every valid residue (fixed ones included) */
    double recovery;         /* designed valid residues equal to the native / those with a known
                              * native (NaN when no native is known) */
    int64_t n_designed, n_all, n_native;
} pd_sequence_scores;

/* Scores of aa [L] under the model's own distribution logp (T = 1, before omit/bias). native
 * [L] may be NULL (unknown); native values >= 20 do not count for recovery. */
void pd_score_sequence(const float *logp, int64_t L, const uint8_t *valid, const int32_t *fixed, const uint8_t *aa,
                       const uint8_t *native, pd_sequence_scores *out);

#endif
