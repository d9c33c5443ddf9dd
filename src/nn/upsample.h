/* upsample.h — bilinear upsampling on the tape, F.interpolate(mode='bilinear',
 * align_corners=False) on [N, C, H, W]. Kernel and exact index formula: upsample_kernels.h. */
#ifndef PD_NN_UPSAMPLE_H
#define PD_NN_UPSAMPLE_H

#include "nn/tape.h"

/* F.interpolate(x, scale_factor=scale): output ⌊H·scale⌋ × ⌊W·scale⌋, source ratio 1/scale. */
pd_tensor *pd_upsample_bilinear_scale(pd_graph *g, pd_tensor *x, double scale);
/* F.interpolate(x, size=(out_h, out_w)): source ratio in/out per dim. */
pd_tensor *pd_upsample_bilinear_size(pd_graph *g, pd_tensor *x, int64_t out_h, int64_t out_w);

#endif
