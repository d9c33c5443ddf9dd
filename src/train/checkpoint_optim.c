/* checkpoint_optim.c — an unsharded AdamW's moments and step count to and from HDF5; see
 * checkpoint_optim.h. */
#include "train/checkpoint_optim.h"

#include "dataset/h5util.h"
#include "train/checkpoint_params.h"

static pd_status need_full_range(const pd_adamw *opt, const pd_params *P)
{
    if (opt->begin != 0 || opt->end != P->total)
        return pd_fail(PD_ERR_UNSUPPORTED, "AdamW state of the range [%lld, %lld) of %lld: only unsharded optimizers "
                                           "are saved here (sharded state is the distributed engine's job)",
                       (long long)opt->begin, (long long)opt->end, (long long)P->total);
    return PD_OK;
}

pd_status pd_ckpt_adamw_write(hid_t loc, const char *group, const pd_adamw *opt, const pd_params *P)
{
    PD_TRY(need_full_range(opt, P));
    hid_t grp = H5Gcreate2(loc, group, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (grp < 0) return pd_h5_fail(PD_ERR_IO, "cannot create HDF5 group '%s' for the optimizer state", group);
    const long long step = (long long)opt->step;
    pd_status st = pd_h5_attr_write(grp, "step", H5T_NATIVE_LLONG, &step);
    if (st == PD_OK) st = pd_ckpt_params_write(grp, "m", P, opt->m);
    if (st == PD_OK) st = pd_ckpt_params_write(grp, "v", P, opt->v);
    H5Gclose(grp);
    return st;
}

pd_status pd_ckpt_adamw_read(hid_t loc, const char *group, pd_adamw *opt, const pd_params *P)
{
    PD_TRY(need_full_range(opt, P));
    hid_t grp = H5Lexists(loc, group, H5P_DEFAULT) > 0 ? H5Gopen2(loc, group, H5P_DEFAULT) : -1;
    if (grp < 0) return pd_fail(PD_ERR_FORMAT, "no optimizer group '%s'", group);
    long long step = 0;
    pd_status st = pd_h5_attr_read(grp, "step", H5T_NATIVE_LLONG, &step);
    if (st != PD_OK) pd_error_context("no step count in '%s'", group);
    if (st == PD_OK) st = pd_ckpt_params_read(grp, "m", P, opt->m);
    if (st == PD_OK) st = pd_ckpt_params_read(grp, "v", P, opt->v);
    if (st == PD_OK) opt->step = step;
    H5Gclose(grp);
    return st;
}
