/* latents_read.c — the path of run.dir/latents/<stage>.h5, and opening and reading it with the
 * checks that keep the diffusion stage from training on latents of another dataset, another
 * model size or an unfinished encode (see latents.h); the same checks decide whether encode and
 * run may skip a stage. Serial HDF5: every rank reads its own rows. */
#include "train/latents.h"

#include <hdf5.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset/h5file.h"
#include "dataset/h5util.h"

void pd_latents_path(const pd_config *cfg, const char *stage, char *buf, size_t len)
{
    snprintf(buf, len, "%s/latents/%s.h5", pd_cfg_str(cfg, "run.dir"), stage);
}

static int same_file(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];
    if (realpath(a, ra) && realpath(b, rb)) return !strcmp(ra, rb);
    return !strcmp(a, b);
}

static pd_status read_str(hid_t f, const char *name, char *out, size_t len)
{
    char *s = NULL;
    PD_TRY(pd_h5_attr_read_string(f, name, &s));
    snprintf(out, len, "%s", s);
    free(s);
    return PD_OK;
}

static pd_status check_file(pd_latent_file *lf, const char *stage, int dim, const char *dataset_path)
{
    hid_t f = (hid_t)lf->file;
    char dataset[4200] = "";
    long long latent_dim = 0;
    char remedy[128];
    snprintf(remedy, sizeof remedy, "run `proteindiff encode RUN.cfg --stage %s` again", stage);
    const pd_h5_expect expect = {.format = PD_LATENTS_FORMAT, .version = PD_LATENTS_VERSION, .what = "latents file",
                                 .stage = stage, .remedy = remedy};
    PD_TRY(pd_h5_verify(f, lf->path, &expect));
    snprintf(lf->stage, sizeof lf->stage, "%s", stage);
    PD_TRY(read_str(f, "dataset", dataset, sizeof dataset));
    if (read_str(f, "checkpoint", lf->checkpoint, sizeof lf->checkpoint) != PD_OK) lf->checkpoint[0] = '\0';
    PD_TRY(pd_h5_attr_read_int(f, "latent_dim", &latent_dim));
    if (dataset_path && !same_file(dataset, dataset_path))
        return pd_fail(PD_ERR_CONFIG, "%s was made from the dataset %s, but data.dataset is %s: run `proteindiff encode "
                       "RUN.cfg --stage %s` to encode this dataset", lf->path, dataset, dataset_path, stage);

    hid_t mu = H5Dopen2(f, "/mu", H5P_DEFAULT), valid = H5Dopen2(f, "/valid", H5P_DEFAULT);
    lf->mu = mu;
    lf->valid = valid;
    if (mu < 0 || valid < 0) return pd_fail(PD_ERR_FORMAT, "%s has no /mu or /valid dataset", lf->path);
    hid_t space = H5Dget_space(mu);
    hsize_t dims[2] = {0, 0};
    int nd = H5Sget_simple_extent_ndims(space);
    if (nd == 2) H5Sget_simple_extent_dims(space, dims, NULL);
    H5Sclose(space);
    space = H5Dget_space(valid);
    hsize_t vdim = 0;
    int vnd = H5Sget_simple_extent_ndims(space);
    if (vnd == 1) H5Sget_simple_extent_dims(space, &vdim, NULL);
    H5Sclose(space);
    if (nd != 2 || vnd != 1 || vdim != dims[0] || (long long)dims[1] != latent_dim)
        return pd_fail(PD_ERR_FORMAT, "%s: /mu is not [R, latent_dim = %lld] with /valid [R]", lf->path, latent_dim);
    lf->rows = (int64_t)dims[0];
    lf->dim = (int)dims[1];
    if (dim > 0 && lf->dim != dim)
        return pd_fail(PD_ERR_CONFIG, "%s has %d-dimensional latents but model.%s.latent = %d: encode again with the "
                       "current model or use the run file it was made with", lf->path, lf->dim, stage, dim);
    return PD_OK;
}

pd_status pd_latent_file_open(pd_latent_file *lf, const char *path, const char *stage, int dim,
                              const char *dataset_path)
{
    memset(lf, 0, sizeof *lf);
    lf->file = lf->mu = lf->valid = -1;
    snprintf(lf->path, sizeof lf->path, "%s", path);
    if (access(path, R_OK) != 0)
        return pd_fail(PD_ERR_IO, "the %s latents %s do not exist: run `proteindiff encode RUN.cfg --stage %s` after "
                       "training %s (or `proteindiff run RUN.cfg`)", stage, path, stage, stage);
    pd_h5_quiet();
    lf->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (lf->file < 0) return pd_h5_fail(PD_ERR_IO, "cannot open the latents file %s", path);
    pd_status st = check_file(lf, stage, dim, dataset_path);
    if (st != PD_OK) pd_latent_file_close(lf);
    return st;
}

void pd_latent_file_close(pd_latent_file *lf)
{
    if (lf->mu >= 0) H5Dclose((hid_t)lf->mu);
    if (lf->valid >= 0) H5Dclose((hid_t)lf->valid);
    if (lf->file >= 0) H5Fclose((hid_t)lf->file);
    lf->file = lf->mu = lf->valid = -1;
}

pd_status pd_latent_file_read(pd_latent_file *lf, int64_t first, int64_t n, float *mu, uint8_t *valid)
{
    if (first < 0 || n < 0 || first + n > lf->rows)
        return pd_fail(PD_ERR_FORMAT, "%s: rows %lld..%lld requested, the file has %lld", lf->path, (long long)first,
                       (long long)(first + n), (long long)lf->rows);
    if (n == 0) return PD_OK;
    hsize_t start[2] = {(hsize_t)first, 0}, count[2] = {(hsize_t)n, (hsize_t)lf->dim};
    hid_t fs = H5Dget_space((hid_t)lf->mu), ms = H5Screate_simple(2, count, NULL);
    herr_t rc = H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    if (rc >= 0) rc = H5Dread((hid_t)lf->mu, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, mu);
    H5Sclose(ms);
    H5Sclose(fs);
    if (rc >= 0) {
        fs = H5Dget_space((hid_t)lf->valid);
        ms = H5Screate_simple(1, count, NULL);
        rc = H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
        if (rc >= 0) rc = H5Dread((hid_t)lf->valid, H5T_NATIVE_UINT8, ms, fs, H5P_DEFAULT, valid);
        H5Sclose(ms);
        H5Sclose(fs);
    }
    if (rc < 0) return pd_h5_fail(PD_ERR_IO, "reading rows %lld..%lld of %s", (long long)first, (long long)(first + n), lf->path);
    return PD_OK;
}

int pd_latents_up_to_date(const char *path, const char *stage, const char *dataset, const char *checkpoint)
{
    if (access(path, R_OK) != 0) return 0;
    pd_latent_file lf;
    memset(&lf, 0, sizeof lf);
    lf.file = lf.mu = lf.valid = -1;
    snprintf(lf.path, sizeof lf.path, "%s", path);
    pd_h5_quiet();
    lf.file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    int ok = lf.file >= 0 && check_file(&lf, stage, 0, dataset) == PD_OK && same_file(lf.checkpoint, checkpoint);
    pd_latent_file_close(&lf);
    pd_clear_error(); /* a missing attribute or another dataset is an answer here, not an error */
    return ok;
}
