/* probs_file.h — design --probs FILE.h5: every structure's per-residue 20-way distribution
 * (the mean over samples of the model's distribution, after --symmetry ties, before omit/bias)
 * with chain, residue number and insertion code, in input order (docs/probs-format.md). Ranks
 * pack each structure into bytes (gathered to rank 0, kept in the resume journal); rank 0 writes
 * the file. */
#ifndef PD_DESIGN_PROBS_FILE_H
#define PD_DESIGN_PROBS_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "design/run_common.h"

struct pd_design_target;

/* Append one structure: probs [L, 20] (rows of invalid residues are written as zeros), valid [L]. */
void pd_probs_pack(const struct pd_design_target *t, const float *probs, const uint8_t *valid, pd_text *out);

/* Rank 0: write `path` (as path.partial, complete = 1 last, renamed; dataset/h5file.h) from n
 * packed structures in file order. */
pd_status pd_probs_write(const char *path, int n, const char *const *packed, const size_t *packed_len, int samples,
                         const char *created_by);

#endif
