/* latents.c — the collective latents writer: fixed-size datasets every rank writes its own
 * rows into, in a file that follows the output protocol of dataset/h5file.h (NAME.partial,
 * complete = 1 last, rename by rank 0); see latents.h and docs/latents-format.md. `proteindiff
 * encode` itself is in latents_encode.c, the reader in latents_read.c. */
#include "train/latents.h"

#include <hdf5.h>
#include <stdlib.h>

#include "dataset/h5file.h"
#include "dataset/h5util.h"
#include "parallel/comm.h"

#define DESC_MU "posterior mean of each residue's latent, row = the dataset's residue row (zeros where /valid = 0)"
#define DESC_LOGVAR "posterior log-variance of each residue's latent, row = the dataset's residue row (zeros where /valid = 0)"
#define DESC_VALID "1 if the row was encoded; 0 for residues the stage does not encode (masked, unlabelled, empty voxel)"

struct pd_latents_writer {
    pd_h5_output out;
    int64_t rows, dim;
    hid_t mu, logvar, valid;
};

static void close_datasets(pd_latents_writer *w)
{
    if (w->mu > 0) H5Dclose(w->mu);
    if (w->logvar > 0) H5Dclose(w->logvar);
    if (w->valid > 0) H5Dclose(w->valid);
    w->mu = w->logvar = w->valid = 0;
}

static void free_writer(pd_latents_writer *w)
{
    close_datasets(w);
    pd_h5_output_abandon(&w->out);
    free(w);
}

/* A fixed-size dataset [rows] or [rows, dim] of `type`, contiguous, never pre-filled (every row
 * is written by exactly one rank), with its description. Collective. */
static pd_status create_dataset(pd_latents_writer *w, const char *name, hid_t type, int ndim, const char *desc,
                                hid_t *out)
{
    hsize_t dims[2] = {(hsize_t)w->rows, (hsize_t)w->dim};
    hid_t space = H5Screate_simple(ndim, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    *out = H5Dcreate2(w->out.file, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(space);
    if (*out < 0) {
        *out = 0;
        return pd_h5_fail(PD_ERR_IO, "cannot create %s in %s", name, w->out.partial);
    }
    return pd_h5_attr_write_string(*out, "description", desc);
}

static pd_status create_layout(pd_latents_writer *w, const pd_latents_meta *m)
{
    PD_TRY(create_dataset(w, "/mu", H5T_IEEE_F32LE, 2, DESC_MU, &w->mu));
    PD_TRY(create_dataset(w, "/logvar", H5T_IEEE_F32LE, 2, DESC_LOGVAR, &w->logvar));
    PD_TRY(create_dataset(w, "/valid", H5T_STD_U8LE, 1, DESC_VALID, &w->valid));
    PD_TRY(pd_h5_output_stamp(&w->out, PD_LATENTS_FORMAT, PD_LATENTS_VERSION, m->created_by,
                              m->config_text ? m->config_text : ""));
    hid_t root = w->out.file;
    PD_TRY(pd_h5_attr_write_string(root, "stage", m->stage));
    PD_TRY(pd_h5_attr_write_string(root, "dataset", m->dataset));
    PD_TRY(pd_h5_attr_write_string(root, "checkpoint", m->checkpoint));
    return pd_h5_attr_write_int(root, "latent_dim", m->latent_dim);
}

pd_status pd_latents_writer_create(pd_latents_writer **out, const char *path, MPI_Comm comm, const pd_latents_meta *meta)
{
    *out = NULL;
    pd_h5_quiet();
    if (meta->rows < 0 || meta->latent_dim < 1)
        return pd_fail(PD_ERR, "latents writer: %lld rows of latent size %lld", (long long)meta->rows,
                       (long long)meta->latent_dim);
    pd_latents_writer *w = pd_calloc(1, sizeof *w);
    if (!w) return PD_ERR_NOMEM;
    w->rows = meta->rows;
    w->dim = meta->latent_dim;
    pd_status st = pd_h5_output_create(&w->out, path, PD_H5_PARTIAL_SUFFIX, PD_H5_COLLECTIVE_METADATA, comm);
    if (st != PD_OK) {
        free_writer(w);
        return st;
    }
    st = create_layout(w, meta);
    if (st != PD_OK) pd_error_context("creating %s", w->out.partial);
    st = pd_agree(comm, st);
    if (st != PD_OK) {
        free_writer(w);
        return st;
    }
    *out = w;
    return PD_OK;
}

static pd_status write_rows(pd_latents_writer *w, hid_t ds, hid_t mtype, int ndim, int64_t first, int64_t n,
                            const void *buf)
{
    hsize_t start[2] = {(hsize_t)first, 0}, count[2] = {(hsize_t)n, (hsize_t)w->dim};
    hid_t fs = H5Dget_space(ds), ms = H5Screate_simple(ndim, count, NULL);
    herr_t rc = H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    if (rc >= 0) rc = H5Dwrite(ds, mtype, ms, fs, H5P_DEFAULT, buf);
    H5Sclose(ms);
    H5Sclose(fs);
    return rc < 0 ? PD_ERR : PD_OK;
}

pd_status pd_latents_writer_put(pd_latents_writer *w, int64_t first_row, int64_t n, const float *mu,
                                const float *logvar, const uint8_t *valid)
{
    if (first_row < 0 || n < 0 || first_row + n > w->rows)
        return pd_fail(PD_ERR, "latents writer: rows [%lld, %lld) outside the file's %lld rows", (long long)first_row,
                       (long long)(first_row + n), (long long)w->rows);
    if (n == 0) return PD_OK;
    if (write_rows(w, w->mu, H5T_NATIVE_FLOAT, 2, first_row, n, mu) != PD_OK ||
        write_rows(w, w->logvar, H5T_NATIVE_FLOAT, 2, first_row, n, logvar) != PD_OK ||
        write_rows(w, w->valid, H5T_NATIVE_UINT8, 1, first_row, n, valid) != PD_OK)
        return pd_h5_fail(PD_ERR_IO, "cannot write latent rows [%lld, %lld) to %s", (long long)first_row,
                          (long long)(first_row + n), w->out.partial);
    return PD_OK;
}

pd_status pd_latents_writer_finish(pd_latents_writer *w, pd_status local)
{
    close_datasets(w);
    pd_status st = pd_h5_output_finish(&w->out, local);
    free_writer(w);
    return st;
}
