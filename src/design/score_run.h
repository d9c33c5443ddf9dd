/* score_run.h — `proteindiff score` as a library call: the model's per-residue negative
 * log-likelihood of the native sequence of each structure (or of given sequences) on its backbone,
 * like ProteinMPNN's --score_only, as one TSV written by rank 0 in input order. */
#ifndef PD_DESIGN_SCORE_RUN_H
#define PD_DESIGN_SCORE_RUN_H

#include <mpi.h>
#include <stdint.h>

#include "core/config.h"
#include "core/error.h"

typedef struct pd_score_options {
    const char *structure;   /* FILE | DIR | LIST | glob */
    const char *sequences;   /* FASTA (NULL: the native sequence of each file) */
    const char *chains;      /* NULL: every protein chain */
    const char *out;         /* TSV ("-" = standard output) */
} pd_score_options;

typedef struct pd_score_summary {
    int64_t structures, failed, sequences, residues;
    double mean_nll;         /* over every scored residue of every sequence */
} pd_score_summary;

/* Collective over comm. The distribution of a residue is the mean over design.samples diffusion
 * samples of the model's distribution with every residue masked (the design condition);
 * nll = -log of it at the residue's amino acid. A structure that cannot be scored is reported and
 * skipped; it fails only when none was. */
pd_status pd_score_run(const pd_config *cfg, const pd_score_options *o, MPI_Comm comm, pd_score_summary *summary);

#endif
