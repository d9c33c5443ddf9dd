/* checkpoint_params.h — a parameter-layout group of a checkpoint: attributes format =
 * "proteindiff-params", version = 1 and one float32 dataset per parameter with its shape, for
 * any buffer laid out like a parameter store's flat buffer (the parameters, the AdamW moments).
 * Written collectively by ranges (each rank the elements it owns) or serially whole; every read
 * checks the tag and each parameter's name and shape first. The arrays go through
 * dataset/h5array.h; src/nn itself knows no HDF5. Format: docs/checkpoint-format.md. */
#ifndef PD_TRAIN_CHECKPOINT_PARAMS_H
#define PD_TRAIN_CHECKPOINT_PARAMS_H

#include <hdf5.h>
#include <stdint.h>

#include "core/error.h"
#include "nn/params.h"

/* Create `group` under loc, tagged, with an empty dataset per parameter of P. Collective where
 * the file's metadata is. */
pd_status pd_ckpt_params_create(hid_t loc, const char *group, const pd_params *P);
/* Elements [a, b) of P's flat layout: write buf[0 .. b-a) into / read it from the parameter
 * datasets of `group` that overlap the range (padding between parameters is skipped on write
 * and zeroed on read). Independent I/O. */
pd_status pd_ckpt_params_write_range(hid_t loc, const char *group, const pd_params *P, int64_t a, int64_t b,
                                     const float *buf);
pd_status pd_ckpt_params_read_range(hid_t loc, const char *group, const pd_params *P, int64_t a, int64_t b,
                                    float *buf);
/* `group` is a parameter group of this format version holding every parameter of P with P's
 * shape and nothing else; a mismatch names the parameter (and both shapes). */
pd_status pd_ckpt_params_check(hid_t loc, const char *group, const pd_params *P);

/* Serial: all of `buffer` (P->total elements in P's layout) into a new group / out of a checked
 * one. */
pd_status pd_ckpt_params_write(hid_t loc, const char *group, const pd_params *P, const pd_real *buffer);
pd_status pd_ckpt_params_read(hid_t loc, const char *group, const pd_params *P, pd_real *buffer);
/* Serial: a file of P's finalized parameters alone (group "params"), and back onto a store of
 * any padding. */
pd_status pd_ckpt_params_save(const pd_params *P, const char *path);
pd_status pd_ckpt_params_load(pd_params *P, const char *path);

#endif
