/* tokenizer_state.c — the tokenizer's non-trainable state to and from HDF5 beside its parameters
 * (tokenizer_state.h), over dataset/h5array.h and h5util.h. Without it a checkpoint would decode
 * with random codebooks. */
#include "train/tokenizer_state.h"

#include <stdio.h>

#include "dataset/h5array.h"
#include "dataset/h5util.h"
#include "train/checkpoint_h5.h"

#define STATE_FORMAT "proteindiff-tokenizer-state"
#define STATE_VERSION 1

/* The library computes in float (pd_real): the state goes to the file as it is. */
_Static_assert(sizeof(pd_real) == sizeof(float), "tokenizer state is written from float buffers");

static pd_status write_set(hid_t grp, const char *name, int ndim, const int64_t *shape, pd_real *data)
{
    pd_status st = pd_h5_array_put(grp, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, ndim, shape, data);
    if (st != PD_OK) pd_error_context("tokenizer state");
    return st;
}

static pd_status read_set(hid_t grp, const char *name, int ndim, const int64_t *shape, pd_real *data)
{
    int nd = 0;
    int64_t got[H5S_MAX_RANK] = {0};
    pd_status st = pd_h5_array_shape(grp, name, &nd, got);
    if (st != PD_OK) {
        pd_clear_error();
        return pd_fail(PD_ERR_FORMAT, "tokenizer state: dataset '%s' is missing from the checkpoint", name);
    }
    int same = nd == ndim;
    for (int i = 0; same && i < ndim; i++) same = got[i] == shape[i];
    if (!same)
        return pd_fail(PD_ERR_FORMAT, "tokenizer state: '%s' has %d dims [%lld, ...] in the checkpoint but the model "
                       "expects %d dims [%lld, ...] (levels, codebook, latent_dim or width differ)",
                       name, nd, (long long)got[0], ndim, (long long)shape[0]);
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    st = pd_h5_array_get(grp, name, H5T_NATIVE_FLOAT, n, data);
    if (st != PD_OK) pd_error_context("tokenizer state");
    return st;
}

/* Codebooks, then BatchNorm statistics, in one order for writing and reading. */
static pd_status visit(pd_tokenizer *m, hid_t grp, int writing)
{
    const pd_tokenizer_config *c = pd_tokenizer_get_config(m);
    pd_status (*set)(hid_t, const char *, int, const int64_t *, pd_real *) = writing ? write_set : read_set;
    pd_status s = PD_OK;
    char name[96];
    for (int l = 0; l < c->levels && s == PD_OK; l++) {
        pd_vq_codebook *b = pd_tokenizer_codebook(m, l);
        const int64_t kd[2] = {b->codes, b->dim}, k[1] = {b->codes};
        snprintf(name, sizeof name, "vq.%d.embed", l);
        s = set(grp, name, 2, kd, b->embed);
        snprintf(name, sizeof name, "vq.%d.ema_count", l);
        if (s == PD_OK) s = set(grp, name, 1, k, b->ema_count);
        snprintf(name, sizeof name, "vq.%d.ema_sum", l);
        if (s == PD_OK) s = set(grp, name, 2, kd, b->ema_sum);
    }
    for (int i = 0; i < pd_tokenizer_n_batchnorms(m) && s == PD_OK; i++) {
        const char *bn;
        pd_batchnorm_stats *st = pd_tokenizer_batchnorm(m, i, &bn);
        const int64_t ch[1] = {st->channels};
        snprintf(name, sizeof name, "%s.running_mean", bn);
        s = set(grp, name, 1, ch, st->running_mean);
        snprintf(name, sizeof name, "%s.running_var", bn);
        if (s == PD_OK) s = set(grp, name, 1, ch, st->running_var);
        snprintf(name, sizeof name, "%s.batches_tracked", bn);
        if (s == PD_OK && writing) s = pd_h5_attr_write_int(grp, name, st->batches_tracked);
        if (s == PD_OK && !writing && pd_h5_attr_read(grp, name, H5T_NATIVE_INT64, &st->batches_tracked) != PD_OK) {
            pd_clear_error();
            s = pd_fail(PD_ERR_FORMAT, "tokenizer state: attribute '%s' is missing", name);
        }
    }
    return s;
}

pd_status pd_tokenizer_state_write_h5(pd_tokenizer *m, hid_t loc, const char *group)
{
    hid_t grp = H5Gcreate2(loc, group, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (grp < 0) return pd_h5_fail(PD_ERR_IO, "tokenizer state: cannot create HDF5 group '%s' (does it exist already?)", group);
    pd_status s = pd_ckpt_attr_str(grp, "format", STATE_FORMAT);
    if (s == PD_OK) s = pd_h5_attr_write_int(grp, "version", STATE_VERSION);
    if (s == PD_OK) s = pd_h5_attr_write_int(grp, "codebook_updates", pd_tokenizer_codebook_updates(m));
    if (s == PD_OK) s = visit(m, grp, 1);
    H5Gclose(grp);
    return s;
}

pd_status pd_tokenizer_state_read_h5(pd_tokenizer *m, hid_t loc, const char *group)
{
    if (H5Lexists(loc, group, H5P_DEFAULT) <= 0)
        return pd_fail(PD_ERR_FORMAT, "tokenizer state: no group '%s' in the checkpoint (not a tokenizer checkpoint?)", group);
    hid_t grp = H5Gopen2(loc, group, H5P_DEFAULT);
    if (grp < 0) return pd_h5_fail(PD_ERR_IO, "tokenizer state: cannot open group '%s'", group);
    long long version = 0, updates = 0;
    pd_status s = PD_OK;
    if (pd_h5_attr_read_int(grp, "version", &version) != PD_OK || version != STATE_VERSION ||
        pd_h5_attr_read_int(grp, "codebook_updates", &updates) != PD_OK) {
        pd_clear_error();
        s = pd_fail(PD_ERR_FORMAT, "tokenizer state: group '%s' is not format %s version %d", group, STATE_FORMAT,
                    STATE_VERSION);
    }
    if (s == PD_OK) s = visit(m, grp, 0);
    if (s == PD_OK) pd_tokenizer_set_codebook_updates(m, updates);
    H5Gclose(grp);
    return s;
}
