/* checkpoint_write.c — one collective checkpoint write: every rank creates the same groups and
 * datasets (parallel HDF5 requires it), the first replica's ranks write the flat ranges they
 * own of the parameters and AdamW moments, rank 0 writes the small things; the file is tagged
 * complete, closed, and renamed from .tmp by rank 0 (the protocol of dataset/h5file.h). See
 * checkpoint.h. */
#include <hdf5.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "core/log.h"
#include "dataset/h5array.h"
#include "dataset/h5file.h"
#include "dataset/h5util.h"
#include "parallel/comm.h"
#include "train/checkpoint.h"
#include "train/checkpoint_h5.h"
#include "train/checkpoint_params.h"

typedef struct store_ctx {
    hid_t grp;
    int rank;
} store_ctx;

/* Every rank creates the array, rank 0 writes it. */
static pd_status put_f64(void *user, const char *name, int64_t n, const double *data)
{
    const store_ctx *c = user;
    return pd_h5_array_put(c->grp, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &n, c->rank == 0 ? data : NULL);
}

static pd_status put_f32(void *user, const char *name, int64_t n, const float *data)
{
    const store_ctx *c = user;
    return pd_h5_array_put(c->grp, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &n, c->rank == 0 ? data : NULL);
}

static pd_status write_string_dataset(hid_t loc, const char *name, const char *text, int rank)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, strlen(text) + 1);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t ds = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    pd_status st = ds < 0 ? pd_fail(PD_ERR_IO, "cannot create '%s' in the checkpoint", name) : PD_OK;
    if (st == PD_OK && rank == 0 && H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, text) < 0)
        st = pd_fail(PD_ERR_IO, "cannot write '%s' into the checkpoint", name);
    if (ds >= 0) H5Dclose(ds);
    H5Sclose(space);
    H5Tclose(type);
    return st;
}

