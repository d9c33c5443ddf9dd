/* h5util.c — HDF5 helpers shared by the dataset writer and reader; see h5util.h. */
#include "dataset/h5util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pd_h5_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static herr_t innermost_error(unsigned n, const H5E_error2_t *err, void *data)
{
    char *out = data;
    if (n == 0) snprintf(out, 256, "%s (in %s)", err->desc ? err->desc : "unknown", err->func_name ? err->func_name : "?");
    return 0;
}

pd_status pd_h5_fail(pd_status code, const char *fmt, ...)
{
    char what[1024], inner[256] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_error, inner);
    H5Eclear2(H5E_DEFAULT);
    if (inner[0]) return pd_fail(code, "%s: HDF5: %s", what, inner);
    return pd_fail(code, "%s", what);
}

hid_t pd_h5_float16_type(void)
{
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    H5Tset_fields(t, 15, 10, 5, 0, 10);
    H5Tset_precision(t, 16);
    H5Tset_size(t, 2);
    H5Tset_ebias(t, 15);
    return t;
}

hid_t pd_h5_create_collective(const char *path, MPI_Comm comm)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
    H5Pset_all_coll_metadata_ops(fapl, 1);
    H5Pset_coll_metadata_write(fapl, 1);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    return f;
}

hid_t pd_h5_string_type(size_t width)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, width);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

pd_status pd_h5_attr_write(hid_t obj, const char *name, hid_t type, const void *value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
    hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t w = a < 0 ? -1 : H5Awrite(a, type, value);
    if (a >= 0) H5Aclose(a);
    H5Sclose(space);
    if (w < 0) return pd_h5_fail(PD_ERR_IO, "cannot write attribute '%s'", name);
    return PD_OK;
}

pd_status pd_h5_attr_write_string(hid_t obj, const char *name, const char *value)
{
    size_t len = strlen(value);
    hid_t t = pd_h5_string_type(len > 0 ? len : 1);
    pd_status st = pd_h5_attr_write(obj, name, t, len > 0 ? value : "");
    H5Tclose(t);
    return st;
}

pd_status pd_h5_attr_write_int(hid_t obj, const char *name, long long value)
{
    int64_t v = value;
    return pd_h5_attr_write(obj, name, H5T_STD_I64LE, &v);
}

pd_status pd_h5_attr_write_double(hid_t obj, const char *name, double value)
{
    return pd_h5_attr_write(obj, name, H5T_IEEE_F64LE, &value);
}

int pd_h5_attr_exists(hid_t obj, const char *name)
{
    return H5Aexists(obj, name) > 0;
}

static pd_status open_attr(hid_t obj, const char *name, hid_t *a)
{
    if (!pd_h5_attr_exists(obj, name)) return pd_fail(PD_ERR_FORMAT, "attribute '%s' is missing", name);
    *a = H5Aopen(obj, name, H5P_DEFAULT);
    if (*a < 0) return pd_h5_fail(PD_ERR_FORMAT, "cannot open attribute '%s'", name);
    return PD_OK;
}

pd_status pd_h5_attr_read_string(hid_t obj, const char *name, char **value)
{
    hid_t a;
    PD_TRY(open_attr(obj, name, &a));
    hid_t ft = H5Aget_type(a);
    pd_status st = PD_OK;
    if (H5Tget_class(ft) != H5T_STRING) {
        st = pd_fail(PD_ERR_FORMAT, "attribute '%s' is not a string", name);
    } else if (H5Tis_variable_str(ft) > 0) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(ft));
        char *s = NULL;
        if (H5Aread(a, mt, &s) < 0) st = pd_h5_fail(PD_ERR_FORMAT, "cannot read attribute '%s'", name);
        else { *value = pd_strdup(s ? s : ""); H5free_memory(s); }
        H5Tclose(mt);
    } else {
        size_t n = H5Tget_size(ft);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, n + 1);
        H5Tset_strpad(mt, H5T_STR_NULLTERM);
        H5Tset_cset(mt, H5Tget_cset(ft));
        char *s = pd_calloc(n + 2, 1);
        if (!s) st = PD_ERR_NOMEM;
        else if (H5Aread(a, mt, s) < 0) { st = pd_h5_fail(PD_ERR_FORMAT, "cannot read attribute '%s'", name); free(s); }
        else *value = s;
        H5Tclose(mt);
    }
    H5Tclose(ft);
    H5Aclose(a);
    return st;
}

pd_status pd_h5_attr_read(hid_t obj, const char *name, hid_t mtype, void *value)
{
    hid_t a;
    PD_TRY(open_attr(obj, name, &a));
    herr_t r = H5Aread(a, mtype, value);
    H5Aclose(a);
    return r < 0 ? pd_h5_fail(PD_ERR_FORMAT, "cannot read attribute '%s'", name) : PD_OK;
}

pd_status pd_h5_attr_read_int(hid_t obj, const char *name, long long *value)
{
    hid_t a;
    PD_TRY(open_attr(obj, name, &a));
    hid_t ft = H5Aget_type(a);
    int is_int = H5Tget_class(ft) == H5T_INTEGER;
    H5Tclose(ft);
    int64_t v = 0;
    herr_t r = is_int ? H5Aread(a, H5T_NATIVE_INT64, &v) : -1;
    H5Aclose(a);
    if (!is_int) return pd_fail(PD_ERR_FORMAT, "attribute '%s' is not an integer", name);
    if (r < 0) return pd_h5_fail(PD_ERR_FORMAT, "cannot read attribute '%s'", name);
    *value = v;
    return PD_OK;
}

pd_status pd_h5_attr_read_double(hid_t obj, const char *name, double *value)
{
    hid_t a;
    PD_TRY(open_attr(obj, name, &a));
    hid_t ft = H5Aget_type(a);
    H5T_class_t c = H5Tget_class(ft);
    H5Tclose(ft);
    herr_t r = (c == H5T_FLOAT || c == H5T_INTEGER) ? H5Aread(a, H5T_NATIVE_DOUBLE, value) : -1;
    H5Aclose(a);
    if (c != H5T_FLOAT && c != H5T_INTEGER) return pd_fail(PD_ERR_FORMAT, "attribute '%s' is not a number", name);
    if (r < 0) return pd_h5_fail(PD_ERR_FORMAT, "cannot read attribute '%s'", name);
    return PD_OK;
}

pd_status pd_h5_create_growable(hid_t file, const char *path, hid_t type, int n_inner, const hsize_t *inner,
                                hsize_t chunk_rows, int gzip_level, const char *description, hid_t *out)
{
    hsize_t dims[4] = {0}, maxdims[4] = {H5S_UNLIMITED}, chunk[4] = {chunk_rows};
    for (int i = 0; i < n_inner; i++) dims[i + 1] = maxdims[i + 1] = chunk[i + 1] = inner[i];
    hid_t space = H5Screate_simple(1 + n_inner, dims, maxdims);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1 + n_inner, chunk);
    /* Every byte is written by us: no fill pass. */
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    if (gzip_level > 0) {
        H5Pset_shuffle(dcpl); /* byte planes of float16 compress better apart */
        H5Pset_deflate(dcpl, (unsigned)gzip_level);
    }
    hid_t d = H5Dcreate2(file, path, type, space, lcpl, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Pclose(lcpl);
    H5Sclose(space);
    if (d < 0) return pd_h5_fail(PD_ERR_IO, "cannot create dataset %s", path);
    pd_status st = pd_h5_attr_write_string(d, "description", description);
    if (st != PD_OK) { H5Dclose(d); return st; }
    *out = d;
    return PD_OK;
}
