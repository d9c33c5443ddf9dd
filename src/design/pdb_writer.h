/* pdb_writer.h — --pdb-out: one designed sequence on its input backbone as a PDB file (N, CA, C,
 * O of every residue under the designed residue name; fixed residues whose amino acid is the
 * file's keep their side-chain atoms), so a design can be opened in a viewer or handed to a
 * packer or folding tool. */
#ifndef PD_DESIGN_PDB_WRITER_H
#define PD_DESIGN_PDB_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

struct pd_design_target;

/* DIR/<entry>_T<temperature>_s<sample>.pdb (temperature as %g) into buf. */
void pd_pdb_design_path(const char *dir, const char *entry, double temperature, int sample, char *buf, size_t len);

/* Write aa [L] (20 = X, written UNK) on t's backbone to `path` via `path`.tmp + rename. `remark`
 * goes into a REMARK 1 line. Chain ids longer than 2 characters do not fit PDB columns 21-22 and
 * are refused naming the chain. */
pd_status pd_pdb_write_design(const char *path, const struct pd_design_target *t, const uint8_t *aa, const char *remark);

#endif
