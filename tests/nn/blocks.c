/* blocks.c — the reference transformer block and MPNN layer on the op set (blocks.h). */
#include "blocks.h"

#include <stdio.h>

static pd_tensor *declare(pd_params *P, const char *prefix, const char *name, int ndim, int64_t d0, int64_t d1)
{
    char full[256];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    int64_t shape[2] = {d0, d1};
    int is_weight = ndim == 2;
    return pd_param_new(P, full, ndim, shape, is_weight ? PD_INIT_TORCH_DEFAULT : PD_INIT_ZEROS, is_weight ? (double)d1 : 0);
}

static pd_tensor *declare_ln(pd_params *P, const char *prefix, const char *name, int64_t d, int weight)
{
    char full[256];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    return pd_param_new(P, full, 1, (int64_t[]){d}, weight ? PD_INIT_ONES : PD_INIT_ZEROS, 0);
}

void pd_test_transformer_declare(pd_test_transformer *t, pd_params *P, const char *prefix, int d, int heads, int mlp,
                                 int rope_dim)
{
    t->d = d;
    t->heads = heads;
    t->mlp = mlp;
    t->rope_dim = rope_dim;
    t->ln1_w = declare_ln(P, prefix, "ln1.weight", d, 1);
    t->ln1_b = declare_ln(P, prefix, "ln1.bias", d, 0);
    t->wq_w = declare(P, prefix, "wq.weight", 2, d, d);
    t->wq_b = declare(P, prefix, "wq.bias", 1, d, 0);
    t->wk_w = declare(P, prefix, "wk.weight", 2, d, d);
    t->wk_b = declare(P, prefix, "wk.bias", 1, d, 0);
    t->wv_w = declare(P, prefix, "wv.weight", 2, d, d);
    t->wv_b = declare(P, prefix, "wv.bias", 1, d, 0);
    t->wo_w = declare(P, prefix, "wo.weight", 2, d, d);
    t->wo_b = declare(P, prefix, "wo.bias", 1, d, 0);
    t->ln2_w = declare_ln(P, prefix, "ln2.weight", d, 1);
    t->ln2_b = declare_ln(P, prefix, "ln2.bias", d, 0);
    t->fc1_w = declare(P, prefix, "fc1.weight", 2, mlp, d);
    t->fc1_b = declare(P, prefix, "fc1.bias", 1, mlp, 0);
    t->fc2_w = declare(P, prefix, "fc2.weight", 2, d, mlp);
    t->fc2_b = declare(P, prefix, "fc2.bias", 1, d, 0);
}

pd_tensor *pd_test_transformer_forward(pd_graph *g, const pd_test_transformer *t, pd_tensor *x, const int32_t *pos,
                                       const uint8_t *key_valid)
{
    pd_tensor *h = pd_layernorm(g, x, t->ln1_w, t->ln1_b, 1e-5);
    pd_tensor *q = pd_rope(g, pd_linear(g, h, t->wq_w, t->wq_b), pos, t->heads, t->rope_dim, 10000.0);
    pd_tensor *k = pd_rope(g, pd_linear(g, h, t->wk_w, t->wk_b), pos, t->heads, t->rope_dim, 10000.0);
    pd_tensor *v = pd_linear(g, h, t->wv_w, t->wv_b);
    pd_tensor *a = pd_attention(g, q, k, v, t->heads, key_valid, 0);
    x = pd_add(g, x, pd_linear(g, a, t->wo_w, t->wo_b));
    pd_tensor *m = pd_linear(g, pd_gelu(g, pd_linear(g, pd_layernorm(g, x, t->ln2_w, t->ln2_b, 1e-5), t->fc1_w, t->fc1_b)),
                             t->fc2_w, t->fc2_b);
    return pd_add(g, x, m);
}

void pd_test_mpnn_declare(pd_test_mpnn *m, pd_params *P, const char *prefix, int d, int de, int k)
{
    m->d = d;
    m->de = de;
    m->k = k;
    m->m1_w = declare(P, prefix, "m1.weight", 2, d, 2 * d + de);
    m->m1_b = declare(P, prefix, "m1.bias", 1, d, 0);
    m->m2_w = declare(P, prefix, "m2.weight", 2, d, d);
    m->m2_b = declare(P, prefix, "m2.bias", 1, d, 0);
    m->ln1_w = declare_ln(P, prefix, "ln1.weight", d, 1);
    m->ln1_b = declare_ln(P, prefix, "ln1.bias", d, 0);
    m->f1_w = declare(P, prefix, "f1.weight", 2, 2 * d, d);
    m->f1_b = declare(P, prefix, "f1.bias", 1, 2 * d, 0);
    m->f2_w = declare(P, prefix, "f2.weight", 2, d, 2 * d);
    m->f2_b = declare(P, prefix, "f2.bias", 1, d, 0);
    m->ln2_w = declare_ln(P, prefix, "ln2.weight", d, 1);
    m->ln2_b = declare_ln(P, prefix, "ln2.bias", d, 0);
}

pd_tensor *pd_test_mpnn_forward(pd_graph *g, const pd_test_mpnn *m, pd_tensor *h, pd_tensor *e, const int32_t *src,
                                const int32_t *dst)
{
    if (!pd_graph_ok(g, h) || !pd_graph_ok(g, e)) return NULL;
    int64_t n_edges = e->shape[0], n_nodes = h->shape[0];
    pd_tensor *cat = pd_concat(g, 3, (pd_tensor *[]){pd_gather_rows(g, h, dst, n_edges), pd_gather_rows(g, h, src, n_edges), e}, -1);
    pd_tensor *msg = pd_linear(g, pd_gelu(g, pd_linear(g, cat, m->m1_w, m->m1_b)), m->m2_w, m->m2_b);
    pd_tensor *agg = pd_scale(g, pd_scatter_add_rows(g, msg, dst, n_nodes), 1.0 / m->k);
    h = pd_layernorm(g, pd_add(g, h, agg), m->ln1_w, m->ln1_b, 1e-5);
    pd_tensor *f = pd_linear(g, pd_gelu(g, pd_linear(g, h, m->f1_w, m->f1_b)), m->f2_w, m->f2_b);
    return pd_layernorm(g, pd_add(g, h, f), m->ln2_w, m->ln2_b, 1e-5);
}
