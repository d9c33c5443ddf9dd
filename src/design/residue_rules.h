/* residue_rules.h — --bias-by-residue and --omit-by-residue: the LigandMPNN JSON shapes
 * ({"A12": {"W": 2.0}} and {"A12": "CW"}) read once, then resolved against each design target
 * into one pd_aa_rules per residue (the global --omit-aa/--bias-aa rules plus the residue's own). */
#ifndef PD_DESIGN_RESIDUE_RULES_H
#define PD_DESIGN_RESIDUE_RULES_H

#include <stdint.h>

#include "core/error.h"
#include "design/sequence.h"

struct pd_design_target;

typedef struct pd_residue_rule {
    char *selector;          /* "A12", "A52A", "B1-10", "C" (selection.h) */
    char *where;             /* "FILE:LINE" of its key, for messages */
    double bias[20];
    uint8_t omit[20];
} pd_residue_rule;

typedef struct pd_residue_rules {
    int n;
    pd_residue_rule *rule;
} pd_residue_rules;

/* Read either file (NULL: none). Errors name the file, the line and the key: not JSON, a value of
 * the wrong shape, a letter outside the 20, a bias that is not a finite number. */
pd_status pd_residue_rules_read(const char *bias_path, const char *omit_path, pd_residue_rules *out);
void pd_residue_rules_free(pd_residue_rules *r);

/* per_residue [t->length] = global, plus every rule on the residues its selector names. A selector
 * that names no residue of the target, or a residue left with no allowed amino acid, is an error
 * naming the key, its file and line, and the structure. */
pd_status pd_residue_rules_resolve(const pd_residue_rules *r, const struct pd_design_target *t,
                                   const pd_aa_rules *global, pd_aa_rules *per_residue);

#endif
