/* norm_ops.c — the tape ops of norm.h: shape checks, the kernel calls, the statistics saved
 * for the backward, and BatchNorm's train/eval switch. On a GPU graph cuda/ops_norm.cu's
 * kernels run (BatchNorm's host-owned running statistics go through the graph's managed arena). */
#include "nn/norm.h"

#include <string.h>

#include "nn/norm_kernels.h"
#include "nn/ops_device.h"
#include "nn/ops_internal.h"

typedef struct norm_saved {
    int64_t N, C, S, groups;  /* groups = 0 marks BatchNorm */
    int training;             /* BatchNorm: statistics came from the batch */
    pd_real *mean, *rstd;
} norm_saved;

static void norm_backward(pd_graph *g, pd_node *n)
{
    const norm_saved *s = n->saved;
    pd_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2];
    pd_real *gx = pd_grad(g, x), *gw = pd_grad(g, w), *gb = pd_grad(g, b);
    const pd_real *gamma = w ? w->data : NULL;
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        pd_status st = s->groups > 0 ? pd_cuda_groupnorm_backward(x->data, gamma, s->mean, s->rstd, n->out->grad, gx, gw,
                                                                  gb, s->N, s->C, s->S, s->groups)
                                     : pd_cuda_batchnorm_backward(x->data, gamma, s->mean, s->rstd, n->out->grad, gx, gw,
                                                                  gb, s->N, s->C, s->S, s->training);
        pd_graph_cuda_backward_done(g, st, n->op);
        return;
    }
#endif
    if (s->groups > 0)
        pd_groupnorm_backward(x->data, n->out->grad, s->N, s->C, s->S, s->groups, gamma, s->mean, s->rstd, gx, gw, gb);
    else
        pd_batchnorm_backward(x->data, n->out->grad, s->N, s->C, s->S, gamma, s->mean, s->rstd, s->training, gx, gw,
                              gb);
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

static pd_tensor *record(pd_graph *g, const char *op, pd_tensor *x, pd_tensor *w, pd_tensor *b, pd_tensor *y,
                         norm_saved fields)
{
    pd_node *n = pd_record(g, op, norm_backward, y, 3, (pd_tensor *[]){x, w, b});
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) pd_node_on_device(n);
#endif
    if (n) {
        norm_saved *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        *s = fields;
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
    pd_tensor *y = pd_tensor_new_like(g, x);
    pd_real *mean = pd_graph_alloc(g, (size_t)(N * groups) * sizeof(pd_real));
    pd_real *rstd = pd_graph_alloc(g, (size_t)(N * groups) * sizeof(pd_real));
    if (!y || !mean || !rstd) return NULL;
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        if (!pd_graph_cuda_forward_done(g, pd_cuda_groupnorm_forward(x->data, weight ? weight->data : NULL,
                                                                     bias ? bias->data : NULL, y->data, mean, rstd, N, C,
                                                                     S, groups, eps), "groupnorm"))
            return NULL;
        return record(g, "groupnorm", x, weight, bias, y,
                      (norm_saved){.N = N, .C = C, .S = S, .groups = groups, .mean = mean, .rstd = rstd});
    }
#endif
    pd_groupnorm_forward(x->data, N, C, S, groups, weight ? weight->data : NULL, bias ? bias->data : NULL, eps,
                         y->data, mean, rstd);
    return record(g, "groupnorm", x, weight, bias, y,
                  (norm_saved){.N = N, .C = C, .S = S, .groups = groups, .mean = mean, .rstd = rstd});
}

void pd_batchnorm_stats_reset(pd_batchnorm_stats *s)
{
    for (int64_t c = 0; c < s->channels; c++) {
        s->running_mean[c] = 0;
        s->running_var[c] = 1;
    }
    s->batches_tracked = 0;
}

#if PD_NN_CUDA
/* BatchNorm's forward on the GPU. The running statistics belong to the model (host memory the
 * kernels cannot address): they are copied into the graph's managed arena, used (and, in
 * training, updated) there, and copied back once the forward has finished. 1 when all went well. */
static int batchnorm_forward_on_gpu(pd_graph *g, pd_tensor *x, const pd_real *gamma, const pd_real *beta,
                                    pd_batchnorm_stats *stats, double momentum, double eps, int training, pd_tensor *y,
                                    pd_real *mean, pd_real *rstd)
{
    const int64_t N = x->shape[0], C = x->shape[1], S = x->numel / (N * C);
    const size_t bytes = (size_t)C * sizeof(pd_real);
    pd_real *run_mean = NULL, *run_var = NULL;
    if (stats) {
        run_mean = pd_graph_alloc(g, bytes);
        run_var = pd_graph_alloc(g, bytes);
        if (!run_mean || !run_var) return 0;
        memcpy(run_mean, stats->running_mean, bytes);
        memcpy(run_var, stats->running_var, bytes);
    }
    pd_status launched = pd_cuda_batchnorm_forward(x->data, gamma, beta, run_mean, run_var, y->data, mean, rstd, N, C, S,
                                                   momentum, eps, training);
    if (!pd_graph_cuda_forward_done(g, launched, "batchnorm")) return 0;
    if (stats && training) {
        memcpy(stats->running_mean, run_mean, bytes);
        memcpy(stats->running_var, run_var, bytes);
        stats->batches_tracked++;
    }
    return 1;
}
#endif

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
    pd_tensor *y = pd_tensor_new_like(g, x);
    pd_real *mean = pd_graph_alloc(g, (size_t)C * sizeof(pd_real));
    pd_real *rstd = pd_graph_alloc(g, (size_t)C * sizeof(pd_real));
    if (!y || !mean || !rstd) return NULL;
    const pd_real *gamma = weight ? weight->data : NULL, *beta = bias ? bias->data : NULL;
#if PD_NN_CUDA
    if (pd_graph_on_cuda(g)) {
        if (!batchnorm_forward_on_gpu(g, x, gamma, beta, stats, momentum, eps, training, y, mean, rstd)) return NULL;
        return record(g, "batchnorm", x, weight, bias, y,
                      (norm_saved){.N = N, .C = C, .S = S, .training = training, .mean = mean, .rstd = rstd});
    }
#endif
    if (training) {
        pd_status st = pd_batchnorm_forward_train(x->data, N, C, S, gamma, beta, eps, momentum,
                                                  stats ? stats->running_mean : NULL,
                                                  stats ? stats->running_var : NULL, y->data, mean, rstd);
        if (st != PD_OK) {
            pd_graph_set_status(g, st);
            return NULL;
        }
        if (stats) stats->batches_tracked++;
    } else {
        pd_batchnorm_forward_eval(x->data, N, C, S, gamma, beta, eps, stats->running_mean, stats->running_var, y->data,
                                  mean, rstd);
    }
    return record(g, "batchnorm", x, weight, bias, y,
                  (norm_saved){.N = N, .C = C, .S = S, .training = training, .mean = mean, .rstd = rstd});
}
