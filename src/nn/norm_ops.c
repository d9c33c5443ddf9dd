/* norm_ops.c — the tape ops of norm.h: shape checks, the statistics saved for the backward,
 * BatchNorm's train/eval switch and its running statistics, one node per call, and the CPU
 * kernels (norm_kernels.h) registered in backend_cpu.c's table; on a device graph the
 * backend's kernels run (op_run.h; the model's running statistics are copied where they can
 * read them and back). */
#include "nn/norm.h"

#include <string.h>

#include "nn/backend_cpu.h"
#include "nn/kernel_desc.h"
#include "nn/norm_kernels.h"
#include "nn/op_run.h"
#include "nn/ops_internal.h"

/* ---- CPU kernels ---- */

pd_status pd_cpu_groupnorm_forward(const void *desc)
{
    const pd_norm_desc *d = desc;
    pd_groupnorm_forward(d->x, d->N, d->C, d->S, d->groups, d->gamma, d->beta, d->eps, d->y, d->mean, d->rstd);
    return PD_OK;
}

pd_status pd_cpu_groupnorm_backward(const void *desc)
{
    const pd_norm_desc *d = desc;
    pd_groupnorm_backward(d->x, d->gy, d->N, d->C, d->S, d->groups, d->gamma, d->mean, d->rstd, d->gx, d->ggamma,
                          d->gbeta);
    return PD_OK;
}

pd_status pd_cpu_batchnorm_forward(const void *desc)
{
    const pd_norm_desc *d = desc;
    if (d->training)
        return pd_batchnorm_forward_train(d->x, d->N, d->C, d->S, d->gamma, d->beta, d->eps, d->momentum,
                                          d->running_mean, d->running_var, d->y, d->mean, d->rstd);
    pd_batchnorm_forward_eval(d->x, d->N, d->C, d->S, d->gamma, d->beta, d->eps, d->running_mean, d->running_var,
                              d->y, d->mean, d->rstd);
    return PD_OK;
}

pd_status pd_cpu_batchnorm_backward(const void *desc)
{
    const pd_norm_desc *d = desc;
    pd_batchnorm_backward(d->x, d->gy, d->N, d->C, d->S, d->gamma, d->mean, d->rstd, d->training, d->gx, d->ggamma,
                          d->gbeta);
    return PD_OK;
}

/* ---- ops ---- */

static void norm_backward(pd_graph *g, pd_node *n)
{
    pd_norm_desc d = *(const pd_norm_desc *)n->saved;
    d.gy = n->out->grad;
    d.gx = pd_grad(g, n->in[0]);
    d.ggamma = pd_grad(g, n->in[1]);
    d.gbeta = pd_grad(g, n->in[2]);
    pd_op_backward(g, n, &d);
}

/* Checks x is [N, C, ...] and the affine parameters are [C]; fills N, C, S. */
static int check_shapes(pd_graph *g, const char *op, pd_tensor *x, pd_tensor *w, pd_tensor *b, int64_t *N, int64_t *C,
                        int64_t *S)
{
    if (x->ndim < 2) {
        pd_graph_fail(g, "%s: input %s must be [N, C, ...]", op, pd_shape_of(x).s);
        return 0;
    }
    *N = x->shape[0];
    *C = x->shape[1];
    *S = x->numel / (*N * *C);
    if ((w && w->numel != *C) || (b && b->numel != *C)) {
        pd_graph_fail(g, "%s: weight %s and bias %s must have %lld elements for input %s", op, pd_shape_of(w).s,
                      pd_shape_of(b).s, (long long)*C, pd_shape_of(x).s);
        return 0;
    }
    return 1;
}

/* The forward of d (y, mean and rstd allocated here, [stats] rows of statistics), then the node. */
static pd_tensor *run(pd_graph *g, pd_op op, pd_tensor *x, pd_tensor *w, pd_tensor *b, pd_norm_desc d, int64_t stats)
{
    pd_tensor *y = pd_tensor_new_like(g, x);
    pd_real *mean = pd_graph_alloc(g, (size_t)stats * sizeof(pd_real));
    pd_real *rstd = pd_graph_alloc(g, (size_t)stats * sizeof(pd_real));
    if (!y || !mean || !rstd) return NULL;
    d.x = x->data;
    d.gamma = w ? w->data : NULL;
    d.beta = b ? b->data : NULL;
    d.y = y->data;
    d.mean = mean;
    d.rstd = rstd;
    if (!pd_op_forward(g, op, &d)) return NULL;
    pd_node *n = pd_record_op(g, op, norm_backward, y, 3, (pd_tensor *[]){x, w, b});
    if (n) {
        pd_norm_desc *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        *s = d;
        s->running_mean = s->running_var = NULL; /* the backward does not read them */
    }
    return y;
}

pd_tensor *pd_groupnorm(pd_graph *g, pd_tensor *x, int64_t groups, pd_tensor *weight, pd_tensor *bias, double eps)
{
    if (!pd_graph_ok(g, x)) return NULL;
    int64_t N, C, S;
    if (!check_shapes(g, "groupnorm", x, weight, bias, &N, &C, &S)) return NULL;
    if (groups < 1 || C % groups != 0)
        return pd_graph_fail(g, "groupnorm: %lld channels of %s cannot form %lld equal groups", (long long)C,
                             pd_shape_of(x).s, (long long)groups);
    return run(g, PD_OP_GROUPNORM, x, weight, bias, (pd_norm_desc){.N = N, .C = C, .S = S, .groups = groups, .eps = eps},
               N * groups);
}

void pd_batchnorm_stats_reset(pd_batchnorm_stats *s)
{
    for (int64_t c = 0; c < s->channels; c++) {
        s->running_mean[c] = 0;
        s->running_var[c] = 1;
    }
    s->batches_tracked = 0;
}

pd_tensor *pd_batchnorm(pd_graph *g, pd_tensor *x, pd_tensor *weight, pd_tensor *bias, pd_batchnorm_stats *stats,
                        double momentum, double eps)
{
    if (!pd_graph_ok(g, x)) return NULL;
    int64_t N, C, S;
    if (!check_shapes(g, "batchnorm", x, weight, bias, &N, &C, &S)) return NULL;
    const int training = pd_graph_training(g);
    if (stats && stats->channels != C)
        return pd_graph_fail(g, "batchnorm: running statistics for %lld channels, input %s has %lld",
                             (long long)stats->channels, pd_shape_of(x).s, (long long)C);
    if (!stats && !training)
        return pd_graph_fail(g, "batchnorm: eval mode needs running statistics (none were given)");
    /* The running statistics belong to the model (host memory): the backend reads (eval) or
     * updates (training) a copy it can reach, copied back once the forward has finished. */
    const size_t bytes = (size_t)C * sizeof(pd_real);
    pd_real *run_mean = stats ? pd_graph_backend_copy(g, stats->running_mean, bytes) : NULL;
    pd_real *run_var = stats ? pd_graph_backend_copy(g, stats->running_var, bytes) : NULL;
    if (stats && (!run_mean || !run_var)) return NULL;
    pd_tensor *y = run(g, PD_OP_BATCHNORM, x, weight, bias,
                       (pd_norm_desc){.N = N, .C = C, .S = S, .training = training, .eps = eps, .momentum = momentum,
                                      .running_mean = run_mean, .running_var = run_var},
                       C);
    if (!y) return NULL;
    if (stats && training) {
        if (run_mean != stats->running_mean) memcpy(stats->running_mean, run_mean, bytes);
        if (run_var != stats->running_var) memcpy(stats->running_var, run_var, bytes);
        stats->batches_tracked++;
    }
    return y;
}
