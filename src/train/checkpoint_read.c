/* checkpoint_read.c — loading a checkpoint onto whatever layout this run has: every rank reads
 * the flat ranges it needs (the whole unit where it keeps full parameters, its slice where it
 * keeps a shard, its owned slice of the AdamW moments) from the dense per-parameter datasets.
 * That is the resharding: 2 ranks' checkpoint onto 4, fsdp's onto ddp, and so on. */
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#include "dataset/h5util.h"
#include "parallel/comm.h"
#include "train/checkpoint.h"
#include "train/checkpoint_h5.h"
#include "train/checkpoint_params.h"

/* The metadata of a checkpoint that pd_checkpoint_verify accepted. */
static pd_status read_meta(hid_t f, const char *path, pd_ckpt_meta *m)
{
    const hid_t i64 = H5T_NATIVE_INT64, u64 = H5T_NATIVE_UINT64;
    int64_t nranks = 0;
    pd_status st = pd_ckpt_get_attr_str(f, "stage", m->stage, sizeof m->stage);
    if (st == PD_OK) st = pd_h5_attr_read(f, "step", i64, &m->step);
    if (st == PD_OK) st = pd_ckpt_get_attr_str(f, "strategy", m->strategy, sizeof m->strategy);
    if (st == PD_OK) st = pd_h5_attr_read(f, "nranks", i64, &nranks);
    if (st == PD_OK) st = pd_h5_attr_read(f, "elapsed_seconds", H5T_NATIVE_DOUBLE, &m->elapsed);
    m->nranks = (int)nranks;
    hid_t g = st == PD_OK ? H5Gopen2(f, "sampler", H5P_DEFAULT) : -1;
    if (st == PD_OK && g < 0) st = PD_ERR_FORMAT;
    if (g >= 0) {
        if (st == PD_OK) st = pd_h5_attr_read(g, "epoch", i64, &m->sampler.epoch);
        if (st == PD_OK) st = pd_h5_attr_read(g, "position", i64, &m->sampler.position);
        if (st == PD_OK) st = pd_h5_attr_read(g, "step", i64, &m->sampler.step);
        if (st == PD_OK) st = pd_h5_attr_read(g, "seed", u64, &m->sampler.seed);
        if (st == PD_OK) st = pd_h5_attr_read(g, "batch_residues", i64, &m->sampler.batch_residues);
        if (st == PD_OK) st = pd_h5_attr_read(g, "lengths_hash", u64, &m->sampler.lengths_hash);
        H5Gclose(g);
    }
    g = st == PD_OK ? H5Gopen2(f, "rng", H5P_DEFAULT) : -1;
    if (st == PD_OK && g < 0) st = PD_ERR_FORMAT;
    if (g >= 0) {
        st = pd_h5_attr_read(g, "seed", u64, &m->seed);
        H5Gclose(g);
    }
    if (st == PD_OK) return PD_OK;
    pd_clear_error();
    return pd_fail(PD_ERR_FORMAT, "%s: missing or unreadable checkpoint metadata", path);
}

static pd_status read_tensors(hid_t f, pd_engine *e)
{
    const pd_params *P = e->P;
    PD_TRY(pd_ckpt_params_check(f, "params", P));
    PD_TRY(pd_ckpt_params_check(f, "optimizer/m", P));
    PD_TRY(pd_ckpt_params_check(f, "optimizer/v", P));
    hid_t opt = H5Gopen2(f, "optimizer", H5P_DEFAULT);
    int64_t opt_step = 0;
    pd_status st = opt < 0 ? PD_ERR_FORMAT : pd_h5_attr_read(opt, "step", H5T_NATIVE_INT64, &opt_step);
    if (opt >= 0) H5Gclose(opt);
    if (st != PD_OK) {
        pd_clear_error();
        return pd_fail(PD_ERR_FORMAT, "the checkpoint's optimizer group has no step");
    }
    pd_engine_set_opt_step(e, opt_step);
    for (int u = 0; u < e->n_units; u++) {
        int64_t begin, n;
        float *data, *m, *v;
        pd_engine_owned(e, u, &begin, &n, &data, &m, &v);
        float *full = pd_engine_full_unit(e, u);
        if (full) {
            const pd_param_unit *U = &P->units[u];
            PD_TRY(pd_ckpt_params_read_range(f, "params", P, U->begin, U->begin + U->size, full));
        } else {
            PD_TRY(pd_ckpt_params_read_range(f, "params", P, begin, begin + n, data));
        }
        PD_TRY(pd_ckpt_params_read_range(f, "optimizer/m", P, begin, begin + n, m));
        PD_TRY(pd_ckpt_params_read_range(f, "optimizer/v", P, begin, begin + n, v));
    }
    return PD_OK;
}

pd_status pd_checkpoint_read(const char *path, pd_ckpt_meta *meta, pd_engine *e, pd_stage *s, MPI_Comm comm)
{
    memset(meta, 0, sizeof *meta);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    pd_status st = f < 0 ? pd_fail(PD_ERR_IO, "cannot open checkpoint %s", path) : PD_OK;
    PD_TRY(pd_agree(comm, st));
    st = pd_checkpoint_verify(f, path, s->ops->name);
    if (st == PD_OK) st = read_meta(f, path, meta);
    if (st == PD_OK) st = read_tensors(f, e);
    if (st == PD_OK) st = pd_checkpoint_load_state(f, path, s);
    if (st != PD_OK) pd_error_context("loading checkpoint %s", path);
    H5Fclose(f);
    return pd_agree(comm, st);
}
