/* featurize.h — one structure file in, zero or more dataset entries out (entry.h): reads the
 * file (structure.h), cuts it into units (chains or the whole assembly), and computes every
 * per-residue array of SPEC.md sections 1-4. Unusable files and chains become failures with
 * a reason; only running out of memory is fatal. */
#ifndef PD_FEATURES_FEATURIZE_H
#define PD_FEATURES_FEATURIZE_H

#include "core/config.h"
#include "features/entry.h"
#include "structure/charges.h"

typedef enum { PD_UNIT_CHAIN = 0, PD_UNIT_ASSEMBLY = 1 } pd_unit;

/* Seconds and counts accumulated over pd_featurize_file calls (for progress and benchmarks). */
typedef struct pd_featurize_stats {
    double parse_s, distogram_s, voxels_s, other_s;
    long files, entries, residues, failures;
} pd_featurize_stats;

typedef struct pd_featurize_opts {
    pd_unit unit;                     /* featurize.unit */
    int min_len, max_len;             /* featurize.min_len / max_len (inclusive bounds) */
    int voxel_size;                   /* featurize.voxel_size V (2..64) */
    float voxel_cell;                 /* featurize.voxel_cell in Angstrom */
    const pd_charge_table *charges;   /* NULL = the built-in ff19SB table */
    pd_featurize_stats *stats;        /* optional, NULL = not collected */
} pd_featurize_opts;

/* SPEC defaults: chain, 40..1024, V = 16, cell 0.75, built-in charges, no stats. */
void pd_featurize_opts_default(pd_featurize_opts *o);
/* From a validated run file; loads `featurize.charges` into *charges_storage when it is set. */
pd_status pd_featurize_opts_from_config(const pd_config *cfg, pd_featurize_opts *o, pd_charge_table *charges_storage);

/* The entry-name stem of a path: its file name up to the first '.'. Writes at most len bytes. */
void pd_featurize_stem(const char *path, char *stem, int len);

/* Append one entry per usable protein chain (chain mode, named "<stem>_<chain id>") or one
 * per file (assembly mode, "<stem>") to `entries`, and one failure per unusable file or chain
 * to `failures` (empty file, not a structure, parse error at line N, no protein chain, too
 * short/long with the numbers, no valid backbone). Returns non-OK only for fatal conditions
 * (out of memory, invalid options); a bad file is never fatal. */
pd_status pd_featurize_file(const char *path, const pd_featurize_opts *opts, pd_entry_list *entries,
                            pd_failure_list *failures);

#endif
