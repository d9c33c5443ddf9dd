/* layers.h — the layers the four models are built of, declared and run one way. A Linear, a
 * norm's affine and a convolution are a weight and an optional bias in the parameter store,
 * named "<prefix>.<name>.weight" / ".bias" (prefix NULL: "<name>.weight"), in PyTorch's
 * shapes and with its default initialisation unless told otherwise. The weight is declared
 * before the bias, so the store's layout, and the initial values (keyed by seed and name), are
 * those of the models' own helpers these replace. */
#ifndef PD_NN_LAYERS_H
#define PD_NN_LAYERS_H

#include <stdint.h>

#include "nn/params.h"
#include "nn/tape.h"

enum { PD_NO_BIAS = 0, PD_BIAS = 1 };

/* nn.Linear: w [out, in], b [out] (NULL without bias). */
typedef struct pd_linear_layer { pd_tensor *w, *b; } pd_linear_layer;
/* A norm's affine (LayerNorm, GroupNorm, BatchNorm): w [C] starting at 1, b [C] at 0 (or NULL). */
typedef struct pd_norm_layer { pd_tensor *w, *b; } pd_norm_layer;

/* The convolutions of nn/conv.h. */
typedef enum pd_conv_kind {
    PD_CONV_K2,            /* Conv2d/3d kernel 2, stride 1 ('same') or 2: w [out, in, 2, 2(, 2)] */
    PD_CONV_TRANSPOSE_K2,  /* ConvTranspose2d/3d kernel 2, stride 2: w [in, out, 2, 2(, 2)] */
    PD_CONV_POINTWISE      /* Conv2d/3d kernel 1: w [out, in, 1, 1(, 1)] */
} pd_conv_kind;
typedef struct pd_conv_layer {
    pd_tensor *w, *b;      /* b [out] or NULL */
    pd_conv_kind kind;
    int stride;            /* PD_CONV_K2: 1 or 2 */
} pd_conv_layer;

/* PyTorch's nn.Linear(in, out): weight and bias U(±1/sqrt(in)). */
pd_linear_layer pd_declare_linear(pd_params *P, const char *prefix, const char *name, int64_t out, int64_t in,
                                  int bias);
/* A Linear whose weight starts by `init` (with `arg`) and whose bias starts at zero (DiT). */
pd_linear_layer pd_declare_linear_init(pd_params *P, const char *prefix, const char *name, int64_t out, int64_t in,
                                       pd_init init, double arg);
/* A norm's affine over `channels`. */
pd_norm_layer pd_declare_norm(pd_params *P, const char *prefix, const char *name, int64_t channels, int bias);
/* A 2-D or 3-D (`spatial` = 2 or 3) convolution from `in` to `out` channels with PyTorch's
 * default init, U(±1/sqrt(fan_in)) for weight and bias; fan_in = dim 1 of the weight times the
 * kernel volume, as PyTorch takes it (so a transposed conv's is out · 2^spatial). */
pd_conv_layer pd_declare_conv(pd_params *P, const char *prefix, const char *name, int spatial, pd_conv_kind kind,
                              int stride, int64_t in, int64_t out, int bias);

/* Forward: y = x Wᵀ + b over the last dimension. */
pd_tensor *pd_apply_linear(pd_graph *g, pd_tensor *x, const pd_linear_layer *l);
pd_tensor *pd_apply_layernorm(pd_graph *g, pd_tensor *x, const pd_norm_layer *n, double eps);
pd_tensor *pd_apply_groupnorm(pd_graph *g, pd_tensor *x, const pd_norm_layer *n, int64_t groups, double eps);
pd_tensor *pd_apply_conv(pd_graph *g, pd_tensor *x, const pd_conv_layer *c);

#endif
