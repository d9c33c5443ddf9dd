/* tokenizer_state.c — the tokenizer's non-trainable state to and from HDF5 beside its parameters:
 * per-level codebooks with their EMA counts and sums, the BatchNorm running statistics and the
 * number of codebook updates. Without it a checkpoint would decode with random codebooks. */
#include "models/tokenizer.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATE_FORMAT "proteindiff-tokenizer-state"
#define STATE_VERSION 1

static pd_status write_set(hid_t grp, const char *name, int ndim, const hsize_t *dims, const pd_real *data)
{
    hsize_t n = 1;
    for (int i = 0; i < ndim; i++) n *= dims[i];
    float *tmp = malloc((size_t)n * sizeof *tmp);
    if (!tmp) return pd_fail(PD_ERR_NOMEM, "tokenizer state: out of memory writing '%s'", name);
    for (hsize_t i = 0; i < n; i++) tmp[i] = (float)data[i];
    hid_t space = H5Screate_simple(ndim, dims, NULL);
    hid_t set = H5Dcreate2(grp, name, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const herr_t rc = set < 0 ? -1 : H5Dwrite(set, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, tmp);
    if (set >= 0) H5Dclose(set);
    H5Sclose(space);
    free(tmp);
    return rc < 0 ? pd_fail(PD_ERR_IO, "tokenizer state: cannot write dataset '%s'", name) : PD_OK;
}

static pd_status read_set(hid_t grp, const char *name, int ndim, const hsize_t *dims, pd_real *data)
{
    if (H5Lexists(grp, name, H5P_DEFAULT) <= 0)
        return pd_fail(PD_ERR_FORMAT, "tokenizer state: dataset '%s' is missing from the checkpoint", name);
    hid_t set = H5Dopen2(grp, name, H5P_DEFAULT);
    hid_t space = H5Dget_space(set);
    hsize_t got[8] = {0};
    const int nd = H5Sget_simple_extent_dims(space, got, NULL);
    H5Sclose(space);
    int same = nd == ndim;
    for (int i = 0; same && i < ndim; i++) same = got[i] == dims[i];
    if (!same) {
        H5Dclose(set);
        return pd_fail(PD_ERR_FORMAT, "tokenizer state: '%s' has %d dims [%llu, ...] in the checkpoint but the model "
                       "expects %d dims [%llu, ...] (levels, codebook, latent_dim or width differ)",
                       name, nd, (unsigned long long)got[0], ndim, (unsigned long long)dims[0]);
    }
    hsize_t n = 1;
    for (int i = 0; i < ndim; i++) n *= dims[i];
    float *tmp = malloc((size_t)n * sizeof *tmp);
    const herr_t rc = tmp ? H5Dread(set, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, tmp) : -1;
    H5Dclose(set);
    if (rc >= 0)
        for (hsize_t i = 0; i < n; i++) data[i] = tmp[i];
    free(tmp);
    return rc < 0 ? pd_fail(PD_ERR_IO, "tokenizer state: cannot read dataset '%s'", name) : PD_OK;
}

static herr_t write_i64_attr(hid_t loc, const char *name, int64_t v)
{
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(loc, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    const herr_t rc = attr < 0 ? -1 : H5Awrite(attr, H5T_NATIVE_INT64, &v);
    if (attr >= 0) H5Aclose(attr);
    H5Sclose(space);
    return rc;
}

static int read_i64_attr(hid_t loc, const char *name, int64_t *v)
{
    if (H5Aexists(loc, name) <= 0) return -1;
    hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
    const herr_t rc = H5Aread(attr, H5T_NATIVE_INT64, v);
    H5Aclose(attr);
    return rc < 0 ? -1 : 0;
}

pd_status pd_tokenizer_state_write_h5(pd_tokenizer *m, int64_t loc, const char *group)
{
    const pd_tokenizer_config *c = pd_tokenizer_get_config(m);
    hid_t grp = H5Gcreate2((hid_t)loc, group, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (grp < 0) return pd_fail(PD_ERR_IO, "tokenizer state: cannot create HDF5 group '%s' (does it exist already?)", group);
    pd_status s = PD_OK;
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, strlen(STATE_FORMAT) + 1);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(grp, "format", type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0 || H5Awrite(attr, type, STATE_FORMAT) < 0) s = pd_fail(PD_ERR_IO, "tokenizer state: cannot tag '%s'", group);
    if (attr >= 0) H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
    if (s == PD_OK && (write_i64_attr(grp, "version", STATE_VERSION) < 0 ||
                       write_i64_attr(grp, "codebook_updates", pd_tokenizer_codebook_updates(m)) < 0))
        s = pd_fail(PD_ERR_IO, "tokenizer state: cannot write the attributes of '%s'", group);
    char name[96];
    for (int l = 0; l < c->levels && s == PD_OK; l++) {
        const pd_vq_codebook *b = pd_tokenizer_codebook(m, l);
        const hsize_t kd[2] = {(hsize_t)b->codes, (hsize_t)b->dim}, k[1] = {(hsize_t)b->codes};
        snprintf(name, sizeof name, "vq.%d.embed", l);
        s = write_set(grp, name, 2, kd, b->embed);
        snprintf(name, sizeof name, "vq.%d.ema_count", l);
        if (s == PD_OK) s = write_set(grp, name, 1, k, b->ema_count);
        snprintf(name, sizeof name, "vq.%d.ema_sum", l);
        if (s == PD_OK) s = write_set(grp, name, 2, kd, b->ema_sum);
    }
    for (int i = 0; i < pd_tokenizer_n_batchnorms(m) && s == PD_OK; i++) {
        const char *bn;
        const pd_batchnorm_stats *st = pd_tokenizer_batchnorm(m, i, &bn);
        const hsize_t ch[1] = {(hsize_t)st->channels};
        snprintf(name, sizeof name, "%s.running_mean", bn);
        s = write_set(grp, name, 1, ch, st->running_mean);
        snprintf(name, sizeof name, "%s.running_var", bn);
        if (s == PD_OK) s = write_set(grp, name, 1, ch, st->running_var);
        snprintf(name, sizeof name, "%s.batches_tracked", bn);
        if (s == PD_OK && write_i64_attr(grp, name, st->batches_tracked) < 0)
            s = pd_fail(PD_ERR_IO, "tokenizer state: cannot write attribute '%s'", name);
    }
    H5Gclose(grp);
    return s;
}

pd_status pd_tokenizer_state_read_h5(pd_tokenizer *m, int64_t loc, const char *group)
{
    const pd_tokenizer_config *c = pd_tokenizer_get_config(m);
    if (H5Lexists((hid_t)loc, group, H5P_DEFAULT) <= 0)
        return pd_fail(PD_ERR_FORMAT, "tokenizer state: no group '%s' in the checkpoint (not a tokenizer checkpoint?)", group);
    hid_t grp = H5Gopen2((hid_t)loc, group, H5P_DEFAULT);
    if (grp < 0) return pd_fail(PD_ERR_IO, "tokenizer state: cannot open group '%s'", group);
    pd_status s = PD_OK;
    int64_t version = 0, updates = 0;
    if (read_i64_attr(grp, "version", &version) < 0 || version != STATE_VERSION ||
        read_i64_attr(grp, "codebook_updates", &updates) < 0)
        s = pd_fail(PD_ERR_FORMAT, "tokenizer state: group '%s' is not format %s version %d", group, STATE_FORMAT,
                    STATE_VERSION);
    char name[96];
    for (int l = 0; l < c->levels && s == PD_OK; l++) {
        pd_vq_codebook *b = pd_tokenizer_codebook(m, l);
        const hsize_t kd[2] = {(hsize_t)b->codes, (hsize_t)b->dim}, k[1] = {(hsize_t)b->codes};
        snprintf(name, sizeof name, "vq.%d.embed", l);
        s = read_set(grp, name, 2, kd, b->embed);
        snprintf(name, sizeof name, "vq.%d.ema_count", l);
        if (s == PD_OK) s = read_set(grp, name, 1, k, b->ema_count);
        snprintf(name, sizeof name, "vq.%d.ema_sum", l);
        if (s == PD_OK) s = read_set(grp, name, 2, kd, b->ema_sum);
    }
    for (int i = 0; i < pd_tokenizer_n_batchnorms(m) && s == PD_OK; i++) {
        const char *bn;
        pd_batchnorm_stats *st = pd_tokenizer_batchnorm(m, i, &bn);
        const hsize_t ch[1] = {(hsize_t)st->channels};
        snprintf(name, sizeof name, "%s.running_mean", bn);
        s = read_set(grp, name, 1, ch, st->running_mean);
        snprintf(name, sizeof name, "%s.running_var", bn);
        if (s == PD_OK) s = read_set(grp, name, 1, ch, st->running_var);
        snprintf(name, sizeof name, "%s.batches_tracked", bn);
        if (s == PD_OK && read_i64_attr(grp, name, &st->batches_tracked) < 0)
            s = pd_fail(PD_ERR_FORMAT, "tokenizer state: attribute '%s' is missing", name);
    }
    if (s == PD_OK) pd_tokenizer_set_codebook_updates(m, updates);
    H5Gclose(grp);
    return s;
}
