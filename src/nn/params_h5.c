/* params_h5.c — parameter stores (or any buffer in their layout, like AdamW moments) to and
 * from HDF5: one float32 dataset per parameter under a group tagged with a format name and
 * version, so checkpoints survive changes of padding, unit layout and rank count. */
#include "nn/params.h"

#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#define PARAMS_FORMAT "proteindiff-params"
#define PARAMS_VERSION 1

static herr_t write_str_attr(hid_t loc, const char *name, const char *value)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, strlen(value) + 1);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = attr < 0 ? -1 : H5Awrite(attr, type, value);
    if (attr >= 0) H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
    return rc;
}

static int read_str_attr(hid_t loc, const char *name, char *out, size_t outlen)
{
    if (H5Aexists(loc, name) <= 0) return -1;
    hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t ftype = H5Aget_type(attr);
    size_t n = H5Tget_size(ftype);
    hid_t mtype = H5Tcopy(H5T_C_S1);
    H5Tset_size(mtype, n);
    char *buf = calloc(1, n + 1);
    int rc = buf && H5Aread(attr, mtype, buf) >= 0 ? 0 : -1;
    if (rc == 0) {
        strncpy(out, buf, outlen - 1);
        out[outlen - 1] = 0;
    }
    free(buf);
    H5Tclose(mtype);
    H5Tclose(ftype);
    H5Aclose(attr);
    return rc;
}

static void shape_text(int ndim, const int64_t *shape, char *buf, size_t len)
{
    size_t off = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && off < len; i++) off += (size_t)snprintf(buf + off, len - off, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (off < len) snprintf(buf + off, len - off, "]");
}

