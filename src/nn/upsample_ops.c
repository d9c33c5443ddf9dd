/* upsample_ops.c — the tape ops of upsample.h around the bilinear kernels (cuda/ops_conv.cu's on a
 * GPU graph: same taps, pointwise_index.h). */
#include "nn/upsample.h"

#include "nn/ops_device.h"
#include "nn/ops_internal.h"
#include "nn/upsample_kernels.h"

typedef struct upsample_saved { double ratio_h, ratio_w; } upsample_saved;

static void upsample_backward(pd_graph *g, pd_node *n)
{
    const upsample_saved *s = n->saved;
    pd_tensor *x = n->in[0], *y = n->out;
    pd_real *gx = pd_grad(g, x);
    if (!gx) return;
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        pd_cuda_arena *work = pd_graph_cuda_work(g);
        if (!work) return;
        size_t mark = work->used;
        pd_graph_cuda_backward_done(g, pd_cuda_upsample_bilinear_backward(work, y->grad, gx, x->shape[0] * x->shape[1],
                                                                          x->shape[2], x->shape[3], y->shape[2],
                                                                          y->shape[3], s->ratio_h, s->ratio_w),
                                    "upsample bilinear");
        work->used = mark;
        return;
    }
#endif
    pd_status st = pd_upsample_bilinear_backward(y->grad, x->shape[0] * x->shape[1], x->shape[2], x->shape[3],
                                                 y->shape[2], y->shape[3], s->ratio_h, s->ratio_w, gx);
    if (st != PD_OK) pd_graph_set_status(g, st);
}

static pd_tensor *upsample(pd_graph *g, pd_tensor *x, int64_t out_h, int64_t out_w, double ratio_h, double ratio_w)
{
    if (out_h < 1 || out_w < 1)
        return pd_graph_fail(g, "upsample bilinear: output %lldx%lld of input %s is empty", (long long)out_h,
                             (long long)out_w, pd_shape_of(x).s);
    pd_tensor *y = pd_tensor_new4(g, x->shape[0], x->shape[1], out_h, out_w);
    if (!y) return NULL;
    int on_gpu = 0;
#if PD_NN_CUDA
    on_gpu = pd_graph_on_cuda(g);
    if (on_gpu && !pd_graph_cuda_forward_done(g, pd_cuda_upsample_bilinear_forward(x->data, y->data,
                                                                                   x->shape[0] * x->shape[1],
                                                                                   x->shape[2], x->shape[3], out_h,
                                                                                   out_w, ratio_h, ratio_w),
                                              "upsample bilinear"))
        return NULL;
#endif
    if (!on_gpu) {
        pd_status st = pd_upsample_bilinear_forward(x->data, x->shape[0] * x->shape[1], x->shape[2], x->shape[3], out_h,
                                                    out_w, ratio_h, ratio_w, y->data);
        if (st != PD_OK) {
            pd_graph_set_status(g, st);
            return NULL;
        }
    }
    pd_node *n = pd_record(g, "upsample bilinear", upsample_backward, y, 1, (pd_tensor *[]){x});
#if PD_NN_CUDA
    if (on_gpu) pd_node_on_device(n);
#endif
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
