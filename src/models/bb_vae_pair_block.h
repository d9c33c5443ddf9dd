/* bb_vae_pair_block.h — one row block of the backbone VAE's pair head (bb_vae_pair.c's op):
 * its scratch, forward, cross-entropy and backward, with the per-element loops vectorised
 * (bb_vae_pair_block.c). Private to the pair op. */
#ifndef PD_MODELS_BB_VAE_PAIR_BLOCK_H
#define PD_MODELS_BB_VAE_PAIR_BLOCK_H

#include <stdint.h>

#include "nn/real.h"

/* Scratch of one row block (rows x L pair rows). */
typedef struct pd_bb_pair_scratch {
    pd_real *prod, *pre, *hid, *logits, *grad_logits, *grad_hid, *grad_prod;
    int32_t *relpos;   /* [rows] relative-position class of each pair row */
} pd_bb_pair_scratch;

/* One block: entry-local rows rows[0..nb) of the entry at node `off` (length L), all L columns;
 * the head's inputs (q, k [N, D]; qd = q W1d^T, kd = k W1d^T [N, H]) and weights (W1 [H, 2D],
 * W2 [80, H], biases and the relative-position table [66, H] may be NULL); chain = node_chain. */
typedef struct pd_bb_pair_block {
    const int64_t *rows;
    int64_t nb, off, L, D, H;
    const pd_real *q, *k, *qd, *kd, *w1, *b1, *w2, *b2, *table;
    const uint8_t *chain;
} pd_bb_pair_block;

/* d(sum of CE / normaliser) with respect to each input, at upstream gradient 1. */
typedef struct pd_bb_pair_grads { pd_real *q, *k, *w1, *b1, *w2, *b2, *table; } pd_bb_pair_grads;

/* The block's CE sums and argmax-correct counts, added to by pd_bb_pair_block_ce. */
typedef struct pd_bb_pair_sums {
    double dist_ce, orient_ce;
    int64_t pairs, dist_ok, orient_ok, near, near_ok;
} pd_bb_pair_sums;

/* 1 on success; 0 (nothing allocated) when out of memory. backward: also the gradient buffers. */
int pd_bb_pair_scratch_alloc(pd_bb_pair_scratch *s, int64_t rows, int64_t D, int64_t H, int backward);
void pd_bb_pair_scratch_free(pd_bb_pair_scratch *s);

/* Fills relpos, prod, hid, logits; pre holds gelu'(pre-activation) when with_grad (what the
 * backward multiplies by), the pre-activation otherwise. */
void pd_bb_pair_block_forward(const pd_bb_pair_scratch *s, const pd_bb_pair_block *b, int with_grad);

/* Cross-entropy of the block's labelled rows (dist/orient = the entry's labels, row-major L x L)
 * into sums; with grad_logits in s (backward scratch) also (softmax - onehot) * scale per row, 0
 * for unlabelled rows. Rows in order: the double sums do not depend on the thread count. */
void pd_bb_pair_block_ce(const pd_bb_pair_scratch *s, const pd_bb_pair_block *b, const int8_t *dist,
                         const int8_t *orient, pd_real scale, pd_bb_pair_sums *sums);

/* Backward of the block given s->grad_logits (forward run with with_grad): adds into gr and the
 * difference-term gradients gqd, gkd [N, H]. */
void pd_bb_pair_block_backward(const pd_bb_pair_scratch *s, const pd_bb_pair_block *b, const pd_bb_pair_grads *gr,
                               pd_real *gqd, pd_real *gkd);

#endif
