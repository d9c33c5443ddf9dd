/* checkpoint_h5.h — the checkpoint format's own string attribute type: NUL-terminated ASCII of
 * the value's length + 1 (older files have it; the other proteindiff files use the NUL-padded
 * UTF-8 strings of dataset/h5util.h), written and read into a fixed buffer. Numbers go through
 * dataset/h5util.h, tensors through train/checkpoint_params.h. */
#ifndef PD_TRAIN_CHECKPOINT_H5_H
#define PD_TRAIN_CHECKPOINT_H5_H

#include <hdf5.h>
#include <stddef.h>

#include "core/error.h"

pd_status pd_ckpt_attr_str(hid_t loc, const char *name, const char *value);
/* PD_ERR_FORMAT when missing or unreadable; out gets at most len - 1 characters. */
pd_status pd_ckpt_get_attr_str(hid_t loc, const char *name, char *out, size_t len);

#endif
