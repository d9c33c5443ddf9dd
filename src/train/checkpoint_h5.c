/* checkpoint_h5.c — attribute helpers and flat-range hyperslab I/O for checkpoints; see
 * checkpoint_h5.h. */
#include "train/checkpoint_h5.h"

#include <stdlib.h>
#include <string.h>

#define PARAMS_FORMAT "proteindiff-params"

static herr_t attr_write(hid_t loc, const char *name, hid_t type, const void *value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    if (H5Aexists(loc, name) > 0) H5Adelete(loc, name);
    hid_t attr = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = attr < 0 ? -1 : H5Awrite(attr, type, value);
    if (attr >= 0) H5Aclose(attr);
    H5Sclose(space);
    return rc;
}

herr_t pd_ckpt_attr_str(hid_t loc, const char *name, const char *value)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, strlen(value) + 1);
    herr_t rc = attr_write(loc, name, type, value);
    H5Tclose(type);
    return rc;
}

herr_t pd_ckpt_attr_i64(hid_t loc, const char *name, int64_t value) { return attr_write(loc, name, H5T_NATIVE_INT64, &value); }
herr_t pd_ckpt_attr_u64(hid_t loc, const char *name, uint64_t value) { return attr_write(loc, name, H5T_NATIVE_UINT64, &value); }
herr_t pd_ckpt_attr_double(hid_t loc, const char *name, double value) { return attr_write(loc, name, H5T_NATIVE_DOUBLE, &value); }

static int attr_read(hid_t loc, const char *name, hid_t type, void *out)
{
    if (H5Aexists(loc, name) <= 0) return -1;
    hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
    int rc = attr >= 0 && H5Aread(attr, type, out) >= 0 ? 0 : -1;
    if (attr >= 0) H5Aclose(attr);
    return rc;
}

int pd_ckpt_get_attr_i64(hid_t loc, const char *name, int64_t *out) { return attr_read(loc, name, H5T_NATIVE_INT64, out); }
int pd_ckpt_get_attr_u64(hid_t loc, const char *name, uint64_t *out) { return attr_read(loc, name, H5T_NATIVE_UINT64, out); }

int pd_ckpt_get_attr_str(hid_t loc, const char *name, char *out, size_t len)
{
    if (H5Aexists(loc, name) <= 0) return -1;
    hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t ftype = H5Aget_type(attr);
    size_t n = H5Tget_size(ftype);
    hid_t mtype = H5Tcopy(H5T_C_S1);
    H5Tset_size(mtype, n);
    char *buf = calloc(1, n + 1);
    int rc = buf && H5Aread(attr, mtype, buf) >= 0 ? 0 : -1;
    if (rc == 0) snprintf(out, len, "%s", buf);
    free(buf);
    H5Tclose(mtype);
    H5Tclose(ftype);
    H5Aclose(attr);
    return rc;
}

