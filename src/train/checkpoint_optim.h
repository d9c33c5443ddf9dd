/* checkpoint_optim.h — the state of an unsharded AdamW (begin = 0, end = P->total) in an open
 * HDF5 location: parameter-layout groups <group>/m and <group>/v (checkpoint_params.h) and an
 * integer attribute `step` on <group>, the layout of a checkpoint's /optimizer. Values are stored
 * as float32, so an f32 run resumes bit for bit. Sharded state is the checkpoint writer's job. */
#ifndef PD_TRAIN_CHECKPOINT_OPTIM_H
#define PD_TRAIN_CHECKPOINT_OPTIM_H

#include <hdf5.h>

#include "core/error.h"
#include "nn/optim.h"

pd_status pd_ckpt_adamw_write(hid_t loc, const char *group, const pd_adamw *opt, const pd_params *P);
pd_status pd_ckpt_adamw_read(hid_t loc, const char *group, pd_adamw *opt, const pd_params *P);

#endif
