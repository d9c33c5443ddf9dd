/* params.c — the flat parameter store: declaring named views in units, laying them out with
 * padding, binding views, initialising from the counter RNG (see params.h). */
#include "nn/params.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

void pd_params_init(pd_params *P)
{
    memset(P, 0, sizeof *P);
    P->device = pd_placement_default().device;
    P->open_unit = -1;
    P->pad_multiple = 1;
}

void pd_params_free(pd_params *P)
{
    for (int i = 0; i < P->n_params; i++) {
        free(P->params[i]->name);
        free(P->params[i]);
    }
    free(P->params);
    for (int u = 0; u < P->n_units; u++) free(P->units[u].name);
    free(P->units);
    pd_device_free(P->device, P->data);
    pd_device_free(P->device, P->grad);
    pd_params_init(P);
}

static int params_failed(pd_params *P, pd_status s)
{
    if (P->status == PD_OK) P->status = s;
    return -1;
}

static int add_unit(pd_params *P, const char *name)
{
    if (P->n_units == P->cap_units) {
        int cap = P->cap_units ? 2 * P->cap_units : 16;
        pd_param_unit *u = pd_realloc(P->units, (size_t)cap * sizeof *u);
        if (!u) return params_failed(P, PD_ERR_NOMEM);
        P->units = u;
        P->cap_units = cap;
    }
    pd_param_unit *u = &P->units[P->n_units];
    memset(u, 0, sizeof *u);
    u->name = pd_strdup(name);
    if (!u->name) return params_failed(P, PD_ERR_NOMEM);
    u->first_param = -1;
    return P->n_units++;
}

int pd_params_unit_begin(pd_params *P, const char *name)
{
    if (P->status != PD_OK) return -1;
    if (P->data) return params_failed(P, pd_fail(PD_ERR, "parameter unit '%s' declared after finalize", name));
    if (P->open_unit >= 0)
        return params_failed(P, pd_fail(PD_ERR, "parameter unit '%s' opened inside unit '%s' (units do not nest)", name,
                                        P->units[P->open_unit].name));
    for (int u = 0; u < P->n_units; u++)
        if (!strcmp(P->units[u].name, name))
            return params_failed(P, pd_fail(PD_ERR, "parameter unit '%s' declared twice", name));
    int u = add_unit(P, name);
    P->open_unit = u;
    return u;
}

void pd_params_unit_end(pd_params *P) { P->open_unit = -1; }

pd_tensor *pd_param_new(pd_params *P, const char *name, int ndim, const int64_t *shape, pd_init init, double init_arg)
{
    if (P->status != PD_OK) return NULL;
    if (P->data) {
        params_failed(P, pd_fail(PD_ERR, "parameter '%s' declared after finalize", name));
        return NULL;
    }
    if (ndim < 1 || ndim > PD_MAX_DIMS) {
        params_failed(P, pd_fail(PD_ERR, "parameter '%s': %d dims (1..%d supported)", name, ndim, PD_MAX_DIMS));
        return NULL;
    }
    if (pd_params_find(P, name)) {
        params_failed(P, pd_fail(PD_ERR, "parameter '%s' declared twice", name));
        return NULL;
    }
    if (P->n_params == P->cap_params) {
        int cap = P->cap_params ? 2 * P->cap_params : 64;
        pd_param **ps = pd_realloc(P->params, (size_t)cap * sizeof *ps);
        if (!ps) {
            params_failed(P, PD_ERR_NOMEM);
            return NULL;
        }
        P->params = ps;
        P->cap_params = cap;
    }
    pd_param *p = pd_calloc(1, sizeof *p);
    char *nm = pd_strdup(name);
    if (!p || !nm) {
        free(p);
        free(nm);
        params_failed(P, PD_ERR_NOMEM);
        return NULL;
    }
    p->name = nm;
    p->index = P->n_params;
    p->unit = P->open_unit;  /* -1: the "rest" unit, assigned at finalize */
    p->init = init;
    p->init_arg = init_arg;
    p->decay = ndim >= 2;
    p->t.ndim = ndim;
    for (int i = 0; i < ndim; i++) p->t.shape[i] = shape[i];
    p->t.numel = pd_shape_numel(ndim, shape);
    p->t.dtype = PD_DTYPE_F32;
    p->t.requires_grad = 1;
    p->t.param_index = p->index;
    p->t.name = p->name;
    P->params[P->n_params++] = p;
    return &p->t;
}

pd_param *pd_params_of(const pd_params *P, const pd_tensor *param)
{
    if (!param || param->param_index < 0 || param->param_index >= P->n_params) return NULL;
    pd_param *p = P->params[param->param_index];
    return &p->t == param ? p : NULL;
}

void pd_param_set_decay(pd_tensor *param, pd_params *P, int decay)
{
    pd_param *p = pd_params_of(P, param);
    if (p) p->decay = decay != 0;
}

pd_param *pd_params_find(const pd_params *P, const char *name)
{
    for (int i = 0; i < P->n_params; i++)
        if (!strcmp(P->params[i]->name, name)) return P->params[i];
    return NULL;
}

int64_t pd_params_count(const pd_params *P)
{
    int64_t n = 0;
    for (int i = 0; i < P->n_params; i++) n += P->params[i]->t.numel;
    return n;
}

