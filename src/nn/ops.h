/* ops.h — the core op set on pd_tensor (forward now, backward recorded on the tape). Every op
 * returns a new arena tensor, or NULL when the graph has failed (see tape.h: errors are sticky,
 * check pd_graph_status once after the forward). Layouts follow PyTorch so parity tests and
 * checkpoints map one to one: linear weights are [out, in], activations [..., features].
 * Convolution, normalisation, upsampling and VQ ops are declared in their own headers. */
#ifndef PD_NN_OPS_H
#define PD_NN_OPS_H

#include <stdint.h>

#include "nn/tape.h"

/* ---- GEMM ------------------------------------------------------------------------------------ */
/* y[..., out] = x[..., in] w[out, in]^T + b[out]; b may be NULL. (torch.nn.functional.linear) */
pd_tensor *pd_linear(pd_graph *g, pd_tensor *x, pd_tensor *w, pd_tensor *b);
/* Batched matmul over equal leading dims: op(a)[..., M, K] op(b)[..., K, N]; b may also be 2-D
 * (shared by every batch). trans_a/trans_b transpose the last two dims of a/b. */
pd_tensor *pd_matmul(pd_graph *g, pd_tensor *a, pd_tensor *b, int trans_a, int trans_b);

/* ---- elementwise with broadcasting ----------------------------------------------------------- */
/* NumPy broadcasting: shapes are right-aligned, each pair of dims equal or one of them 1. */
pd_tensor *pd_add(pd_graph *g, pd_tensor *a, pd_tensor *b);
pd_tensor *pd_sub(pd_graph *g, pd_tensor *a, pd_tensor *b);
pd_tensor *pd_mul(pd_graph *g, pd_tensor *a, pd_tensor *b);
pd_tensor *pd_scale(pd_graph *g, pd_tensor *x, double alpha);          /* alpha * x */
pd_tensor *pd_add_scalar(pd_graph *g, pd_tensor *x, double c);         /* x + c */
/* adaLN: x * (1 + scale) + shift; shift/scale have x's shape, or [B, D] for x [B, L, D]
 * (one conditioning row per batch entry broadcast over L). */
pd_tensor *pd_modulate(pd_graph *g, pd_tensor *x, pd_tensor *shift, pd_tensor *scale);

/* ---- activations ------------------------------------------------------------------------------ */
pd_tensor *pd_gelu(pd_graph *g, pd_tensor *x);       /* exact: x/2 (1 + erf(x/sqrt 2)), nn.GELU() */
pd_tensor *pd_gelu_tanh(pd_graph *g, pd_tensor *x);  /* nn.GELU(approximate='tanh') */
pd_tensor *pd_silu(pd_graph *g, pd_tensor *x);       /* x sigmoid(x) */
pd_tensor *pd_relu(pd_graph *g, pd_tensor *x);
pd_tensor *pd_sigmoid(pd_graph *g, pd_tensor *x);
pd_tensor *pd_softmax(pd_graph *g, pd_tensor *x);     /* over the last dim */
pd_tensor *pd_log_softmax(pd_graph *g, pd_tensor *x); /* over the last dim */

/* ---- reductions ---------------------------------------------------------------------------------- */
pd_tensor *pd_sum(pd_graph *g, pd_tensor *x);        /* all elements -> shape [1] */
pd_tensor *pd_mean(pd_graph *g, pd_tensor *x);
/* Reduce one axis (negative counts from the end); the axis is removed from the shape. */
pd_tensor *pd_sum_axis(pd_graph *g, pd_tensor *x, int axis);
pd_tensor *pd_mean_axis(pd_graph *g, pd_tensor *x, int axis);

/* ---- shape ------------------------------------------------------------------------------------------ */
/* Same data, new shape (numel must match; one dim may be -1). */
pd_tensor *pd_reshape(pd_graph *g, pd_tensor *x, int ndim, const int64_t *shape);
/* out.shape[i] = x.shape[perm[i]] (copies). */
pd_tensor *pd_permute(pd_graph *g, pd_tensor *x, const int *perm);
pd_tensor *pd_transpose(pd_graph *g, pd_tensor *x, int axis0, int axis1);
pd_tensor *pd_concat(pd_graph *g, int n, pd_tensor *const *xs, int axis);
/* x[..., start:start+len, ...] along axis (copies). */
pd_tensor *pd_slice(pd_graph *g, pd_tensor *x, int axis, int64_t start, int64_t len);
/* n slices of the given sizes (summing to x.shape[axis]) into out[0..n-1]. */
pd_status pd_split(pd_graph *g, pd_tensor *x, int axis, int n, const int64_t *sizes, pd_tensor **out);

