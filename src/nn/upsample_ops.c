/* upsample_ops.c — the tape ops of upsample.h around the bilinear kernels (upsample_bilinear.c on
 * the CPU, through the backend table; a device backend's on a device graph: same taps,
 * pointwise_index.h). */
#include "nn/upsample.h"

#include "nn/backend_cpu.h"
#include "nn/kernel_desc.h"
#include "nn/op_run.h"
#include "nn/ops_internal.h"
#include "nn/upsample_kernels.h"

pd_status pd_cpu_upsample_forward(const void *desc)
{
    const pd_upsample_desc *d = desc;
    return pd_upsample_bilinear_forward(d->x, d->planes, d->H, d->W, d->Ho, d->Wo, d->ratio_h, d->ratio_w, d->y);
}

pd_status pd_cpu_upsample_backward(const void *desc)
{
    const pd_upsample_desc *d = desc;
    return pd_upsample_bilinear_backward(d->gy, d->planes, d->H, d->W, d->Ho, d->Wo, d->ratio_h, d->ratio_w, d->gx);
}

typedef struct upsample_saved { double ratio_h, ratio_w; } upsample_saved;

static void upsample_backward(pd_graph *g, pd_node *n)
{
    const upsample_saved *s = n->saved;
    pd_tensor *x = n->in[0], *y = n->out;
    pd_real *gx = pd_grad(g, x);
    if (!gx) return;
    pd_upsample_desc d = {.planes = x->shape[0] * x->shape[1], .H = x->shape[2], .W = x->shape[3], .Ho = y->shape[2],
                          .Wo = y->shape[3], .ratio_h = s->ratio_h, .ratio_w = s->ratio_w, .gy = y->grad, .gx = gx};
    pd_op_backward(g, n, &d);
}

static pd_tensor *upsample(pd_graph *g, pd_tensor *x, int64_t out_h, int64_t out_w, double ratio_h, double ratio_w)
{
    if (out_h < 1 || out_w < 1)
        return pd_graph_fail(g, "upsample bilinear: output %lldx%lld of input %s is empty", (long long)out_h,
                             (long long)out_w, pd_shape_of(x).s);
    pd_tensor *y = pd_tensor_new4(g, x->shape[0], x->shape[1], out_h, out_w);
    if (!y) return NULL;
    pd_upsample_desc d = {.planes = x->shape[0] * x->shape[1], .H = x->shape[2], .W = x->shape[3], .Ho = out_h,
                          .Wo = out_w, .ratio_h = ratio_h, .ratio_w = ratio_w, .x = x->data, .y = y->data};
    if (!pd_op_forward(g, PD_OP_UPSAMPLE_BILINEAR, &d)) return NULL;
    pd_node *n = pd_record_op(g, PD_OP_UPSAMPLE_BILINEAR, upsample_backward, y, 1, (pd_tensor *[]){x});
    if (n) {
        upsample_saved *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        s->ratio_h = ratio_h;
        s->ratio_w = ratio_w;
    }
    return y;
}

pd_tensor *pd_upsample_bilinear_scale(pd_graph *g, pd_tensor *x, double scale)
{
    if (!pd_graph_ok(g, x)) return NULL;
    if (x->ndim != 4 || !(scale > 0))
        return pd_graph_fail(g, "upsample bilinear: input %s must be [N, C, H, W] and scale %g > 0", pd_shape_of(x).s,
                             scale);
    const int64_t out_h = (int64_t)((double)x->shape[2] * scale), out_w = (int64_t)((double)x->shape[3] * scale);
    return upsample(g, x, out_h, out_w, pd_upsample_ratio(x->shape[2], out_h, scale),
                    pd_upsample_ratio(x->shape[3], out_w, scale));
}

pd_tensor *pd_upsample_bilinear_size(pd_graph *g, pd_tensor *x, int64_t out_h, int64_t out_w)
{
    if (!pd_graph_ok(g, x)) return NULL;
    if (x->ndim != 4) return pd_graph_fail(g, "upsample bilinear: input %s must be [N, C, H, W]", pd_shape_of(x).s);
    return upsample(g, x, out_h, out_w, pd_upsample_ratio(x->shape[2], out_h, 0),
                    pd_upsample_ratio(x->shape[3], out_w, 0));
}
