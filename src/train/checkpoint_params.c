/* checkpoint_params.c — parameter-layout groups of checkpoints over dataset/h5array.h; see
 * checkpoint_params.h. */
#include "train/checkpoint_params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset/h5array.h"
#include "dataset/h5util.h"

#define PARAMS_FORMAT "proteindiff-params"
#define PARAMS_VERSION 1

/* The library computes in float (pd_real): buffers go to the file as they are. */
_Static_assert(sizeof(pd_real) == sizeof(float), "checkpoints are written from float buffers");

pd_status pd_ckpt_params_create(hid_t loc, const char *group, const pd_params *P)
{
    hid_t grp = H5Gcreate2(loc, group, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (grp < 0) return pd_h5_fail(PD_ERR_IO, "cannot create the parameter group '%s' (does it exist already?)", group);
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, strlen(PARAMS_FORMAT) + 1);
    const int version = PARAMS_VERSION;
    pd_status st = pd_h5_attr_write(grp, "format", type, PARAMS_FORMAT);
    H5Tclose(type);
    if (st == PD_OK) st = pd_h5_attr_write(grp, "version", H5T_NATIVE_INT, &version);
    for (int i = 0; st == PD_OK && i < P->n_params; i++) {
        const pd_param *p = P->params[i];
        if (strchr(p->name, '/'))
            st = pd_fail(PD_ERR, "parameter name '%s' contains '/', which HDF5 would read as a group", p->name);
        else
            st = pd_h5_array_put(grp, p->name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, p->t.ndim, p->t.shape, NULL);
    }
    H5Gclose(grp);
    if (st != PD_OK) pd_error_context("writing the parameter group '%s'", group);
    return st;
}

static pd_status range_io(hid_t loc, const char *group, const pd_params *P, int64_t a, int64_t b, float *buf,
                          int writing)
{
    hid_t grp = H5Lexists(loc, group, H5P_DEFAULT) > 0 ? H5Gopen2(loc, group, H5P_DEFAULT) : -1;
    if (grp < 0) return pd_fail(PD_ERR_FORMAT, "the checkpoint has no group '%s'", group);
    if (!writing) memset(buf, 0, (size_t)(b - a) * sizeof(float));
    pd_status st = PD_OK;
    for (int i = 0; st == PD_OK && i < P->n_params; i++) {
        const pd_param *p = P->params[i];
        int64_t lo = p->offset > a ? p->offset : a, hi = p->offset + p->t.numel < b ? p->offset + p->t.numel : b;
        if (lo >= hi) continue;
        st = writing ? pd_h5_array_write_range(grp, p->name, lo - p->offset, hi - p->offset, buf + (lo - a))
                     : pd_h5_array_read_range(grp, p->name, lo - p->offset, hi - p->offset, buf + (lo - a));
        if (st != PD_OK) pd_error_context("the checkpoint's parameter group '%s'", group);
    }
    H5Gclose(grp);
    return st;
}

pd_status pd_ckpt_params_write_range(hid_t loc, const char *group, const pd_params *P, int64_t a, int64_t b,
                                     const float *buf)
{
    return range_io(loc, group, P, a, b, (float *)buf, 1);
}

pd_status pd_ckpt_params_read_range(hid_t loc, const char *group, const pd_params *P, int64_t a, int64_t b,
                                    float *buf)
{
    return range_io(loc, group, P, a, b, buf, 0);
}

static void shape_text(int ndim, const int64_t *shape, char *buf, size_t len)
{
    size_t off = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && off < len; i++) off += (size_t)snprintf(buf + off, len - off, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (off < len) snprintf(buf + off, len - off, "]");
}

static pd_status check_tag(hid_t grp, const char *group)
{
    char *format = NULL;
    long long version = 0;
    pd_status st = pd_h5_attr_read_string(grp, "format", &format);
    if (st != PD_OK || strcmp(format, PARAMS_FORMAT) != 0) {
        pd_clear_error();
        st = pd_fail(PD_ERR_FORMAT, "group '%s' is not a parameter group (format '%s', want '%s')", group,
                     format ? format : "", PARAMS_FORMAT);
    } else if (pd_h5_attr_read_int(grp, "version", &version) != PD_OK || version != PARAMS_VERSION) {
        pd_clear_error();
        st = pd_fail(PD_ERR_FORMAT, "parameter group '%s' has version %lld; this build reads version %d", group,
                     version, PARAMS_VERSION);
    }
    free(format);
    return st;
}

