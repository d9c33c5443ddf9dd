/* checkpoint_h5.c — the checkpoint format's string attributes; see checkpoint_h5.h. */
#include "train/checkpoint_h5.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset/h5util.h"

pd_status pd_ckpt_attr_str(hid_t loc, const char *name, const char *value)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, strlen(value) + 1);
    pd_status st = pd_h5_attr_write(loc, name, type, value);
    H5Tclose(type);
    return st;
}

pd_status pd_ckpt_get_attr_str(hid_t loc, const char *name, char *out, size_t len)
{
    char *s = NULL;
    PD_TRY(pd_h5_attr_read_string(loc, name, &s));
    snprintf(out, len, "%s", s);
    free(s);
    return PD_OK;
}
