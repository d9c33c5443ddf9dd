/* h5array.c — named arrays, whole or as a flat range of their row-major flattening; see
 * h5array.h. */
#include "dataset/h5array.h"

#include "dataset/h5util.h"

pd_status pd_h5_array_put(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int ndim, const int64_t *shape,
                          const void *data)
{
    hsize_t dims[H5S_MAX_RANK], n = 1;
    for (int d = 0; d < ndim; d++) n *= dims[d] = (hsize_t)shape[d];
    hid_t space = H5Screate_simple(ndim, dims, NULL);
    hid_t ds = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    pd_status st = ds < 0 ? pd_h5_fail(PD_ERR_IO, "cannot create the array '%s'", name) : PD_OK;
    if (st == PD_OK && data && n > 0 && H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        st = pd_h5_fail(PD_ERR_IO, "cannot write the array '%s'", name);
    if (ds >= 0) H5Dclose(ds);
    H5Sclose(space);
    return st;
}

static pd_status open_array(hid_t loc, const char *name, hid_t *ds)
{
    *ds = H5Lexists(loc, name, H5P_DEFAULT) > 0 ? H5Dopen2(loc, name, H5P_DEFAULT) : -1;
    return *ds < 0 ? pd_fail(PD_ERR_FORMAT, "no array '%s'", name) : PD_OK;
}

pd_status pd_h5_array_get(hid_t loc, const char *name, hid_t mtype, int64_t n, void *data)
{
    hid_t ds;
    PD_TRY(open_array(loc, name, &ds));
    hid_t space = H5Dget_space(ds);
    const hssize_t have = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    pd_status st = PD_OK;
    if (have != (hssize_t)n)
        st = pd_fail(PD_ERR_FORMAT, "the array '%s' has %lld values, %lld expected", name, (long long)have, (long long)n);
    else if (n > 0 && H5Dread(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        st = pd_h5_fail(PD_ERR_IO, "cannot read the array '%s'", name);
    if (space >= 0) H5Sclose(space);
    H5Dclose(ds);
    return st;
}

pd_status pd_h5_array_shape(hid_t loc, const char *name, int *ndim, int64_t *shape)
{
    hid_t ds;
    PD_TRY(open_array(loc, name, &ds));
    hid_t space = H5Dget_space(ds);
    hsize_t dims[H5S_MAX_RANK];
    const int nd = space >= 0 ? H5Sget_simple_extent_dims(space, dims, NULL) : -1;
    for (int d = 0; d < nd; d++) shape[d] = (int64_t)dims[d];
    if (space >= 0) H5Sclose(space);
    H5Dclose(ds);
    if (nd < 0) return pd_h5_fail(PD_ERR_FORMAT, "cannot read the shape of the array '%s'", name);
    *ndim = nd;
    return PD_OK;
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

static pd_status range_io(hid_t loc, const char *name, int64_t lo, int64_t hi, float *buf, int writing)
{
    if (lo >= hi) return PD_OK;
    hid_t ds;
    PD_TRY(open_array(loc, name, &ds));
    hid_t fspace = H5Dget_space(ds);
    hsize_t dims[H5S_MAX_RANK], start[H5S_MAX_RANK], count[H5S_MAX_RANK];
    const int nd = H5Sget_simple_extent_dims(fspace, dims, NULL);
    int first = 1;
    if (nd == 0) H5Sselect_all(fspace); /* a scalar: its one element */
    else select_rec(fspace, nd, dims, 0, start, count, (hsize_t)lo, (hsize_t)hi, &first);
    hsize_t n = (hsize_t)(hi - lo);
    hid_t mspace = H5Screate_simple(1, &n, NULL);
    herr_t rc = writing ? H5Dwrite(ds, H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT, buf)
                        : H5Dread(ds, H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT, buf);
    H5Sclose(mspace);
    H5Sclose(fspace);
    H5Dclose(ds);
    if (rc < 0)
        return pd_h5_fail(PD_ERR_IO, "cannot %s elements [%lld, %lld) of the array '%s'", writing ? "write" : "read",
                          (long long)lo, (long long)hi, name);
    return PD_OK;
}

pd_status pd_h5_array_write_range(hid_t loc, const char *name, int64_t lo, int64_t hi, const float *buf)
{
    return range_io(loc, name, lo, hi, (float *)buf, 1);
}

pd_status pd_h5_array_read_range(hid_t loc, const char *name, int64_t lo, int64_t hi, float *buf)
{
    return range_io(loc, name, lo, hi, buf, 0);
}