static int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

pd_status pd_params_finalize(pd_params *P, int64_t pad_multiple)
{
    if (P->status != PD_OK) return P->status;
    if (P->data) return pd_fail(PD_ERR, "parameter store finalized twice");
    if (pad_multiple < 1) pad_multiple = 1;
    P->open_unit = -1;
    int has_rest = 0;
    for (int i = 0; i < P->n_params; i++) has_rest |= P->params[i]->unit < 0;
    if (has_rest) {
        int u = add_unit(P, "rest");
        if (u < 0) return P->status;
        for (int i = 0; i < P->n_params; i++)
            if (P->params[i]->unit < 0) P->params[i]->unit = u;
    }
    /* Parameters are laid out unit by unit, in declaration order within each unit. */
    int64_t unit_quantum = PD_PARAM_ALIGN * pad_multiple, offset = 0;
    for (int u = 0; u < P->n_units; u++) {
        pd_param_unit *U = &P->units[u];
        U->begin = offset;
        U->first_param = -1;
        U->n_params = 0;
        int64_t inner = 0;
        for (int i = 0; i < P->n_params; i++) {
            pd_param *p = P->params[i];
            if (p->unit != u) continue;
            if (U->first_param < 0) U->first_param = i;
            U->n_params++;
            p->offset = offset + inner;
            inner = round_up(inner + p->t.numel, PD_PARAM_ALIGN);
        }
        U->size = round_up(inner, unit_quantum);
        offset += U->size;
    }
    P->pad_multiple = pad_multiple;
    P->total = offset;
    size_t bytes = (size_t)(offset ? offset : 1) * sizeof(pd_real);
    P->data = pd_device_calloc(P->device, bytes);
    P->grad = pd_device_calloc(P->device, bytes);
    if (!P->data || !P->grad) {
        pd_error_context("parameter store of %lld values", (long long)offset);
        return PD_ERR_NOMEM;
    }
    pd_params_bind_flat(P);
    return PD_OK;
}

void pd_params_bind_flat(pd_params *P)
{
    for (int i = 0; i < P->n_params; i++) {
        pd_param *p = P->params[i];
        p->t.data = P->data + p->offset;
        p->t.grad = P->grad + p->offset;
    }
}

void pd_params_bind_unit(pd_params *P, int unit, pd_real *data_base, pd_real *grad_base)
{
    const pd_param_unit *U = &P->units[unit];
    for (int i = 0; i < P->n_params; i++) {
        pd_param *p = P->params[i];
        if (p->unit != unit) continue;
        if (data_base) p->t.data = data_base + (p->offset - U->begin);
        if (grad_base) p->t.grad = grad_base + (p->offset - U->begin);
    }
}

void pd_params_zero_grad(pd_params *P)
{
    if (P->grad) memset(P->grad, 0, (size_t)P->total * sizeof(pd_real));
}

static void fans(const pd_tensor *t, double *fan_in, double *fan_out)
{
    if (t->ndim < 2) {
        *fan_in = *fan_out = (double)t->shape[0];
        return;
    }
    double receptive = 1;
    for (int i = 2; i < t->ndim; i++) receptive *= (double)t->shape[i];
    *fan_in = (double)t->shape[1] * receptive;
    *fan_out = (double)t->shape[0] * receptive;
}

void pd_params_init_values(pd_params *P, uint64_t seed)
{
    for (int i = 0; i < P->n_params; i++) {
        pd_param *p = P->params[i];
        pd_rng rng;
        pd_rng_init(&rng, seed, 0, pd_fnv1a64(p->name, strlen(p->name)), PD_RNG_INIT);
        double fan_in, fan_out;
        fans(&p->t, &fan_in, &fan_out);
        double a = p->init_arg, bound = 0, std = 0;
        int normal = 0;
        switch (p->init) {
        case PD_INIT_ZEROS: bound = 0; break;
        case PD_INIT_ONES: break;
        case PD_INIT_CONSTANT: break;
        case PD_INIT_NORMAL: normal = 1; std = a; break;
        case PD_INIT_UNIFORM: bound = a; break;
        case PD_INIT_XAVIER_UNIFORM: bound = a * sqrt(6.0 / (fan_in + fan_out)); break;
        case PD_INIT_XAVIER_NORMAL: normal = 1; std = a * sqrt(2.0 / (fan_in + fan_out)); break;
        case PD_INIT_KAIMING_UNIFORM: bound = a * sqrt(3.0 / fan_in); break;
        case PD_INIT_KAIMING_NORMAL: normal = 1; std = a / sqrt(fan_in); break;
        case PD_INIT_TORCH_DEFAULT: bound = a > 0 ? 1.0 / sqrt(a) : 0; break;
        }
        pd_real *d = p->t.data;
        for (int64_t j = 0; j < p->t.numel; j++) {
            double v;
            if (p->init == PD_INIT_ONES) v = 1;
            else if (p->init == PD_INIT_CONSTANT) v = a;
            else if (p->init == PD_INIT_ZEROS) v = 0;
            else if (normal) v = std * pd_rng_normal(&rng);
            else v = bound * (2 * pd_rng_uniform(&rng) - 1);
            d[j] = (pd_real)v;
        }
    }
}