/* ---- indexing (message passing, embeddings) ---------------------------------------------------------- */
/* out[i, ...] = x[idx[i], ...] for i < n_idx; x is [N, ...]. */
pd_tensor *pd_gather_rows(pd_graph *g, pd_tensor *x, const int32_t *idx, int64_t n_idx);
/* out[n_out, ...] zero, then out[idx[i], ...] += x[i, ...]; x is [n_idx, ...]. Rows with
 * idx < 0 are dropped (padding edges). Deterministic (serial over i per destination chunk). */
pd_tensor *pd_scatter_add_rows(pd_graph *g, pd_tensor *x, const int32_t *idx, int64_t n_out);
/* out[i, :] = table[idx[i], :], table [V, D] -> out [n_idx, D]; idx < 0 gives a zero row. */
pd_tensor *pd_embedding(pd_graph *g, pd_tensor *table, const int32_t *idx, int64_t n_idx);

/* ---- normalisation ------------------------------------------------------------------------------------ */
/* Over the last dim; weight/bias [D] each optional (NULL: no affine / no bias). */
pd_tensor *pd_layernorm(pd_graph *g, pd_tensor *x, pd_tensor *weight, pd_tensor *bias, double eps);

/* ---- attention ---------------------------------------------------------------------------------------- */
/* Rotary embedding on x [B, L, H*Dh] (heads packed in the last dim): within each head, the
 * first rope_dim dims (even) are rotated, PyTorch/GPT-NeoX "rotate_half" convention:
 *   half = rope_dim/2, theta_j = pos * base^(-2j/rope_dim), j < half,
 *   y[j]      = x[j] cos theta_j - x[j+half] sin theta_j
 *   y[j+half] = x[j+half] cos theta_j + x[j] sin theta_j;  dims >= rope_dim pass through.
 * pos [B*L] (NULL: 0..L-1 in every batch entry). */
pd_tensor *pd_rope(pd_graph *g, pd_tensor *x, const int32_t *pos, int n_heads, int rope_dim, double base);
/* softmax(q k^T * scale + mask) v per head. q [B, Lq, H*Dh], k and v [B, Lk, H*Dh];
 * key_valid [B*Lk] (1 = attend, 0 = padding; NULL = all valid); scale 0 = 1/sqrt(Dh).
 * A query row whose keys are all padding gets zeros (not NaN). Out [B, Lq, H*Dh]. */
pd_tensor *pd_attention(pd_graph *g, pd_tensor *q, pd_tensor *k, pd_tensor *v, int n_heads,
                        const uint8_t *key_valid, double scale);
/* The same with an additive pair bias per head inside the softmax: softmax(q k^T * scale +
 * bias[b, i, j, h] + mask) v. bias [B, Lq, Lk, H] (heads last), NULL = none; it gets a gradient.
 * CPU only: a graph on the GPU fails naming the op. */
pd_tensor *pd_attention_biased(pd_graph *g, pd_tensor *q, pd_tensor *k, pd_tensor *v, int n_heads,
                               const uint8_t *key_valid, double scale, pd_tensor *bias);

/* ---- VAE ---------------------------------------------------------------------------------------------- */
/* z = mu + exp(logvar / 2) * eps, eps ~ N(0,1) from the counter RNG keyed by
 * (seed, step, row id, PD_RNG_NOISE): row r draws its D values from item row_ids[r]
 * (NULL: r), so a residue gets the same noise on any number of ranks. */
pd_tensor *pd_reparameterize(pd_graph *g, pd_tensor *mu, pd_tensor *logvar, uint64_t seed, uint64_t step,
                             const uint64_t *row_ids);
/* The same with eps given as a tensor (tests against PyTorch, or noise drawn elsewhere). */
pd_tensor *pd_reparameterize_eps(pd_graph *g, pd_tensor *mu, pd_tensor *logvar, pd_tensor *eps);
/* KL(N(mu, exp(logvar)) || N(0,1)) summed over the last dim and over rows with
 * row_valid[r] != 0 (NULL = all), divided by `normaliser` (0: the number of valid rows). [1] */
pd_tensor *pd_kl_normal(pd_graph *g, pd_tensor *mu, pd_tensor *logvar, const uint8_t *row_valid, double normaliser);

/* ---- losses (scalar [1] results) --------------------------------------------------------------------- */
/* sum over valid elements of (pred - target)^2 / normaliser; row_valid [rows of pred] (NULL = all);
 * normaliser 0 = number of valid elements (a mean). Pass a global count to normalise by
 * the global batch. target may require grad too. */
pd_tensor *pd_mse(pd_graph *g, pd_tensor *pred, pd_tensor *target, const uint8_t *row_valid, double normaliser);
/* logits [N, C] (or [..., C]), target [N] class ids; rows with target == ignore_index are skipped;
 * sum of -log softmax(logits)[target] / normaliser (0 = number of valid rows). */
pd_tensor *pd_cross_entropy(pd_graph *g, pd_tensor *logits, const int32_t *target, int ignore_index,
                            double normaliser);

#endif
