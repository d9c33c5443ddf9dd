/* evaluate.h — `proteindiff evaluate` as a library call: sequence recovery and perplexity on the
 * test split of data.dataset for (a) diffusion design, (b) the BB-VAE sequence head and (c) the
 * composition baseline (train-split amino-acid frequencies), overall and per SPEC §3 length bin;
 * a table on rank 0's stdout and run.dir/evaluate.json (schema in docs/design.md). */
#ifndef PD_DESIGN_EVALUATE_H
#define PD_DESIGN_EVALUATE_H

#include <mpi.h>

#include "core/config.h"
#include "core/error.h"

#define PD_EVAL_METHODS 3   /* diffusion, bb_vae_head, composition */

typedef struct pd_eval_result {
    double recovery[PD_EVAL_METHODS];
    double perplexity[PD_EVAL_METHODS];
    long long entries, residues;
    double seconds;
} pd_eval_result;

/* Collective over comm. Test entries are shared over the ranks; every figure is a sum over
 * residues, so the result does not depend on the rank count. Writes run.dir/evaluate.json via
 * a .tmp name (its presence means the evaluation completed). */
pd_status pd_evaluate_run(const pd_config *cfg, MPI_Comm comm, pd_eval_result *out);

/* run.dir/evaluate.json */
void pd_evaluate_json_path(const pd_config *cfg, char *buf, size_t len);

#endif