static pd_status write_meta(hid_t f, const pd_ckpt_meta *m)
{
    pd_status st = pd_ckpt_attr_str(f, "format", PD_CHECKPOINT_FORMAT);
    if (st == PD_OK) st = pd_h5_attr_write_int(f, "version", PD_CHECKPOINT_VERSION);
    if (st == PD_OK) st = pd_ckpt_attr_str(f, "stage", m->stage);
    if (st == PD_OK) st = pd_h5_attr_write_int(f, "step", m->step);
    if (st == PD_OK) st = pd_ckpt_attr_str(f, "strategy", m->strategy);
    if (st == PD_OK) st = pd_h5_attr_write_int(f, "nranks", m->nranks);
    if (st == PD_OK) st = pd_h5_attr_write_double(f, "elapsed_seconds", m->elapsed);
    if (st == PD_OK) st = pd_ckpt_attr_str(f, "created_by", "proteindiff " PACKAGE_VERSION);
    hid_t g = st == PD_OK ? H5Gcreate2(f, "sampler", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
    if (st == PD_OK && g < 0) st = PD_ERR_IO;
    if (g >= 0) {
        if (st == PD_OK) st = pd_h5_attr_write_int(g, "epoch", m->sampler.epoch);
        if (st == PD_OK) st = pd_h5_attr_write_int(g, "position", m->sampler.position);
        if (st == PD_OK) st = pd_h5_attr_write_int(g, "step", m->sampler.step);
        if (st == PD_OK) st = pd_h5_attr_write(g, "seed", H5T_NATIVE_UINT64, &m->sampler.seed);
        if (st == PD_OK) st = pd_h5_attr_write_int(g, "batch_residues", m->sampler.batch_residues);
        if (st == PD_OK) st = pd_h5_attr_write(g, "lengths_hash", H5T_NATIVE_UINT64, &m->sampler.lengths_hash);
        H5Gclose(g);
    }
    g = st == PD_OK ? H5Gcreate2(f, "rng", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
    if (st == PD_OK && g < 0) st = PD_ERR_IO;
    if (g >= 0) {
        if (st == PD_OK) st = pd_h5_attr_write(g, "seed", H5T_NATIVE_UINT64, &m->seed);
        if (st == PD_OK)
            st = pd_ckpt_attr_str(g, "scheme", "Philox-4x32-10 keyed by (seed, step, item, purpose); no hidden state");
        H5Gclose(g);
    }
    return st != PD_OK ? pd_fail(PD_ERR_IO, "cannot write the checkpoint's metadata") : PD_OK;
}

/* Parameters and AdamW moments: every rank of the first replica writes its owned ranges. */
static pd_status write_tensors(hid_t f, pd_engine *e)
{
    const pd_params *P = e->P;
    PD_TRY(pd_ckpt_params_create(f, "params", P));
    hid_t opt = H5Gcreate2(f, "optimizer", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (opt < 0) return pd_fail(PD_ERR_IO, "cannot create the checkpoint's optimizer group");
    pd_status st = pd_h5_attr_write_int(opt, "step", pd_engine_opt_step(e));
    if (st == PD_OK) st = pd_ckpt_params_create(opt, "m", P);
    if (st == PD_OK) st = pd_ckpt_params_create(opt, "v", P);
    H5Gclose(opt);
    if (st != PD_OK || !pd_engine_writes_checkpoint(e)) return st;
    for (int u = 0; st == PD_OK && u < e->n_units; u++) {
        int64_t begin, n;
        float *data, *m, *v;
        pd_engine_owned(e, u, &begin, &n, &data, &m, &v);
        st = pd_ckpt_params_write_range(f, "params", P, begin, begin + n, data);
        if (st == PD_OK) st = pd_ckpt_params_write_range(f, "optimizer/m", P, begin, begin + n, m);
        if (st == PD_OK) st = pd_ckpt_params_write_range(f, "optimizer/v", P, begin, begin + n, v);
    }
    return st;
}

static pd_status write_all(hid_t f, const pd_ckpt_meta *meta, const char *config_text, pd_engine *e, pd_stage *s,
                           int rank)
{
    PD_TRY(write_meta(f, meta));
    PD_TRY(write_string_dataset(f, "config", config_text ? config_text : "", rank));
    PD_TRY(write_tensors(f, e));
    hid_t g = H5Gcreate2(f, "stage", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) return pd_fail(PD_ERR_IO, "cannot create the checkpoint's stage group");
    pd_status st = PD_OK;
    if (s->ops->save_state) {
        store_ctx ctx = {g, rank};
        pd_stage_store store = {put_f64, NULL, put_f32, NULL, &ctx};
        st = s->ops->save_state(s, &store);
    }
    H5Gclose(g);
    return st;
}

pd_status pd_checkpoint_write(const char *dir, const pd_ckpt_meta *meta, const char *config_text, pd_engine *e,
                              pd_stage *s, MPI_Comm comm, int keep, double stall_seconds, char *path_out,
                              size_t path_len)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    char path[4096];
    pd_checkpoint_path(dir, meta->stage, meta->step, path, sizeof path);
    /* No collective metadata: only the first replica's ranks open the tensors they write. */
    pd_h5_output out;
    pd_status st = pd_h5_output_create(&out, path, ".tmp", 0, comm);
    if (st != PD_OK) {
        pd_error_context("writing a checkpoint into %s", dir);
        return st;
    }
    st = pd_agree(comm, write_all(out.file, meta, config_text, e, s, rank));
    if (st == PD_OK && stall_seconds > 0) {
        H5Fflush(out.file, H5F_SCOPE_GLOBAL);
        struct timespec ts = {(time_t)stall_seconds, (long)((stall_seconds - (double)(time_t)stall_seconds) * 1e9)};
        nanosleep(&ts, NULL);
    }
    PD_TRY(pd_h5_output_finish(&out, st));
    if (rank == 0) pd_checkpoint_prune(dir, meta->stage, keep);
    if (path_out) snprintf(path_out, path_len, "%s", path);
    return PD_OK;
}
