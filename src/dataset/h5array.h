/* h5array.h — named numeric arrays in proteindiff's HDF5 files, written once: create a dataset
 * of a shape, put or get all of it, and write or read "the elements [lo, hi) of its row-major
 * flattening" as a hyperslab, which lets each rank write or read exactly the flat range it owns
 * of a dataset that keeps its shape (so a checkpoint is dense and independent of rank count).
 * Checkpoints keep their parameters, AdamW moments and stage state with it. */
#ifndef PD_DATASET_H5ARRAY_H
#define PD_DATASET_H5ARRAY_H

#include <hdf5.h>
#include <stdint.h>

#include "core/error.h"

/* Create dataset `name` under loc with file type ftype and shape[0 .. ndim) and, when `data` is
 * not NULL, write all of it from memory type mtype (ranks that only create pass NULL; in a file
 * with collective metadata every rank makes the same creates). */
pd_status pd_h5_array_put(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int ndim, const int64_t *shape,
                          const void *data);
/* Read all n elements of `name` as memory type mtype; PD_ERR_FORMAT naming the array when it is
 * missing or holds another number of elements. */
pd_status pd_h5_array_get(hid_t loc, const char *name, hid_t mtype, int64_t n, void *data);
/* The shape of `name`: *ndim dimensions into shape[0 .. H5S_MAX_RANK); PD_ERR_FORMAT when it is
 * missing. */
pd_status pd_h5_array_shape(hid_t loc, const char *name, int *ndim, int64_t *shape);
/* Elements [lo, hi) of the row-major flattening of `name`, as float32 in memory: buf[0 .. hi-lo)
 * into or from the file. Independent I/O. */
pd_status pd_h5_array_write_range(hid_t loc, const char *name, int64_t lo, int64_t hi, const float *buf);
pd_status pd_h5_array_read_range(hid_t loc, const char *name, int64_t lo, int64_t hi, float *buf);

#endif
