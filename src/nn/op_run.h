/* op_run.h — how an op function reaches a backend (backend.h), for op writers:
 *
 *   static void gelu_backward(pd_graph *g, pd_node *n)
 *   {
 *       pd_real *gx = pd_grad(g, n->in[0]);
 *       if (!gx) return;
 *       pd_activation_desc d = {...x, y, gy = n->out->grad, gx...};
 *       pd_op_backward(g, n, &d);                  // the backend the forward ran on
 *   }
 *   pd_tensor *pd_gelu(pd_graph *g, pd_tensor *x)
 *   {
 *       validate; y = pd_tensor_new_like(g, x);    // shape inference + allocation
 *       pd_activation_desc d = {PD_ACT_GELU, x->numel, x->data, y->data};
 *       if (!pd_op_forward(g, PD_OP_GELU, &d)) return NULL;   // fails naming the op if the
 *       pd_record_op(g, PD_OP_GELU, gelu_backward, y, 1, (pd_tensor *[]){x});   // backend lacks it
 *       return y;
 *   }
 *
 * The descriptor struct of each op is in kernel_desc.h; the CPU kernel is registered in
 * backend_cpu.c, a device kernel in its backend's table (cuda/backend.cu). */
#ifndef PD_NN_OP_RUN_H
#define PD_NN_OP_RUN_H

#include "nn/backend.h"
#include "nn/tape.h"

/* Compute op's forward on the backend the graph gives it (pd_graph_op_backend); a device
 * backend's queued work is waited for, so host code may read the result and asynchronous
 * errors name the op. 1 on success, 0 with the graph failed. */
int pd_op_forward(pd_graph *g, pd_op op, const void *desc);
/* In a node's backward: the op's backward on the backend its forward ran on (queued on a
 * device, no wait). Failures make the graph's status sticky. */
void pd_op_backward(pd_graph *g, const pd_node *n, const void *desc);

/* Host memory a model owns (a codebook, running statistics) where the graph's backend can
 * read and write it: p itself on the cpu, a copy in the graph's memory on a device (copy
 * results back with memcpy when the kernel updates it). NULL with the graph failed. */
void *pd_graph_backend_copy(pd_graph *g, void *p, size_t bytes);

/* The backend of the graph's placement. */
const pd_backend *pd_graph_backend(const pd_graph *g);
/* The backend that computes `op` on this graph: the graph's own, or the cpu for a host-side op
 * on a device; NULL with the graph failed (naming the op) when its device backend lacks it. */
const pd_backend *pd_graph_op_backend(pd_graph *g, pd_op op);
/* The graph backend's workspace (created on first use); NULL on the cpu, or with the graph
 * failed when it cannot be created. Rewind it (backend work_mark/work_rewind) after kernels
 * whose workspace is temporary: queued kernels run in stream order. */
void *pd_graph_work(pd_graph *g);

#endif
