/* tape.c — the graph: arena-backed tensors, the reverse-mode tape, sticky errors and the FSDP
 * unit markers (see tape.h for how ops use it). */
#include "nn/tape.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/backend.h"
#include "nn/op_run.h"

struct pd_graph {
    pd_arena arena;
    pd_node *nodes;       /* the tape, in recording order (heap, grows) */
    int n_nodes, cap_nodes;
    int grad_enabled;
    int training;
    pd_status status;     /* sticky: first failure of this step */
    int current_unit;     /* unit between pd_unit_begin/end, -1 outside */
    pd_unit_hooks hooks;
    int has_hooks;
    pd_placement place;
    const pd_backend *backend;   /* of place.device */
    int host_backward;    /* device graphs: a node without a device backward is running its backward */
    void *work;           /* the backend's workspace, created on first use (run.gpu_arena_mb) */
};

static void work_destroy(pd_graph *g)
{
    if (g->work && g->backend->work_destroy) g->backend->work_destroy(g->work);
    g->work = NULL;
}

pd_status pd_graph_create(pd_graph **out, size_t arena_chunk_bytes)
{
    pd_graph *g = pd_calloc(1, sizeof *g);
    if (!g) return PD_ERR_NOMEM;
    pd_arena_init(&g->arena, arena_chunk_bytes);
    g->place = pd_placement_default();
    g->backend = pd_backend_for(g->place.device);
    if (!g->backend) {
        free(g);
        return pd_fail(PD_ERR_UNSUPPORTED, "a graph on run.device = \"%s\" needs a build with that backend "
                       "(--with-cuda)", pd_device_name(pd_placement_default().device));
    }
    pd_arena_set_device(&g->arena, g->place.device);
    g->grad_enabled = 1;
    g->training = 1;
    g->current_unit = -1;
    *out = g;
    return PD_OK;
}

void pd_graph_destroy(pd_graph *g)
{
    if (!g) return;
    if (pd_device_sync(g->place.device, "the graph being destroyed") != PD_OK) pd_clear_error();
    work_destroy(g);
    pd_arena_free(&g->arena);
    free(g->nodes);
    free(g);
}

void pd_graph_reset(pd_graph *g)
{
    /* Kernels still queued may use the memory the next step is about to reuse. */
    if (pd_device_sync(g->place.device, "the step being reset") != PD_OK) pd_clear_error();
    if (g->work && g->backend->work_reset) g->backend->work_reset(g->work);
    pd_arena_reset(&g->arena);
    g->n_nodes = 0;
    g->status = PD_OK;
    g->current_unit = -1;
}

pd_arena *pd_graph_arena(pd_graph *g) { return &g->arena; }

pd_status pd_graph_set_placement(pd_graph *g, const pd_placement *p)
{
    if (g->n_nodes > 0 || g->arena.used > 0)
        return pd_fail(PD_ERR, "pd_graph_set_placement: the graph holds tensors; reset it first");
    const pd_backend *b = pd_backend_for(p->device);
    if (!b)
        return pd_fail(PD_ERR_UNSUPPORTED, "a graph on run.device = \"%s\" needs a build configured --with-cuda "
                       "(and the float op set)", pd_device_name(p->device));
    work_destroy(g);
    g->backend = b;
    g->place = *p;
    pd_arena_set_device(&g->arena, p->device);
    return PD_OK;
}

pd_placement pd_graph_placement(const pd_graph *g) { return g->place; }
pd_device pd_graph_device(const pd_graph *g) { return g->place.device; }

pd_status pd_graph_sync(pd_graph *g, const char *what)
{
    pd_status st = pd_device_sync(g->place.device, what);
    if (st != PD_OK) pd_graph_set_status(g, st);
    return st;
}

const pd_backend *pd_graph_backend(const pd_graph *g) { return g->backend; }

void *pd_graph_work(pd_graph *g)
{
    if (!g->backend->work_create) return NULL;
    if (!g->work) {
        pd_status st = g->backend->work_create(&g->work, g->place.gpu_arena_bytes);
        if (st != PD_OK) {
            g->work = NULL;
            pd_graph_set_status(g, st);
            return NULL;
        }
    }
    return g->work;
}

/* Device graphs: the device backend for the ops it supports, the cpu for host-side ones; any
 * other op fails the graph naming it (instead of running on the host unnoticed). */