/* Every parameter of P is there with P's shape (names and shapes first, so a model that gained
 * or lost a parameter is told which). */
static pd_status check_shapes(hid_t grp, const char *group, const pd_params *P)
{
    for (int i = 0; i < P->n_params; i++) {
        const pd_param *p = P->params[i];
        int nd = 0;
        int64_t shape[H5S_MAX_RANK];
        if (H5Lexists(grp, p->name, H5P_DEFAULT) <= 0)
            return pd_fail(PD_ERR_FORMAT, "the checkpoint lacks parameter '%s' in '%s'", p->name, group);
        PD_TRY(pd_h5_array_shape(grp, p->name, &nd, shape));
        int same = nd == p->t.ndim;
        for (int d = 0; same && d < nd; d++) same = shape[d] == p->t.shape[d];
        if (!same) {
            char got[128], want[128];
            shape_text(nd, shape, got, sizeof got);
            shape_text(p->t.ndim, p->t.shape, want, sizeof want);
            return pd_fail(PD_ERR_FORMAT, "parameter '%s' has shape %s in the checkpoint but the model expects %s "
                           "(a checkpoint of a different configuration?)", p->name, got, want);
        }
    }
    return PD_OK;
}

/* Nothing in the group that P does not declare. */
static pd_status check_extra(hid_t grp, const pd_params *P)
{
    H5G_info_t info;
    if (H5Gget_info(grp, &info) < 0) return pd_h5_fail(PD_ERR_FORMAT, "cannot list a parameter group");
    for (hsize_t i = 0; i < info.nlinks; i++) {
        char name[512];
        if (H5Lget_name_by_idx(grp, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT) < 0) continue;
        if (!pd_params_find(P, name))
            return pd_fail(PD_ERR_FORMAT, "the checkpoint has parameter '%s' that this model does not declare "
                           "(a checkpoint of another model configuration?)", name);
    }
    return PD_OK;
}

pd_status pd_ckpt_params_check(hid_t loc, const char *group, const pd_params *P)
{
    hid_t grp = H5Lexists(loc, group, H5P_DEFAULT) > 0 ? H5Gopen2(loc, group, H5P_DEFAULT) : -1;
    if (grp < 0) return pd_fail(PD_ERR_FORMAT, "the checkpoint has no parameter group '%s'", group);
    pd_status st = check_tag(grp, group);
    if (st == PD_OK) st = check_shapes(grp, group, P);
    if (st == PD_OK) st = check_extra(grp, P);
    H5Gclose(grp);
    return st;
}

pd_status pd_ckpt_params_write(hid_t loc, const char *group, const pd_params *P, const pd_real *buffer)
{
    PD_TRY(pd_ckpt_params_create(loc, group, P));
    return pd_ckpt_params_write_range(loc, group, P, 0, P->total, buffer);
}

pd_status pd_ckpt_params_read(hid_t loc, const char *group, const pd_params *P, pd_real *buffer)
{
    PD_TRY(pd_ckpt_params_check(loc, group, P));
    return pd_ckpt_params_read_range(loc, group, P, 0, P->total, buffer);
}

pd_status pd_ckpt_params_save(const pd_params *P, const char *path)
{
    if (!P->data) return pd_fail(PD_ERR, "saving parameters to %s before the store is finalized", path);
    pd_h5_quiet();
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) return pd_h5_fail(PD_ERR_IO, "cannot create %s (check the directory exists and is writable)", path);
    pd_status st = pd_ckpt_params_write(f, "params", P, P->data);
    if (H5Fclose(f) < 0 && st == PD_OK) st = pd_h5_fail(PD_ERR_IO, "cannot close %s", path);
    if (st != PD_OK) pd_error_context("saving %s", path);
    return st;
}

pd_status pd_ckpt_params_load(pd_params *P, const char *path)
{
    if (!P->data) return pd_fail(PD_ERR, "loading parameters from %s before the store is finalized", path);
    pd_h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return pd_h5_fail(PD_ERR_IO, "cannot open %s as HDF5 (missing or not a checkpoint?)", path);
    pd_status st = pd_ckpt_params_read(f, "params", P, P->data);
    H5Fclose(f);
    if (st != PD_OK) pd_error_context("loading %s", path);
    return st;
}
