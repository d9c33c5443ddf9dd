/* diffusion_backbone.c — the residue backbone reader of diffusion_backbone.h. */
#include "models/diffusion_backbone.h"

#include <math.h>
#include <string.h>

#include "features/geometry.h"

void pd_backbone_residue_from(const float *a14, int valid, pd_backbone_residue *r)
{
    memset(r, 0, sizeof *r);
    if (!valid) return;
    for (int k = 0; k < 9; k++)
        if (!isfinite(a14[k])) return;
    for (int a = 0; a < 3; a++) memcpy(r->atom[a], a14 + 3 * a, sizeof r->atom[a]);
    const int o_ok = isfinite(a14[9]) && isfinite(a14[10]) && isfinite(a14[11]);
    memcpy(r->atom[PD_BB_ATOM_O], o_ok ? a14 + 9 : a14 + 3, sizeof r->atom[PD_BB_ATOM_O]);
    float *n = r->atom[PD_BB_ATOM_N], *ca = r->atom[PD_BB_ATOM_CA], *c = r->atom[PD_BB_ATOM_C];
    float *cb = r->atom[PD_BB_ATOM_CB];
    pd_virtual_cb(n, ca, c, cb);
    pd_residue_frame(n, ca, c, cb, r->frame);
    float d[3];
    pd_sub3(cb, ca, d);
    pd_unit3(d, r->u);
    r->ok = 1;
}
