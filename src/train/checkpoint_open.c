/* checkpoint_open.c — what every reader of a checkpoint does first and the one way inference
 * loads a stage: the check of format, version, complete marker and stage (resume, the newest-
 * checkpoint search, design, evaluate, encode and tokenize all use it), the reader of the
 * /stage state group, and loading a stage's weights (and its state) for inference. */
#include <hdf5.h>
#include <unistd.h>

#include "dataset/h5file.h"
#include "train/checkpoint.h"

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
    const hid_t grp = *(const int64_t *)user;
    if (H5Lexists(grp, name, H5P_DEFAULT) <= 0)
        return pd_fail(PD_ERR_FORMAT, "the checkpoint has no stage state '%s' (written by another stage version?)", name);
    hid_t ds = H5Dopen2(grp, name, H5P_DEFAULT);
    hid_t space = ds >= 0 ? H5Dget_space(ds) : -1;
    const hssize_t have = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    pd_status st = PD_OK;
    if (have != (hssize_t)n)
        st = pd_fail(PD_ERR_FORMAT, "stage state '%s' has %lld values in the checkpoint, the model expects %lld (is the "
                     "run file's model section the one it was trained with?)", name, (long long)have, (long long)n);
    else if (n > 0 && H5Dread(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        st = pd_fail(PD_ERR_IO, "cannot read stage state '%s'", name);
    if (space >= 0) H5Sclose(space);
    if (ds >= 0) H5Dclose(ds);
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
        st = pd_params_read_h5(P, (int64_t)f, "params", P->data);
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
        st = pd_params_read_h5(s->params, (int64_t)f, "params", s->params->data);
        if (st == PD_OK) st = pd_checkpoint_load_state(f, path, s);
        H5Fclose(f);
    }
    if (st != PD_OK) loading_context(path, s->ops->name);
    return st;
}
