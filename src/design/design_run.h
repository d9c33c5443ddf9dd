/* design_run.h — `proteindiff design` as a library call: structures (a file, a folder or a list
 * file) shared over the ranks, each designed by the chain of designer.h, sequences chosen at
 * every temperature, and one FASTA (and optionally a --probs file and --pdb-out files) written in
 * input order; an interrupted run resumes from OUT.parts/ (design_journal.h). */
#ifndef PD_DESIGN_DESIGN_RUN_H
#define PD_DESIGN_DESIGN_RUN_H

#include <mpi.h>
#include <stdint.h>

#include "core/config.h"
#include "core/error.h"

typedef struct pd_design_options {
    const char *structure;      /* FILE | DIR | LIST (.txt/.list) | glob */
    const char *chains;         /* --chains (NULL: all protein chains) */
    const char *fixed;          /* --fixed */
    const char *prefill;        /* --sequence-prefill FASTA path */
    const char *omit;           /* --omit-aa */
    const char *bias;           /* --bias-aa */
    const char *out;            /* --out FASTA path ("-" = standard output) */
    const char *symmetry;       /* --symmetry "A12,B12|A13,B13" */
    int homo_oligomer;          /* --homo-oligomer */
    const char *bias_by_residue;/* --bias-by-residue FILE.json */
    const char *omit_by_residue;/* --omit-by-residue FILE.json */
    const char *probs;          /* --probs FILE.h5 */
    const char *pdb_out;        /* --pdb-out DIR */
} pd_design_options;

/* What a run did (rank 0's figures are global). */
typedef struct pd_design_summary {
    int64_t structures, failed, residues, records;
    int64_t resumed;            /* structures taken from OUT.parts/ of an earlier, interrupted run */
    double seconds;             /* designing (models loaded), wall */
} pd_design_summary;

/* Collective over comm. Samples, temperatures, seed, sampler and steps come from design.* of
 * cfg (the command turns its options into overrides). A structure that cannot be read or
 * designed is reported and skipped; it fails only when no structure was designed. Structures
 * found in OUT.parts/ (written by an earlier run with the same settings that did not finish) are
 * not designed again. */
pd_status pd_design_run(const pd_config *cfg, const pd_design_options *o, MPI_Comm comm, pd_design_summary *summary);

/* The seed of one structure's noise: design.seed mixed with the entry name, so a structure's
 * designs do not depend on the other inputs or on the rank that designs it. */
uint64_t pd_design_entry_seed(uint64_t seed, const char *name);

#endif
