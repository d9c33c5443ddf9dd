/* checkpoint_h5.h — the HDF5 pieces checkpoints are made of: attributes, a scalar string
 * dataset, and "the elements [lo, hi) of a parameter's row-major flattening" as a hyperslab
 * selection, which lets each rank write or read exactly the flat range it owns in a dataset
 * that keeps the parameter's shape (so a checkpoint is dense and independent of rank count). */
#ifndef PD_TRAIN_CHECKPOINT_H5_H
#define PD_TRAIN_CHECKPOINT_H5_H

#include <hdf5.h>
#include <stdint.h>

#include "core/error.h"
#include "nn/params.h"

/* Checkpoint attributes (pd_ckpt_ prefix: herr_t / 0-or--1 returns, and NUL-terminated ASCII
 * strings, the checkpoint format's own attribute types; the other proteindiff files use the
 * pd_status helpers of dataset/h5util.h). */
herr_t pd_ckpt_attr_str(hid_t loc, const char *name, const char *value);
herr_t pd_ckpt_attr_i64(hid_t loc, const char *name, int64_t value);
herr_t pd_ckpt_attr_u64(hid_t loc, const char *name, uint64_t value);
herr_t pd_ckpt_attr_double(hid_t loc, const char *name, double value);
/* 0 on success; -1 if missing or unreadable. */
int pd_ckpt_get_attr_str(hid_t loc, const char *name, char *out, size_t len);
int pd_ckpt_get_attr_i64(hid_t loc, const char *name, int64_t *out);
int pd_ckpt_get_attr_u64(hid_t loc, const char *name, uint64_t *out);

/* A parameter-layout group: attributes format = "proteindiff-params", version = 1 and one
 * float32 dataset per parameter with its shape (what nn/params.h reads). Collective. */
pd_status pd_h5_create_param_group(hid_t loc, const char *group, const pd_params *P);
/* Elements [a, b) of P's flat layout: write buf[0 .. b-a) into / read it from the parameter
 * datasets of `group` that overlap the range (padding between parameters is skipped on write
 * and zeroed on read). Independent I/O. */
pd_status pd_h5_write_flat_range(hid_t loc, const char *group, const pd_params *P, int64_t a, int64_t b,
                                 const float *buf);
pd_status pd_h5_read_flat_range(hid_t loc, const char *group, const pd_params *P, int64_t a, int64_t b, float *buf);
/* Every parameter of P exists in `group` with P's shape, and nothing else is there. */
pd_status pd_h5_check_param_group(hid_t loc, const char *group, const pd_params *P);

#endif
