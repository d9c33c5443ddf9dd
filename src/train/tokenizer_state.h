/* tokenizer_state.h — the tokenizer's non-trainable state (codebooks with their EMA counts and
 * sums, BatchNorm running statistics, the number of codebook updates) as an HDF5 group beside
 * its parameters: group `group` under the open location loc with format =
 * "proteindiff-tokenizer-state", version = 1, codebook_updates; datasets vq.<l>.{embed [K, D],
 * ema_count [K], ema_sum [K, D]} and <enc|dec>.<l>.bn.{running_mean, running_var} [C] (float32)
 * with attribute <enc|dec>.<l>.bn.batches_tracked. Reading checks every name and shape. In
 * `train` because src/models knows no files; parameters go through checkpoint_params.h. */
#ifndef PD_TRAIN_TOKENIZER_STATE_H
#define PD_TRAIN_TOKENIZER_STATE_H

#include <hdf5.h>

#include "core/error.h"
#include "models/tokenizer.h"

pd_status pd_tokenizer_state_write_h5(pd_tokenizer *m, hid_t loc, const char *group);
pd_status pd_tokenizer_state_read_h5(pd_tokenizer *m, hid_t loc, const char *group);

#endif
