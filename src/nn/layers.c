/* layers.c — declaring and running the models' Linear, norm and convolution layers; see
 * layers.h. */
#include "nn/layers.h"

#include <stdio.h>

#include "nn/conv.h"
#include "nn/norm.h"
#include "nn/ops.h"

static pd_tensor *declare(pd_params *P, const char *prefix, const char *name, const char *part, int ndim,
                          const int64_t *shape, pd_init init, double arg)
{
    char full[256];
    if (prefix) snprintf(full, sizeof full, "%s.%s.%s", prefix, name, part);
    else snprintf(full, sizeof full, "%s.%s", name, part);
    return pd_param_new(P, full, ndim, shape, init, arg);
}

pd_linear_layer pd_declare_linear(pd_params *P, const char *prefix, const char *name, int64_t out, int64_t in,
                                  int bias)
{
    pd_linear_layer l;
    l.w = declare(P, prefix, name, "weight", 2, (int64_t[]){out, in}, PD_INIT_TORCH_DEFAULT, (double)in);
    l.b = bias ? declare(P, prefix, name, "bias", 1, (int64_t[]){out}, PD_INIT_TORCH_DEFAULT, (double)in) : NULL;
    return l;
}

pd_linear_layer pd_declare_linear_init(pd_params *P, const char *prefix, const char *name, int64_t out, int64_t in,
                                       pd_init init, double arg)
{
    pd_linear_layer l;
    l.w = declare(P, prefix, name, "weight", 2, (int64_t[]){out, in}, init, arg);
    l.b = declare(P, prefix, name, "bias", 1, (int64_t[]){out}, PD_INIT_ZEROS, 0);
    return l;
}

pd_norm_layer pd_declare_norm(pd_params *P, const char *prefix, const char *name, int64_t channels, int bias)
{
    pd_norm_layer n;
    n.w = declare(P, prefix, name, "weight", 1, (int64_t[]){channels}, PD_INIT_ONES, 0);
    n.b = bias ? declare(P, prefix, name, "bias", 1, (int64_t[]){channels}, PD_INIT_ZEROS, 0) : NULL;
    return n;
}

pd_conv_layer pd_declare_conv(pd_params *P, const char *prefix, const char *name, int spatial, pd_conv_kind kind,
                              int stride, int64_t in, int64_t out, int bias)
{
    const int64_t k = kind == PD_CONV_POINTWISE ? 1 : 2;
    int64_t shape[5] = {out, in, k, k, k};
    if (kind == PD_CONV_TRANSPOSE_K2) {
        shape[0] = in;
        shape[1] = out;
    }
    double fan_in = (double)shape[1];
    for (int d = 0; d < spatial; d++) fan_in *= (double)k;
    pd_conv_layer c = {.kind = kind, .stride = kind == PD_CONV_K2 ? stride : 1};
    c.w = declare(P, prefix, name, "weight", 2 + spatial, shape, PD_INIT_TORCH_DEFAULT, fan_in);
    c.b = bias ? declare(P, prefix, name, "bias", 1, (int64_t[]){out}, PD_INIT_TORCH_DEFAULT, fan_in) : NULL;
    return c;
}

pd_tensor *pd_apply_linear(pd_graph *g, pd_tensor *x, const pd_linear_layer *l)
{
    return pd_linear(g, x, l->w, l->b);
}

pd_tensor *pd_apply_layernorm(pd_graph *g, pd_tensor *x, const pd_norm_layer *n, double eps)
{
    return pd_layernorm(g, x, n->w, n->b, eps);
}

pd_tensor *pd_apply_groupnorm(pd_graph *g, pd_tensor *x, const pd_norm_layer *n, int64_t groups, double eps)
{
    return pd_groupnorm(g, x, groups, n->w, n->b, eps);
}

pd_tensor *pd_apply_conv(pd_graph *g, pd_tensor *x, const pd_conv_layer *c)
{
    switch (c->kind) {
    case PD_CONV_K2: return pd_conv_k2(g, x, c->w, c->b, c->stride);
    case PD_CONV_TRANSPOSE_K2: return pd_conv_transpose_k2(g, x, c->w, c->b);
    case PD_CONV_POINTWISE: break;
    }
    return pd_conv_pointwise(g, x, c->w, c->b);
}
