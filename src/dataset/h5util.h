/* h5util.h — the few HDF5 idioms every dataset file needs (error messages from the HDF5
 * error stack, float16 and fixed-length string types, scalar attributes, growable chunked
 * datasets), written once so the writer and the reader stay short. */
#ifndef PD_DATASET_H5UTIL_H
#define PD_DATASET_H5UTIL_H

#include <hdf5.h>
#include <mpi.h>
#include <stdint.h>

#include "core/error.h"

/* Silence HDF5's own stderr dump; our messages carry the innermost HDF5 reason instead. */
void pd_h5_quiet(void);
/* pd_fail(code, "<what>: <innermost HDF5 error>") and return code. */
pd_status pd_h5_fail(pd_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* IEEE-754 binary16, little endian (h5py reads it as float16). Caller closes. */
hid_t pd_h5_float16_type(void);
/* Create (truncate) `path` for collective writing by every rank of `comm` (MPI-IO, collective
 * metadata reads and writes, so every rank must make the same metadata calls). < 0 on failure. */
hid_t pd_h5_create_collective(const char *path, MPI_Comm comm);
/* Fixed-length, NUL-padded UTF-8 string of `width` bytes. Caller closes. */
hid_t pd_h5_string_type(size_t width);

/* A scalar attribute of HDF5 type `type` (value in that type's memory layout), replacing one
 * of the same name; the typed ones below use it. */
pd_status pd_h5_attr_write(hid_t obj, const char *name, hid_t type, const void *value);
pd_status pd_h5_attr_write_string(hid_t obj, const char *name, const char *value);
pd_status pd_h5_attr_write_int(hid_t obj, const char *name, long long value);
pd_status pd_h5_attr_write_double(hid_t obj, const char *name, double value);
/* Read attributes; a missing attribute is PD_ERR_FORMAT naming it. *value is malloc'd. */
/* A scalar attribute converted to memory type `mtype`. */
pd_status pd_h5_attr_read(hid_t obj, const char *name, hid_t mtype, void *value);
pd_status pd_h5_attr_read_string(hid_t obj, const char *name, char **value);
pd_status pd_h5_attr_read_int(hid_t obj, const char *name, long long *value);
pd_status pd_h5_attr_read_double(hid_t obj, const char *name, double *value);
int pd_h5_attr_exists(hid_t obj, const char *name);

/* Create a dataset whose first dimension starts at 0 and grows without limit, chunked by
 * `chunk_rows` along it; `inner` are the fixed trailing dimensions (n_inner of them).
 * gzip level > 0 adds the deflate filter. Adds the `description` attribute. */
pd_status pd_h5_create_growable(hid_t file, const char *path, hid_t type, int n_inner, const hsize_t *inner,
                                hsize_t chunk_rows, int gzip_level, const char *description, hid_t *out);

#endif