pd_status pd_h5_create_param_group(hid_t loc, const char *group, const pd_params *P)
{
    hid_t grp = H5Gcreate2(loc, group, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (grp < 0) return pd_fail(PD_ERR_IO, "cannot create the checkpoint group '%s'", group);
    pd_status st = PD_OK;
    if (pd_ckpt_attr_str(grp, "format", PARAMS_FORMAT) < 0) st = pd_fail(PD_ERR_IO, "cannot tag group '%s'", group);
    hid_t sp = H5Screate(H5S_SCALAR);
    int version = 1;
    hid_t at = H5Acreate2(grp, "version", H5T_NATIVE_INT, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (at < 0 || H5Awrite(at, H5T_NATIVE_INT, &version) < 0) st = pd_fail(PD_ERR_IO, "cannot tag group '%s'", group);
    if (at >= 0) H5Aclose(at);
    H5Sclose(sp);
    for (int i = 0; st == PD_OK && i < P->n_params; i++) {
        const pd_param *p = P->params[i];
        hsize_t dims[PD_MAX_DIMS];
        for (int d = 0; d < p->t.ndim; d++) dims[d] = (hsize_t)p->t.shape[d];
        hid_t space = H5Screate_simple(p->t.ndim, dims, NULL);
        hid_t ds = H5Dcreate2(grp, p->name, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (ds < 0) st = pd_fail(PD_ERR_IO, "cannot create dataset '%s/%s' in the checkpoint", group, p->name);
        else H5Dclose(ds);
        H5Sclose(space);
    }
    H5Gclose(grp);
    return st;
}

/* Select [lo, hi) of the row-major flattening of dims[level..] with start[0..level) fixed. */
static void select_rec(hid_t space, int ndim, const hsize_t *dims, int level, hsize_t *start, hsize_t *count,
                       hsize_t lo, hsize_t hi, int *first)
{
    if (lo >= hi) return;
    hsize_t inner = 1;
    for (int d = level + 1; d < ndim; d++) inner *= dims[d];
    if (level == ndim - 1) {
        start[level] = lo;
        count[level] = hi - lo;
        H5Sselect_hyperslab(space, *first ? H5S_SELECT_SET : H5S_SELECT_OR, start, NULL, count, NULL);
        *first = 0;
        return;
    }
    hsize_t r0 = lo / inner, r1 = hi / inner, lo_in = lo % inner, hi_in = hi % inner;
    if (r0 == r1) {
        start[level] = r0;
        count[level] = 1;
        select_rec(space, ndim, dims, level + 1, start, count, lo_in, hi_in, first);
        return;
    }
    hsize_t full = r0;
    if (lo_in) {
        start[level] = r0;
        count[level] = 1;
        select_rec(space, ndim, dims, level + 1, start, count, lo_in, inner, first);
        full = r0 + 1;
    }
    if (r1 > full) {
        start[level] = full;
        count[level] = r1 - full;
        for (int d = level + 1; d < ndim; d++) {
            start[d] = 0;
            count[d] = dims[d];
        }
        H5Sselect_hyperslab(space, *first ? H5S_SELECT_SET : H5S_SELECT_OR, start, NULL, count, NULL);
        *first = 0;
    }
    if (hi_in) {
        start[level] = r1;
        count[level] = 1;
        select_rec(space, ndim, dims, level + 1, start, count, 0, hi_in, first);
    }
}

static pd_status flat_io(hid_t loc, const char *group, const pd_params *P, int64_t a, int64_t b, float *buf,
                         int writing)
{
    hid_t grp = H5Gopen2(loc, group, H5P_DEFAULT);
    if (grp < 0) return pd_fail(PD_ERR_FORMAT, "the checkpoint has no group '%s'", group);
    if (!writing) memset(buf, 0, (size_t)(b - a) * sizeof(float));
    pd_status st = PD_OK;
    for (int i = 0; st == PD_OK && i < P->n_params; i++) {
        const pd_param *p = P->params[i];
        int64_t lo = p->offset > a ? p->offset : a, hi = p->offset + p->t.numel < b ? p->offset + p->t.numel : b;
        if (lo >= hi) continue;
        hid_t ds = H5Dopen2(grp, p->name, H5P_DEFAULT);
        if (ds < 0) {
            st = pd_fail(PD_ERR_FORMAT, "the checkpoint lacks '%s/%s'", group, p->name);
            break;
        }
        hid_t fspace = H5Dget_space(ds);
        hsize_t dims[PD_MAX_DIMS], start[PD_MAX_DIMS], count[PD_MAX_DIMS];
        int nd = p->t.ndim;
        for (int d = 0; d < nd; d++) dims[d] = (hsize_t)p->t.shape[d];
        int first = 1;
        select_rec(fspace, nd, dims, 0, start, count, (hsize_t)(lo - p->offset), (hsize_t)(hi - p->offset), &first);
        hsize_t n = (hsize_t)(hi - lo);
        hid_t mspace = H5Screate_simple(1, &n, NULL);
        herr_t rc = writing ? H5Dwrite(ds, H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT, buf + (lo - a))
                            : H5Dread(ds, H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT, buf + (lo - a));
        if (rc < 0)
            st = pd_fail(PD_ERR_IO, "cannot %s elements [%lld, %lld) of '%s/%s' in the checkpoint",
                         writing ? "write" : "read", (long long)(lo - p->offset), (long long)(hi - p->offset), group,
                         p->name);
        H5Sclose(mspace);
        H5Sclose(fspace);
        H5Dclose(ds);
    }
    H5Gclose(grp);
    return st;
}

pd_status pd_h5_write_flat_range(hid_t loc, const char *group, const pd_params *P, int64_t a, int64_t b,
                                 const float *buf)
{
    return flat_io(loc, group, P, a, b, (float *)buf, 1);
}

pd_status pd_h5_read_flat_range(hid_t loc, const char *group, const pd_params *P, int64_t a, int64_t b, float *buf)
{
    return flat_io(loc, group, P, a, b, buf, 0);
}

pd_status pd_h5_check_param_group(hid_t loc, const char *group, const pd_params *P)
{
    hid_t grp = H5Lexists(loc, group, H5P_DEFAULT) > 0 ? H5Gopen2(loc, group, H5P_DEFAULT) : -1;
    if (grp < 0) return pd_fail(PD_ERR_FORMAT, "the checkpoint has no group '%s'", group);
    pd_status st = PD_OK;
    /* Names and shapes first, so a model that gained or lost a parameter is told which. */
    for (int i = 0; st == PD_OK && i < P->n_params; i++) {
        const pd_param *p = P->params[i];
        if (H5Lexists(grp, p->name, H5P_DEFAULT) <= 0) {
            st = pd_fail(PD_ERR_FORMAT, "the checkpoint lacks parameter '%s' in '%s'", p->name, group);
            break;
        }
        hid_t ds = H5Dopen2(grp, p->name, H5P_DEFAULT);
        hid_t space = H5Dget_space(ds);
        hsize_t dims[H5S_MAX_RANK];
        int nd = H5Sget_simple_extent_dims(space, dims, NULL);
        int same = nd == p->t.ndim;
        for (int d = 0; same && d < nd; d++) same = dims[d] == (hsize_t)p->t.shape[d];
        if (!same) {
            char want[96] = "[", got[96] = "[";
            for (int d = 0; d < p->t.ndim; d++)
                snprintf(want + strlen(want), sizeof want - strlen(want), d ? ", %lld" : "%lld", (long long)p->t.shape[d]);
            for (int d = 0; d < nd; d++)
                snprintf(got + strlen(got), sizeof got - strlen(got), d ? ", %llu" : "%llu", (unsigned long long)dims[d]);
            st = pd_fail(PD_ERR_FORMAT, "parameter '%s' has shape %s] in the checkpoint but the model expects %s] "
                         "(a checkpoint of a different configuration?)", p->name, got, want);
        }
        H5Sclose(space);
        H5Dclose(ds);
    }
    H5G_info_t info;
    if (st == PD_OK && H5Gget_info(grp, &info) >= 0 && info.nlinks != (hsize_t)P->n_params)
        st = pd_fail(PD_ERR_FORMAT, "the checkpoint's '%s' holds %llu parameters but the model has %d "
                     "(a checkpoint of another model configuration?)", group, (unsigned long long)info.nlinks,
                     P->n_params);
    H5Gclose(grp);
    return st;
}
