/* op_run.c — pd_op_forward / pd_op_backward: hand an op's kernel descriptor to the backend that
 * computes it on this graph, and turn its status into the graph's sticky error naming the op. */
#include "nn/op_run.h"

#include <string.h>

#include "core/error.h"

static int context(pd_graph *g, const pd_backend *b, pd_backend_ctx *ctx)
{
    ctx->work = NULL;
    ctx->precision = pd_graph_placement(g).precision;
    if (b->device == PD_DEVICE_CPU) return 1;
    ctx->work = pd_graph_work(g);
    return ctx->work != NULL || !b->work_create;
}

int pd_op_forward(pd_graph *g, pd_op op, const void *desc)
{
    if (pd_graph_status(g) != PD_OK) return 0;
    const pd_backend *b = pd_graph_op_backend(g, op);
    pd_backend_ctx ctx;
    if (!b || !context(g, b, &ctx)) return 0;
    pd_status st = b->forward(&ctx, op, desc);
    if (st == PD_OK && b->sync) st = b->sync(pd_op_name(op));
    if (st != PD_OK) {
        if (b->device != PD_DEVICE_CPU) pd_error_context("forward of %s on the GPU", pd_op_name(op));
        else pd_error_context("forward of %s", pd_op_name(op));
        pd_graph_set_status(g, st);
        return 0;
    }
    return 1;
}

void pd_op_backward(pd_graph *g, const pd_node *n, const void *desc)
{
    if (pd_graph_status(g) != PD_OK) return;
    const pd_backend *b = n->on_device ? pd_graph_backend(g) : pd_backend_cpu();
    pd_backend_ctx ctx;
    if (!context(g, b, &ctx)) return;
    pd_status st = b->backward(&ctx, n->op_id, desc);
    if (st != PD_OK) {
        if (b->device != PD_DEVICE_CPU) pd_error_context("backward of %s on the GPU", n->op);
        pd_graph_set_status(g, st);
    }
}

void *pd_graph_backend_copy(pd_graph *g, void *p, size_t bytes)
{
    if (pd_graph_backend(g)->device == PD_DEVICE_CPU) return p;
    void *c = pd_graph_alloc(g, bytes ? bytes : 1);
    if (c && bytes) memcpy(c, p, bytes);
    return c;
}