const pd_backend *pd_graph_op_backend(pd_graph *g, pd_op op)
{
    const pd_backend *b = g->backend;
    if (b->device == PD_DEVICE_CPU) return b;
    if (pd_op_host_side(op)) return pd_backend_cpu();
    if (b->supports(op)) return b;
    pd_graph_fail(g, "op '%s' has no kernel on the %s backend (the graph is on run.device = \"%s\"); "
                  "add one (and register it in its backend table) or run on the cpu",
                  pd_op_name(op), b->name, pd_device_name(g->place.device));
    return NULL;
}

int pd_graph_set_grad(pd_graph *g, int enabled)
{
    int old = g->grad_enabled;
    g->grad_enabled = enabled != 0;
    return old;
}

int pd_graph_grad_enabled(const pd_graph *g) { return g->grad_enabled; }

int pd_graph_set_training(pd_graph *g, int training)
{
    int old = g->training;
    g->training = training != 0;
    return old;
}

int pd_graph_training(const pd_graph *g) { return g->training; }

void pd_graph_set_unit_hooks(pd_graph *g, const pd_unit_hooks *hooks)
{
    if (hooks) {
        g->hooks = *hooks;
        g->has_hooks = 1;
    } else {
        memset(&g->hooks, 0, sizeof g->hooks);
        g->has_hooks = 0;
    }
}

/* ---- errors ---- */

pd_status pd_graph_status(const pd_graph *g) { return g->status; }

pd_tensor *pd_graph_fail(pd_graph *g, const char *fmt, ...)
{
    if (g->status != PD_OK) return NULL;   /* keep the first message */
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    g->status = pd_fail(PD_ERR, "%s", msg);
    return NULL;
}

void pd_graph_set_status(pd_graph *g, pd_status s)
{
    if (g->status == PD_OK) g->status = s;
}

int pd_graph_ok(pd_graph *g, const pd_tensor *x)
{
    if (g->status != PD_OK) return 0;
    if (!x) {
        pd_graph_fail(g, "an op received a NULL input tensor (an earlier op failed without setting the graph status?)");
        return 0;
    }
    return 1;
}

/* ---- tensors ---- */

void *pd_graph_alloc(pd_graph *g, size_t bytes)
{
    void *p = pd_arena_alloc(&g->arena, bytes);
    if (!p) pd_graph_set_status(g, PD_ERR_NOMEM);
    return p;
}

static pd_tensor *tensor_header(pd_graph *g, int ndim, const int64_t *shape)
{
    if (g->status != PD_OK) return NULL;
    if (ndim < 0 || ndim > PD_MAX_DIMS)
        return pd_graph_fail(g, "tensor with %d dims: at most %d are supported", ndim, PD_MAX_DIMS);
    pd_tensor *t = pd_graph_alloc(g, sizeof *t);
    if (!t) return NULL;
    memset(t, 0, sizeof *t);
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return pd_graph_fail(g, "tensor with negative dim %lld", (long long)shape[i]);
        t->shape[i] = shape[i];
    }
    t->numel = pd_shape_numel(ndim, shape);
    t->dtype = PD_DTYPE_F32;
    t->param_index = -1;
    return t;
}

pd_tensor *pd_tensor_new(pd_graph *g, int ndim, const int64_t *shape)
{
    pd_tensor *t = tensor_header(g, ndim, shape);
    if (!t) return NULL;
    t->data = pd_graph_alloc(g, (size_t)t->numel * sizeof(pd_real));
    return t->data ? t : NULL;
}

pd_tensor *pd_tensor_zeros(pd_graph *g, int ndim, const int64_t *shape)
{
    pd_tensor *t = pd_tensor_new(g, ndim, shape);
    if (t) memset(t->data, 0, (size_t)t->numel * sizeof(pd_real));
    return t;
}

pd_tensor *pd_tensor_new_like(pd_graph *g, const pd_tensor *x) { return pd_tensor_new(g, x->ndim, x->shape); }

pd_tensor *pd_tensor_new1(pd_graph *g, int64_t d0) { return pd_tensor_new(g, 1, (int64_t[]){d0}); }
pd_tensor *pd_tensor_new2(pd_graph *g, int64_t d0, int64_t d1) { return pd_tensor_new(g, 2, (int64_t[]){d0, d1}); }
pd_tensor *pd_tensor_new3(pd_graph *g, int64_t d0, int64_t d1, int64_t d2)
{
    return pd_tensor_new(g, 3, (int64_t[]){d0, d1, d2});
}
pd_tensor *pd_tensor_new4(pd_graph *g, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    return pd_tensor_new(g, 4, (int64_t[]){d0, d1, d2, d3});
}

