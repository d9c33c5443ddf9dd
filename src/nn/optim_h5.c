/* optim_h5.c — AdamW state in HDF5 (unsharded case): moments in the parameter layout of
 * params_h5.c and the step count, so a saved run continues bit for bit. */
#include "nn/optim.h"

#include <hdf5.h>
#include <stdio.h>

static pd_status need_full_range(const pd_adamw *opt, const pd_params *P)
{
    if (opt->begin != 0 || opt->end != P->total)
        return pd_fail(PD_ERR_UNSUPPORTED, "AdamW state of the range [%lld, %lld) of %lld: only unsharded optimizers "
                                           "are saved here (sharded state is the distributed engine's job)",
                       (long long)opt->begin, (long long)opt->end, (long long)P->total);
    return PD_OK;
}

pd_status pd_adamw_write_h5(const pd_adamw *opt, const pd_params *P, int64_t loc, const char *group)
{
    PD_TRY(need_full_range(opt, P));
    hid_t grp = H5Gcreate2((hid_t)loc, group, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (grp < 0) return pd_fail(PD_ERR_IO, "cannot create HDF5 group '%s' for the optimizer state", group);
    long long step = (long long)opt->step;
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t at = H5Acreate2(grp, "step", H5T_NATIVE_LLONG, sp, H5P_DEFAULT, H5P_DEFAULT);
    pd_status st = PD_OK;
    if (at < 0 || H5Awrite(at, H5T_NATIVE_LLONG, &step) < 0) st = pd_fail(PD_ERR_IO, "cannot write %s/step", group);
    if (at >= 0) H5Aclose(at);
    H5Sclose(sp);
    if (st == PD_OK) st = pd_params_write_h5(P, grp, "m", opt->m);
    if (st == PD_OK) st = pd_params_write_h5(P, grp, "v", opt->v);
    H5Gclose(grp);
    return st;
}

pd_status pd_adamw_read_h5(pd_adamw *opt, const pd_params *P, int64_t loc, const char *group)
{
    PD_TRY(need_full_range(opt, P));
    if (H5Lexists((hid_t)loc, group, H5P_DEFAULT) <= 0) return pd_fail(PD_ERR_FORMAT, "no optimizer group '%s'", group);
    hid_t grp = H5Gopen2((hid_t)loc, group, H5P_DEFAULT);
    if (grp < 0) return pd_fail(PD_ERR_FORMAT, "cannot open optimizer group '%s'", group);
    long long step = 0;
    pd_status st = PD_OK;
    hid_t at = H5Aexists(grp, "step") > 0 ? H5Aopen(grp, "step", H5P_DEFAULT) : -1;
    if (at < 0 || H5Aread(at, H5T_NATIVE_LLONG, &step) < 0) st = pd_fail(PD_ERR_FORMAT, "no step count in '%s'", group);
    if (at >= 0) H5Aclose(at);
    if (st == PD_OK) st = pd_params_read_h5(P, grp, "m", opt->m);
    if (st == PD_OK) st = pd_params_read_h5(P, grp, "v", opt->v);
    if (st == PD_OK) opt->step = step;
    H5Gclose(grp);
    return st;
}