pd_status pd_params_write_h5(const pd_params *P, int64_t loc, const char *group, const pd_real *buffer)
{
    hid_t grp = H5Gcreate2((hid_t)loc, group, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (grp < 0) return pd_fail(PD_ERR_IO, "cannot create HDF5 group '%s' for the parameters (does it exist already?)", group);
    pd_status st = PD_OK;
    if (write_str_attr(grp, "format", PARAMS_FORMAT) < 0) st = pd_fail(PD_ERR_IO, "cannot write the format attribute of '%s'", group);
    int version = PARAMS_VERSION;
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t at = H5Acreate2(grp, "version", H5T_NATIVE_INT, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (at < 0 || H5Awrite(at, H5T_NATIVE_INT, &version) < 0) st = pd_fail(PD_ERR_IO, "cannot write the version of '%s'", group);
    if (at >= 0) H5Aclose(at);
    H5Sclose(sp);
    float *tmp = NULL;
    for (int i = 0; st == PD_OK && i < P->n_params; i++) {
        const pd_param *p = P->params[i];
        if (strchr(p->name, '/')) {
            st = pd_fail(PD_ERR, "parameter name '%s' contains '/', which HDF5 would read as a group", p->name);
            break;
        }
        hsize_t dims[PD_MAX_DIMS];
        for (int d = 0; d < p->t.ndim; d++) dims[d] = (hsize_t)p->t.shape[d];
        float *f = realloc(tmp, (size_t)(p->t.numel ? p->t.numel : 1) * sizeof(float));
        if (!f) {
            st = pd_fail(PD_ERR_NOMEM, "writing parameter '%s'", p->name);
            break;
        }
        tmp = f;
        for (int64_t j = 0; j < p->t.numel; j++) tmp[j] = (float)buffer[p->offset + j];
        hid_t space = H5Screate_simple(p->t.ndim, dims, NULL);
        hid_t ds = H5Dcreate2(grp, p->name, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (ds < 0 || H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, tmp) < 0)
            st = pd_fail(PD_ERR_IO, "cannot write parameter '%s' into group '%s'", p->name, group);
        if (ds >= 0) H5Dclose(ds);
        H5Sclose(space);
    }
    free(tmp);
    H5Gclose(grp);
    return st;
}

pd_status pd_params_read_h5(const pd_params *P, int64_t loc, const char *group, pd_real *buffer)
{
    if (H5Lexists((hid_t)loc, group, H5P_DEFAULT) <= 0)
        return pd_fail(PD_ERR_FORMAT, "no parameter group '%s' in the file", group);
    hid_t grp = H5Gopen2((hid_t)loc, group, H5P_DEFAULT);
    if (grp < 0) return pd_fail(PD_ERR_FORMAT, "cannot open parameter group '%s'", group);
    char fmt[64] = "";
    int version = 0;
    pd_status st = PD_OK;
    if (read_str_attr(grp, "format", fmt, sizeof fmt) < 0 || strcmp(fmt, PARAMS_FORMAT) != 0)
        st = pd_fail(PD_ERR_FORMAT, "group '%s' is not a parameter group (format '%s', want '%s')", group, fmt, PARAMS_FORMAT);
    if (st == PD_OK) {
        hid_t at = H5Aexists(grp, "version") > 0 ? H5Aopen(grp, "version", H5P_DEFAULT) : -1;
        if (at < 0 || H5Aread(at, H5T_NATIVE_INT, &version) < 0 || version != PARAMS_VERSION)
            st = pd_fail(PD_ERR_FORMAT, "parameter group '%s' has version %d; this build reads version %d", group,
                         version, PARAMS_VERSION);
        if (at >= 0) H5Aclose(at);
    }
    /* Every dataset in the file must be a parameter of the model, and vice versa. */
    H5G_info_t info;
    if (st == PD_OK && H5Gget_info(grp, &info) >= 0) {
        for (hsize_t i = 0; st == PD_OK && i < info.nlinks; i++) {
            char name[512];
            if (H5Lget_name_by_idx(grp, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT) < 0) continue;
            if (!pd_params_find(P, name))
                st = pd_fail(PD_ERR_FORMAT, "the checkpoint has parameter '%s' that this model does not declare "
                                            "(different model configuration?)", name);
        }
    }
    float *tmp = NULL;
    for (int i = 0; st == PD_OK && i < P->n_params; i++) {
        const pd_param *p = P->params[i];
        if (H5Lexists(grp, p->name, H5P_DEFAULT) <= 0) {
            st = pd_fail(PD_ERR_FORMAT, "the checkpoint lacks parameter '%s'", p->name);
            break;
        }
        hid_t ds = H5Dopen2(grp, p->name, H5P_DEFAULT);
        hid_t space = ds >= 0 ? H5Dget_space(ds) : -1;
        int nd = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
        hsize_t dims[H5S_MAX_RANK];
        int64_t fshape[H5S_MAX_RANK];
        if (nd >= 0) H5Sget_simple_extent_dims(space, dims, NULL);
        int same = nd == p->t.ndim;
        for (int d = 0; d < nd && d < H5S_MAX_RANK; d++) {
            fshape[d] = (int64_t)dims[d];
            if (same && fshape[d] != p->t.shape[d]) same = 0;
        }
        if (nd < 0) {
            st = pd_fail(PD_ERR_FORMAT, "cannot read the shape of parameter '%s'", p->name);
        } else if (!same) {
            char a[128], b[128];
            shape_text(nd, fshape, a, sizeof a);
            shape_text(p->t.ndim, p->t.shape, b, sizeof b);
            st = pd_fail(PD_ERR_FORMAT, "parameter '%s' has shape %s in the checkpoint but the model expects %s "
                                        "(a checkpoint of a different configuration?)", p->name, a, b);
        } else {
            float *f = realloc(tmp, (size_t)(p->t.numel ? p->t.numel : 1) * sizeof(float));
            if (!f) st = pd_fail(PD_ERR_NOMEM, "reading parameter '%s'", p->name);
            else {
                tmp = f;
                if (H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, tmp) < 0)
                    st = pd_fail(PD_ERR_IO, "cannot read parameter '%s'", p->name);
                else
                    for (int64_t j = 0; j < p->t.numel; j++) buffer[p->offset + j] = (pd_real)tmp[j];
            }
        }
        if (space >= 0) H5Sclose(space);
        if (ds >= 0) H5Dclose(ds);
    }
    free(tmp);
    H5Gclose(grp);
    return st;
}

pd_status pd_params_save(const pd_params *P, const char *path)
{
    if (!P->data) return pd_fail(PD_ERR, "saving parameters to %s before the store is finalized", path);
    hid_t f = -1;
    H5E_BEGIN_TRY { f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT); } H5E_END_TRY;
    if (f < 0) return pd_fail(PD_ERR_IO, "cannot create %s (check the directory exists and is writable)", path);
    pd_status st = pd_params_write_h5(P, f, "params", P->data);
    if (H5Fclose(f) < 0 && st == PD_OK) st = pd_fail(PD_ERR_IO, "cannot close %s", path);
    if (st != PD_OK) pd_error_context("saving %s", path);
    return st;
}

pd_status pd_params_load(pd_params *P, const char *path)
{
    if (!P->data) return pd_fail(PD_ERR, "loading parameters from %s before the store is finalized", path);
    hid_t f = -1;
    H5E_BEGIN_TRY { f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT); } H5E_END_TRY;
    if (f < 0) return pd_fail(PD_ERR_IO, "cannot open %s as HDF5 (missing or not a checkpoint?)", path);
    pd_status st = pd_params_read_h5(P, f, "params", P->data);
    H5Fclose(f);
    if (st != PD_OK) pd_error_context("loading %s", path);
    return st;
}
