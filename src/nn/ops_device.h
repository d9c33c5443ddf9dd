/* ops_device.h — what an op file needs to dispatch to the CUDA kernels (cuda/ops.h) when its
 * graph is on the GPU. Compiled in only where PD_NN_CUDA is 1 (a --with-cuda build, float op
 * set); every use in an op file sits inside `#if PD_NN_CUDA`, so the CPU build is unchanged.
 *
 * Pattern (forward): validate and allocate as on the CPU, then
 *     if (pd_graph_on_cuda(g)) { if (!pd_graph_cuda_forward_done(g, pd_cuda_X_forward(...), "x")) return NULL; }
 *     else { CPU loop }
 *     pd_node_on_device(pd_record(...));   -- only on the GPU path
 * and in the backward: `pd_graph_cuda_backward_done(g, pd_cuda_X_backward(...), "x")`. */
#ifndef PD_NN_OPS_DEVICE_H
#define PD_NN_OPS_DEVICE_H

#include "nn/tape.h"

#if PD_NN_CUDA
#include "../../cuda/ops.h"

int pd_graph_on_cuda(const pd_graph *g);
pd_cuda_precision pd_graph_cuda_precision(const pd_graph *g);
/* The graph's GPU workspace (created on first use); NULL with the graph failed. Ops rewind it
 * after calls whose workspace is temporary: queued kernels run in stream order, so the next
 * op reusing the bytes cannot overtake them. */
pd_cuda_arena *pd_graph_cuda_work(pd_graph *g);
/* After a forward's kernels were queued: wait for them (so host code may read the result and
 * asynchronous errors name the op), record a failure in the graph. 1 when all went well. */
int pd_graph_cuda_forward_done(pd_graph *g, pd_status launched, const char *op);
/* After a backward's kernels were queued (no wait: backward runs asynchronously). */
void pd_graph_cuda_backward_done(pd_graph *g, pd_status launched, const char *op);
/* Mark a recorded node (may be NULL) as having a GPU backward. */
void pd_node_on_device(pd_node *n);
#endif

#endif
