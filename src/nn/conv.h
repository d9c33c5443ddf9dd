/* conv.h — convolution ops on the tape (forward + recorded backward), channels-first tensors
 * like PyTorch: 2-D inputs [N, C, H, W], 3-D inputs [N, C, D, H, W]. The kernels behind them
 * are conv_kernels.h (im2col + OpenBLAS GEMM). Bias may be NULL everywhere. */
#ifndef PD_NN_CONV_H
#define PD_NN_CONV_H

#include "nn/tape.h"

/* nn.Conv2d/Conv3d(Cin, Cout, kernel_size=2): stride 1 → padding='same' (0 before, 1 after in
 * every spatial dim), stride 2 → padding 0. w [Cout, Cin, 2, 2(, 2)], b [Cout]. */
pd_tensor *pd_conv_k2(pd_graph *g, pd_tensor *x, pd_tensor *w, pd_tensor *b, int stride);
/* nn.ConvTranspose2d/3d(Cin, Cout, kernel_size=2, stride=2): output 2× the input size.
 * w [Cin, Cout, 2, 2(, 2)], b [Cout]. */
pd_tensor *pd_conv_transpose_k2(pd_graph *g, pd_tensor *x, pd_tensor *w, pd_tensor *b);
/* nn.Conv2d/Conv3d(Cin, Cout, kernel_size=1): a linear map of the channels at every position.
 * x [N, Cin, spatial...] with 1 to 3 spatial dims; w [Cout, Cin] or [Cout, Cin, 1, ...]. */
pd_tensor *pd_conv_pointwise(pd_graph *g, pd_tensor *x, pd_tensor *w, pd_tensor *b);

#endif
