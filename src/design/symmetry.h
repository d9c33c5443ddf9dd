/* symmetry.h — --symmetry "A12,B12|A13,B13" and --homo-oligomer: groups of tied residues that get
 * one amino acid. The tie acts on the model's distribution (each member gets the group's mean
 * log-probabilities, renormalised), and the sequence is then chosen once per group
 * (sequence.h). */
#ifndef PD_DESIGN_SYMMETRY_H
#define PD_DESIGN_SYMMETRY_H

#include <stdint.h>

#include "core/error.h"

struct pd_design_target;

/* tie [t->length]: for each residue the index of its group's first residue (chain order), or
 * its own index when it is not tied. spec: groups separated by '|', residues in a group by ','
 * (each a one-residue selector, selection.h; NULL/empty = none). homo: also tie position k of
 * every chain with chain k of every other chain of the same length. Fails naming the selector
 * and the structure, or when --homo-oligomer finds no two chains of equal length. *n_tied counts
 * residues that are in a group of two or more. */
pd_status pd_symmetry_resolve(const struct pd_design_target *t, const char *spec, int homo, int32_t *tie,
                              int64_t *n_tied);

/* logp [L, 20] of one sample: every member of a group gets log_softmax(mean over the group's
 * valid members of their log-probabilities). Rows of invalid residues are left alone. */
pd_status pd_symmetry_tie_logp(float *logp, int64_t L, const uint8_t *valid, const int32_t *tie);

#endif
