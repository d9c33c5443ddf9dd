/* selection.h — residue selectors shared by --fixed, --symmetry and the per-residue JSON rules
 * ("A12", "A52A", "A1-20", "AB7", "B"), resolved against a design target by author residue number
 * and insertion code, never by position, so gaps in the numbering cannot shift a selection. */
#ifndef PD_DESIGN_SELECTION_H
#define PD_DESIGN_SELECTION_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

struct pd_design_target;

/* Mark (mark[i] = 1) the residues the selector `item` (len bytes) names and count them in *hits:
 *   CHAIN            every residue of the chain;
 *   CHAIN N / N I    the one residue numbered N without / with insertion code I (A52 is 52 only,
 *                    A52A is 52A only);
 *   CHAIN N-M        every residue numbered N to M, whatever its insertion code;
 *   CHAIN NI-MJ      (an end with an insertion code) the residues from NI to MJ in chain order.
 * CHAIN is the longest chain id of the target that prefixes the item and is followed by a number
 * (multi-letter mmCIF ids work). `what` names the option in messages, which also name the item
 * and the structure file. Naming no residue is an error. */
pd_status pd_select_residues(const struct pd_design_target *t, const char *item, size_t len, const char *what,
                             uint8_t *mark, int64_t *hits);

/* A selector that must name exactly one residue (CHAIN N or CHAIN NI): its index in *index. */
pd_status pd_select_one(const struct pd_design_target *t, const char *item, size_t len, const char *what,
                        int64_t *index);

/* "A52A" / "B7" for residue i (buf of 64 bytes or more). */
void pd_residue_label(const struct pd_design_target *t, int64_t i, char *buf, size_t len);

#endif
