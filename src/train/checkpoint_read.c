/* checkpoint_read.c — loading a checkpoint onto whatever layout this run has: every rank reads
 * the flat ranges it needs (the whole unit where it keeps full parameters, its slice where it
 * keeps a shard, its owned slice of the AdamW moments) from the dense per-parameter datasets.
 * That is the resharding: 2 ranks' checkpoint onto 4, fsdp's onto ddp, and so on. */
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#include "parallel/comm.h"
#include "train/checkpoint.h"
#include "train/checkpoint_h5.h"

/* The metadata of a checkpoint that pd_checkpoint_verify accepted. */
static pd_status read_meta(hid_t f, const char *path, pd_ckpt_meta *m)
{
    int64_t nranks = 0;
    int bad = pd_ckpt_get_attr_str(f, "stage", m->stage, sizeof m->stage) < 0;
    bad |= pd_ckpt_get_attr_i64(f, "step", &m->step) < 0;
    bad |= pd_ckpt_get_attr_str(f, "strategy", m->strategy, sizeof m->strategy) < 0;
    bad |= pd_ckpt_get_attr_i64(f, "nranks", &nranks) < 0;
    m->nranks = (int)nranks;
    hid_t a = H5Aopen(f, "elapsed_seconds", H5P_DEFAULT);
    bad |= a < 0 || H5Aread(a, H5T_NATIVE_DOUBLE, &m->elapsed) < 0;
    if (a >= 0) H5Aclose(a);
    hid_t g = H5Gopen2(f, "sampler", H5P_DEFAULT);
    bad |= g < 0;
    if (g >= 0) {
        bad |= pd_ckpt_get_attr_i64(g, "epoch", &m->sampler.epoch) < 0;
        bad |= pd_ckpt_get_attr_i64(g, "position", &m->sampler.position) < 0;
        bad |= pd_ckpt_get_attr_i64(g, "step", &m->sampler.step) < 0;
        bad |= pd_ckpt_get_attr_u64(g, "seed", &m->sampler.seed) < 0;
        bad |= pd_ckpt_get_attr_i64(g, "batch_residues", &m->sampler.batch_residues) < 0;
        bad |= pd_ckpt_get_attr_u64(g, "lengths_hash", &m->sampler.lengths_hash) < 0;
        H5Gclose(g);
    }
    g = H5Gopen2(f, "rng", H5P_DEFAULT);
    bad |= g < 0 || pd_ckpt_get_attr_u64(g, "seed", &m->seed) < 0;
    if (g >= 0) H5Gclose(g);
    return bad ? pd_fail(PD_ERR_FORMAT, "%s: missing or unreadable checkpoint metadata", path) : PD_OK;
}

static pd_status read_tensors(hid_t f, pd_engine *e)
{
    const pd_params *P = e->P;
    PD_TRY(pd_h5_check_param_group(f, "params", P));
    PD_TRY(pd_h5_check_param_group(f, "optimizer/m", P));
    PD_TRY(pd_h5_check_param_group(f, "optimizer/v", P));
    hid_t opt = H5Gopen2(f, "optimizer", H5P_DEFAULT);
    int64_t opt_step = 0;
    int bad = opt < 0 || pd_ckpt_get_attr_i64(opt, "step", &opt_step) < 0;
    if (opt >= 0) H5Gclose(opt);
    if (bad) return pd_fail(PD_ERR_FORMAT, "the checkpoint's optimizer group has no step");
    pd_engine_set_opt_step(e, opt_step);
    for (int u = 0; u < e->n_units; u++) {
        int64_t begin, n;
        float *data, *m, *v;
        pd_engine_owned(e, u, &begin, &n, &data, &m, &v);
        float *full = pd_engine_full_unit(e, u);
        if (full) {
            const pd_param_unit *U = &P->units[u];
            PD_TRY(pd_h5_read_flat_range(f, "params", P, U->begin, U->begin + U->size, full));
        } else {
            PD_TRY(pd_h5_read_flat_range(f, "params", P, begin, begin + n, data));
        }
        PD_TRY(pd_h5_read_flat_range(f, "optimizer/m", P, begin, begin + n, m));
        PD_TRY(pd_h5_read_flat_range(f, "optimizer/v", P, begin, begin + n, v));
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
