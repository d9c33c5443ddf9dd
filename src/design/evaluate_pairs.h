/* evaluate_pairs.h — the backbone VAE pair head's figures on the test split for `evaluate`
 * (issue 17, item 5): distance cross-entropy against the marginal and the relative-position
 * oracle, top-L/5 contact precision at separation >= 12 (models/bb_vae_pair_eval.h). */
#ifndef PD_DESIGN_EVALUATE_PAIRS_H
#define PD_DESIGN_EVALUATE_PAIRS_H

#include <mpi.h>
#include <stdint.h>

#include "dataset/reader.h"
#include "models/bb_vae.h"
#include "models/bb_vae_pair_eval.h"

/* Collective over comm: the entries test[k] with owner[k] == this rank are read, their labelled
 * graphs built; the marginals come from all test entries (summed over ranks), then each rank
 * scores its entries with m. *out holds the global sums on every rank. */
pd_status pd_evaluate_bb_pairs(pd_bb_vae *m, pd_dataset *ds, const int64_t *test, const int *owner, int64_t n_test,
                               MPI_Comm comm, pd_bb_pair_sums *out);

#endif
