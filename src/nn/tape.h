/* tape.h — the graph of one training/eval step: an arena for activations, a reverse-mode tape
 * of recorded ops, grad/train flags, a sticky error, and the FSDP unit hooks. Models write
 * forward code only; pd_backward() replays the tape in reverse.
 *
 * How an op is written (see ops_pointwise.c for real ones; kernels use pd_real, never float):
 *
 *   typedef struct { pd_real alpha; } scale_saved;                  // state backward needs
 *
 *   static void scale_backward(pd_graph *g, pd_node *n)
 *   {
 *       const scale_saved *s = n->saved;
 *       pd_real *gx = pd_grad(g, n->in[0]);       // NULL if input wants no grad; else zero-
 *       if (!gx) return;                          // initialised on first use (arena)
 *       const pd_real *gy = n->out->grad;         // always allocated when backward runs
 *       for (int64_t i = 0; i < n->out->numel; i++) gx[i] += s->alpha * gy[i];   // ACCUMULATE
 *   }
 *
 *   pd_tensor *pd_scale(pd_graph *g, pd_tensor *x, double alpha)
 *   {
 *       if (!pd_graph_ok(g, x)) return NULL;                       // sticky error / NULL input
 *       pd_tensor *y = pd_tensor_new_like(g, x);                   // arena, uninitialised
 *       if (!y) return NULL;
 *       for (int64_t i = 0; i < x->numel; i++) y->data[i] = (pd_real)alpha * x->data[i];
 *       pd_node *n = pd_record(g, "scale", scale_backward, y, 1, (pd_tensor *[]){x});
 *       if (n) {                                                   // NULL: no grad needed
 *           scale_saved *s = pd_node_save(g, n, sizeof *s);        // arena, lives to reset
 *           if (!s) return NULL;
 *           s->alpha = (pd_real)alpha;
 *       }
 *       return y;
 *   }
 *
 * Shape errors: `return pd_graph_fail(g, "scale: ...")` records the message, makes the graph's
 * status sticky (every later op returns NULL) and returns NULL; check pd_graph_status() once. */
#ifndef PD_NN_TAPE_H
#define PD_NN_TAPE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "nn/arena.h"
#include "nn/device.h"
#include "nn/op.h"
#include "nn/tensor.h"

#define PD_NODE_MAX_INPUTS 8

typedef struct pd_graph pd_graph;
typedef struct pd_node pd_node;

/* Backward of one node: read n->out->grad, add into pd_grad(g, n->in[i]). */
typedef void (*pd_backward_fn)(pd_graph *g, pd_node *n);

struct pd_node {
    const char *op;                  /* op name, for messages and profiles */
    pd_op op_id;                     /* its entry in the op enum (PD_OP_CUSTOM: a model's own) */
    pd_backward_fn backward;
    pd_tensor *out;                  /* NULL for marker nodes (unit boundaries) */
    int n_in;
    pd_tensor *in[PD_NODE_MAX_INPUTS]; /* inputs as given (entries may be NULL: optional bias) */
    void *saved;                     /* op-specific state from pd_node_save, or NULL */
    int unit_id;                     /* FSDP unit active when recorded, -1 outside any unit */
    int on_device;                   /* its backward runs on the graph's device backend (it
                                      * supports the op); other nodes of a device graph run on
                                      * the host after a sync */
};

/* FSDP hooks (the distributed engine sets them; with none set, units are no-ops).
 * Forward:  pd_unit_begin -> before_forward(unit)  (gather the unit's parameters)
 *           pd_unit_end   -> after_forward(unit)   (free the gathered copy)
 * Backward: reaching the unit's end marker   -> before_backward(unit)  (re-gather)
 *           reaching the unit's begin marker -> after_backward(unit)   (reduce-scatter grads, free)
 * A hook returns PD_OK or a status that stops forward (sticky) / backward. */
typedef pd_status (*pd_unit_hook)(void *user, int unit_id);
typedef struct pd_unit_hooks {
    pd_unit_hook before_forward, after_forward, before_backward, after_backward;
    void *user;
} pd_unit_hooks;

/* ---- graph lifetime ------------------------------------------------------------------ */
/* arena_chunk_bytes = 0 picks the arena default. Starts with grad enabled, training mode, on
 * the process's default placement (device.h: cpu unless pd_placement_start chose cuda). */
pd_status pd_graph_create(pd_graph **out, size_t arena_chunk_bytes);
/* Move an empty graph (just created or reset) to another placement. */
pd_status pd_graph_set_placement(pd_graph *g, const pd_placement *p);
pd_placement pd_graph_placement(const pd_graph *g);
pd_device pd_graph_device(const pd_graph *g);
/* Wait for the GPU work of this graph queued so far (no-op on the cpu). Forward ops on the GPU
 * already wait before returning and pd_backward waits at its end, so host code may read any
 * tensor's data/grad whenever an op or pd_backward has returned. */
pd_status pd_graph_sync(pd_graph *g, const char *what);
void pd_graph_destroy(pd_graph *g);
/* End of step: forget the tape and every activation (arena rewound), clear the sticky error. */
void pd_graph_reset(pd_graph *g);
pd_arena *pd_graph_arena(pd_graph *g);