pd_tensor *pd_tensor_from_floats(pd_graph *g, int ndim, const int64_t *shape, const float *src)
{
    pd_tensor *t = pd_tensor_new(g, ndim, shape);
    if (!t) return NULL;
    for (int64_t i = 0; i < t->numel; i++) t->data[i] = (pd_real)src[i];
    return t;
}

pd_tensor *pd_tensor_wrap(pd_graph *g, int ndim, const int64_t *shape, pd_real *data)
{
    pd_tensor *t = tensor_header(g, ndim, shape);
    if (!t) return NULL;
    t->data = data;
    return t;
}

/* ---- recording ---- */

static pd_node *tape_push(pd_graph *g)
{
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? 2 * g->cap_nodes : 256;
        pd_node *nodes = pd_realloc(g->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) {
            pd_graph_set_status(g, PD_ERR_NOMEM);
            return NULL;
        }
        g->nodes = nodes;
        g->cap_nodes = cap;
    }
    pd_node *n = &g->nodes[g->n_nodes++];
    memset(n, 0, sizeof *n);
    n->unit_id = g->current_unit;
    return n;
}

static pd_node *record(pd_graph *g, pd_op op_id, const char *op, pd_backward_fn backward, pd_tensor *out, int n_in,
                       pd_tensor *const *in)
{
    if (g->status != PD_OK || !out) return NULL;
    const pd_backend *b = pd_graph_op_backend(g, op_id);
    if (!b || !g->grad_enabled) return NULL;
    if (n_in > PD_NODE_MAX_INPUTS) {
        pd_graph_fail(g, "%s: %d inputs, the tape records at most %d", op, n_in, PD_NODE_MAX_INPUTS);
        return NULL;
    }
    int any = 0;
    for (int i = 0; i < n_in; i++)
        if (in[i] && in[i]->requires_grad) any = 1;
    if (!any) return NULL;
    pd_node *n = tape_push(g);
    if (!n) return NULL;
    n->op = op;
    n->op_id = op_id;
    n->on_device = b->device != PD_DEVICE_CPU;
    n->backward = backward;
    n->out = out;
    n->n_in = n_in;
    for (int i = 0; i < n_in; i++) n->in[i] = in[i];
    out->requires_grad = 1;
    out->grad = NULL;
    return n;
}

pd_node *pd_record(pd_graph *g, const char *op, pd_backward_fn backward, pd_tensor *out, int n_in,
                   pd_tensor *const *in)
{
    return record(g, pd_op_from_name(op), op, backward, out, n_in, in);
}

pd_node *pd_record_op(pd_graph *g, pd_op op, pd_backward_fn backward, pd_tensor *out, int n_in,
                      pd_tensor *const *in)
{
    return record(g, op, pd_op_name(op), backward, out, n_in, in);
}

void *pd_node_save(pd_graph *g, pd_node *n, size_t bytes)
{
    void *p = pd_graph_alloc(g, bytes);
    if (!p) return NULL;
    memset(p, 0, bytes);
    n->saved = p;
    return p;
}

pd_real *pd_grad(pd_graph *g, pd_tensor *t)
{
    if (!t || !t->requires_grad) return NULL;
    if (!t->grad) {
        size_t bytes = (size_t)t->numel * sizeof(pd_real);
        t->grad = pd_arena_alloc(&g->arena, bytes);
        if (!t->grad) pd_graph_set_status(g, PD_ERR_NOMEM);
        else if (pd_device_zero(g->place.device, t->grad, bytes) != PD_OK) pd_graph_set_status(g, PD_ERR);
        /* The zeroing is queued on the GPU; a host backward must not write before it is done. */
        else if (g->host_backward) pd_graph_sync(g, "zeroing a gradient for a host op");
    }
    return t->grad;
}

/* ---- autodiff ---- */

pd_tensor *pd_detach(pd_graph *g, pd_tensor *x)
{
    if (!pd_graph_ok(g, x)) return NULL;
    pd_tensor *t = tensor_header(g, x->ndim, x->shape);
    if (!t) return NULL;
    t->data = x->data;
    t->name = "detach";
    return t;
}

