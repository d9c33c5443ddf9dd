/* ops_device.h — for the one op file whose CUDA dispatch is not yet in the backend table
 * (backend.h, op_run.h): ops_attention.c (rope, attention) still calls the kernels of
 * cuda/ops.h directly when the graph is on the GPU. Compiled in only where PD_NN_CUDA is 1 (a
 * --with-cuda build, float op set); every use sits inside `#if PD_NN_CUDA`, so the CPU build
 * is unchanged. When ops_attention.c moves to the table, this header goes.
 *
 * Pattern (forward): validate and allocate as on the CPU, then
 *     if (pd_graph_on_cuda(g)) { if (!pd_graph_cuda_forward_done(g, pd_cuda_X_forward(...), "x")) return NULL; }
 *     else { CPU loop }
 * and in the backward: `pd_graph_cuda_backward_done(g, pd_cuda_X_backward(...), "x")`. */
#ifndef PD_NN_OPS_DEVICE_H
#define PD_NN_OPS_DEVICE_H

#include "config.h"
#include "nn/op_run.h"
#include "nn/tape.h"

#if defined(PD_HAVE_CUDA) && !defined(PD_REAL_DOUBLE)
#define PD_NN_CUDA 1
#else
#define PD_NN_CUDA 0
#endif

#if PD_NN_CUDA
#include "../../cuda/ops.h"

static inline int pd_graph_on_cuda(const pd_graph *g) { return pd_graph_device(g) == PD_DEVICE_CUDA; }
static inline pd_cuda_precision pd_graph_cuda_precision(const pd_graph *g)
{
    return pd_graph_placement(g).precision == PD_GEMM_BF16 ? PD_CUDA_BF16 : PD_CUDA_FP32;
}
/* The graph's GPU workspace (created on first use); NULL with the graph failed. */
static inline pd_cuda_arena *pd_graph_cuda_work(pd_graph *g) { return (pd_cuda_arena *)pd_graph_work(g); }
/* After a forward's kernels were queued: wait for them (so host code may read the result and
 * asynchronous errors name the op), record a failure in the graph. 1 when all went well. */
static inline int pd_graph_cuda_forward_done(pd_graph *g, pd_status launched, const char *op)
{
    pd_status st = launched;
    if (st == PD_OK) st = pd_cuda_synchronize(op);
    if (st != PD_OK) {
        pd_error_context("forward of %s on the GPU", op);
        pd_graph_set_status(g, st);
        return 0;
    }
    return 1;
}
/* After a backward's kernels were queued (no wait: backward runs asynchronously). */
static inline void pd_graph_cuda_backward_done(pd_graph *g, pd_status launched, const char *op)
{
    if (launched != PD_OK) {
        pd_error_context("backward of %s on the GPU", op);
        pd_graph_set_status(g, launched);
    }
}
/* Nodes are marked by pd_record (the backend supports the op); kept for the callers. */
static inline void pd_node_on_device(pd_node *n) { (void)n; }
#endif

#endif