/* Grad mode: when off, ops record nothing (evaluation, sampling). Returns the previous value. */
int pd_graph_set_grad(pd_graph *g, int enabled);
int pd_graph_grad_enabled(const pd_graph *g);
/* Train/eval mode (batchnorm statistics, VQ codebook updates). Returns the previous value. */
int pd_graph_set_training(pd_graph *g, int training);
int pd_graph_training(const pd_graph *g);
void pd_graph_set_unit_hooks(pd_graph *g, const pd_unit_hooks *hooks);

/* ---- errors ---------------------------------------------------------------------------- */
pd_status pd_graph_status(const pd_graph *g);
/* Record a message (pd_fail), make the error sticky, return NULL (for `return` in ops). */
pd_tensor *pd_graph_fail(pd_graph *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Mark the graph failed with a status already recorded by pd_fail (e.g. from a hook). */
void pd_graph_set_status(pd_graph *g, pd_status s);
/* 1 if the graph has no error and `x` is non-NULL (the first line of every op). */
int pd_graph_ok(pd_graph *g, const pd_tensor *x);

/* ---- tensors in the arena ---------------------------------------------------------------- */
pd_tensor *pd_tensor_new(pd_graph *g, int ndim, const int64_t *shape);        /* uninitialised */
pd_tensor *pd_tensor_zeros(pd_graph *g, int ndim, const int64_t *shape);
pd_tensor *pd_tensor_new_like(pd_graph *g, const pd_tensor *x);
/* Shorthands for up to 4 dims. */
pd_tensor *pd_tensor_new1(pd_graph *g, int64_t d0);
pd_tensor *pd_tensor_new2(pd_graph *g, int64_t d0, int64_t d1);
pd_tensor *pd_tensor_new3(pd_graph *g, int64_t d0, int64_t d1, int64_t d2);
pd_tensor *pd_tensor_new4(pd_graph *g, int64_t d0, int64_t d1, int64_t d2, int64_t d3);
/* Copy external float data into a new arena tensor (inputs: features, targets). */
pd_tensor *pd_tensor_from_floats(pd_graph *g, int ndim, const int64_t *shape, const float *src);
/* Wrap existing pd_real memory without copying (caller keeps it alive until reset). */
pd_tensor *pd_tensor_wrap(pd_graph *g, int ndim, const int64_t *shape, pd_real *data);
/* Arena scratch for index arrays and op workspaces. */
void *pd_graph_alloc(pd_graph *g, size_t bytes);

/* ---- recording (for op writers) ----------------------------------------------------------- */
/* Record `out = op(in...)` if grad is enabled and some input requires grad: sets
 * out->requires_grad and returns the node; otherwise returns NULL (nothing to do). The node is
 * tagged with the op of that name in the op enum (op.h; any other name is a model's own op,
 * PD_OP_CUSTOM, host-side). On a device graph an op its backend does not support and that is
 * not host-side fails the graph, naming the op (op_run.h says how ops reach the backends). */
pd_node *pd_record(pd_graph *g, const char *op, pd_backward_fn backward, pd_tensor *out, int n_in,
                   pd_tensor *const *in);
/* The same for an op of the enum (no name lookup). */
pd_node *pd_record_op(pd_graph *g, pd_op op, pd_backward_fn backward, pd_tensor *out, int n_in,
                      pd_tensor *const *in);
/* Arena memory for a node's saved state (zeroed); sets n->saved. NULL makes the graph fail. */
void *pd_node_save(pd_graph *g, pd_node *n, size_t bytes);
/* The gradient buffer of `t` to ACCUMULATE into: NULL if t is NULL or does not require grad;
 * otherwise allocated zeroed in the arena on first use (parameters: their flat-buffer view). */
pd_real *pd_grad(pd_graph *g, pd_tensor *t);

/* ---- autodiff ------------------------------------------------------------------------------- */
/* Stop-gradient: a tensor sharing x's data that requires no grad. */
pd_tensor *pd_detach(pd_graph *g, pd_tensor *x);
/* Seed d(loss)/d(loss) = 1 (loss must have one element) and run the tape in reverse.
 * Parameter grads ACCUMULATE into the flat grad buffer (zero them per step yourself). */
pd_status pd_backward(pd_graph *g, pd_tensor *loss);
/* Same with an explicit seed gradient of loss->numel values (gradcheck, partial backward). */
pd_status pd_backward_seeded(pd_graph *g, pd_tensor *out, const pd_real *seed);
/* Number of nodes on the tape (tests, profiles) and node i (0 = first recorded). */
int pd_tape_length(const pd_graph *g);
const pd_node *pd_tape_node(const pd_graph *g, int i);

/* ---- FSDP units ------------------------------------------------------------------------------ */
/* Mark the start/end of a unit's forward (a block). Calls the hooks and records marker nodes so
 * backward calls before_backward/after_backward at the right points. Units do not nest. */
void pd_unit_begin(pd_graph *g, int unit_id);
void pd_unit_end(pd_graph *g, int unit_id);

#endif