static pd_status run_tape(pd_graph *g, pd_tensor *out)
{
    int on_gpu = g->place.device != PD_DEVICE_CPU;
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        pd_node *n = &g->nodes[i];
        /* A node without a GPU backward runs on the host: the queued kernels must be done. */
        if (on_gpu && n->out && n->out->grad && !n->on_device) pd_graph_sync(g, "backward before a host op");
        if (g->status != PD_OK) return g->status;
        g->host_backward = on_gpu && !n->on_device;
        if (!n->out) {   /* unit marker: its backward calls the hook */
            n->backward(g, n);
        } else if (n->out->grad) {  /* no gradient reached this node: nothing to propagate */
            n->backward(g, n);
        }
        g->host_backward = 0;
        if (g->status != PD_OK) {
            pd_error_context("backward of %s (tape node %d)", n->op, i);
            return g->status;
        }
    }
    (void)out;
    return pd_graph_sync(g, "backward");
}

pd_status pd_backward_seeded(pd_graph *g, pd_tensor *out, const pd_real *seed)
{
    if (g->status != PD_OK) return g->status;
    if (!out) return pd_fail(PD_ERR, "backward: the loss tensor is NULL");
    if (!out->requires_grad)
        return pd_fail(PD_ERR, "backward: the loss does not depend on anything that requires grad "
                               "(was grad disabled, or are all inputs detached?)");
    pd_real *gout = pd_grad(g, out);
    if (!gout) return g->status;
    PD_TRY(pd_graph_sync(g, "the seed gradient")); /* the host writes the seed */
    for (int64_t i = 0; i < out->numel; i++) gout[i] += seed ? seed[i] : 1;
    return run_tape(g, out);
}

pd_status pd_backward(pd_graph *g, pd_tensor *loss)
{
    if (loss && loss->numel != 1) {
        char s[64];
        return pd_fail(PD_ERR, "backward: the loss must have one element, it has shape %s",
                       pd_shape_str(loss, s, sizeof s));
    }
    return pd_backward_seeded(g, loss, NULL);
}

int pd_tape_length(const pd_graph *g) { return g->n_nodes; }

const pd_node *pd_tape_node(const pd_graph *g, int i) { return i >= 0 && i < g->n_nodes ? &g->nodes[i] : NULL; }

/* ---- FSDP units ---- */

static void unit_begin_backward(pd_graph *g, pd_node *n)
{
    if (g->has_hooks && g->hooks.after_backward) {
        pd_status s = g->hooks.after_backward(g->hooks.user, n->unit_id);
        if (s != PD_OK) pd_graph_set_status(g, s);
    }
}

static void unit_end_backward(pd_graph *g, pd_node *n)
{
    if (g->has_hooks && g->hooks.before_backward) {
        pd_status s = g->hooks.before_backward(g->hooks.user, n->unit_id);
        if (s != PD_OK) pd_graph_set_status(g, s);
    }
}

static void record_marker(pd_graph *g, const char *op, pd_backward_fn fn, int unit_id)
{
    if (!g->grad_enabled || g->status != PD_OK) return;
    pd_node *n = tape_push(g);
    if (!n) return;
    n->op = op;
    n->op_id = PD_OP_MARKER;
    n->backward = fn;
    n->unit_id = unit_id;
}

void pd_unit_begin(pd_graph *g, int unit_id)
{
    if (g->status != PD_OK) return;
    if (g->current_unit >= 0) {
        pd_graph_fail(g, "pd_unit_begin(%d) inside unit %d: units do not nest", unit_id, g->current_unit);
        return;
    }
    if (g->has_hooks && g->hooks.before_forward) {
        pd_status s = g->hooks.before_forward(g->hooks.user, unit_id);
        if (s != PD_OK) {
            pd_graph_set_status(g, s);
            return;
        }
    }
    record_marker(g, "unit_begin", unit_begin_backward, unit_id);
    g->current_unit = unit_id;
}

void pd_unit_end(pd_graph *g, int unit_id)
{
    if (g->status != PD_OK) return;
    if (g->current_unit != unit_id) {
        pd_graph_fail(g, "pd_unit_end(%d) but the open unit is %d", unit_id, g->current_unit);
        return;
    }
    g->current_unit = -1;
    record_marker(g, "unit_end", unit_end_backward, unit_id);
    if (g->has_hooks && g->hooks.after_forward) {
        pd_status s = g->hooks.after_forward(g->hooks.user, unit_id);
        if (s != PD_OK) pd_graph_set_status(g, s);
    }
}
