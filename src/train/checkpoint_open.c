/* checkpoint_open.c — what every reader of a checkpoint does first and the one way inference
 * loads a stage: the check of format, version, complete marker and stage (resume, the newest-
 * checkpoint search, design, evaluate, encode and tokenize all use it), the reader of the
 * /stage state group, and loading a stage's weights (and its state) for inference. */
#include <hdf5.h>
#include <unistd.h>

#include "dataset/h5array.h"
#include "dataset/h5file.h"
#include "train/checkpoint.h"
#include "train/checkpoint_params.h"

static pd_h5_expect checkpoint_of(const char *stage)
{
    return (pd_h5_expect){.format = PD_CHECKPOINT_FORMAT, .version = PD_CHECKPOINT_VERSION, .what = "checkpoint",
                          .stage = stage, .remedy = "the writer stopped before the end"};
}

pd_status pd_checkpoint_verify(int64_t file, const char *path, const char *stage)
{
    const pd_h5_expect expect = checkpoint_of(stage);
    return pd_h5_verify((hid_t)file, path, &expect);
}

/* ---- the /stage group: named arrays of doubles or floats ----------------------------------- */

static pd_status get_array(void *user, const char *name, int64_t n, void *data, hid_t mtype)
{
    pd_status st = pd_h5_array_get((hid_t) * (const int64_t *)user, name, mtype, n, data);
    if (st == PD_ERR_FORMAT)
        pd_error_context("the checkpoint's stage state (written by another stage version, or is the run file's "
                         "model section not the one it was trained with?)");
    return st;
}

static pd_status get_f64(void *user, const char *name, int64_t n, double *data)
{
    return get_array(user, name, n, data, H5T_NATIVE_DOUBLE);
}

static pd_status get_f32(void *user, const char *name, int64_t n, float *data)
{
    return get_array(user, name, n, data, H5T_NATIVE_FLOAT);
}

pd_status pd_checkpoint_load_state(int64_t file, const char *path, pd_stage *s)
{
    if (!s->ops->load_state) return PD_OK;
    int64_t grp = H5Lexists((hid_t)file, "stage", H5P_DEFAULT) > 0 ? H5Gopen2((hid_t)file, "stage", H5P_DEFAULT) : -1;
    if (grp < 0) return pd_fail(PD_ERR_FORMAT, "%s has no stage group", path);
    pd_stage_store store = {NULL, get_f64, NULL, get_f32, &grp};
    pd_status st = s->ops->load_state(s, &store);
    H5Gclose((hid_t)grp);
    return st;
}

/* ---- inference: serial, read-only, parameters onto an unpadded model ------------------------ */

/* Opens `path` and checks it, or fails naming it. */
static pd_status open_verified(const char *path, const char *stage, hid_t *f)
{
    *f = -1;
    if (access(path, R_OK) != 0) return pd_fail(PD_ERR_IO, "cannot read the %s checkpoint %s", stage, path);
    const pd_h5_expect expect = checkpoint_of(stage);
    return pd_h5_open_verified(path, &expect, f);
}

static void loading_context(const char *path, const char *stage)
{
    pd_error_context("loading %s (if a shape differs, the run file's model.%s settings are not the ones the "
                     "checkpoint was trained with)", path, stage);
}

pd_status pd_checkpoint_load_params(const char *path, const char *stage, const pd_params *P)
{
    hid_t f;
    pd_status st = open_verified(path, stage, &f);
    if (st == PD_OK) {
        st = pd_ckpt_params_read(f, "params", P, P->data);
        H5Fclose(f);
    }
    if (st != PD_OK) loading_context(path, stage);
    return st;
}

pd_status pd_checkpoint_load_stage(const char *path, pd_stage *s)
{
    hid_t f;
    pd_status st = open_verified(path, s->ops->name, &f);
    if (st == PD_OK) {
        st = pd_ckpt_params_read(f, "params", s->params, s->params->data);
        if (st == PD_OK) st = pd_checkpoint_load_state(f, path, s);
        H5Fclose(f);
    }
    if (st != PD_OK) loading_context(path, s->ops->name);
    return st;
}
