/* row_loss.h — what MSE (ops_loss.c) and the KL to N(0, 1) (ops_vae.c) share: both sum a
 * per-element term over the valid rows of two [rows, D] tensors (pd_row_loss_desc) and divide
 * by a normaliser. The masked-row sum (forward, in double, in index order) and the masked-row
 * gradient loop (backward) are inlined into each op's CPU kernel; pd_row_loss_op is the op
 * function both call (row_loss.c). */
#ifndef PD_NN_ROW_LOSS_H
#define PD_NN_ROW_LOSS_H

#include "nn/kernel_desc.h"
#include "nn/ops_internal.h"

/* Σ over valid rows r and columns j of term(a[r, j], b[r, j]), in double, in index order. */
static inline double pd_row_loss_sum(const pd_row_loss_desc *d, double (*term)(double a, double b))
{
    const int64_t R = d->rows, D = d->D;
    double total = 0;
    for (int64_t r = 0; r < R; r++) {
        if (d->row_valid && !d->row_valid[r]) continue;
        for (int64_t j = 0; j < D; j++) total += term(d->a[r * D + j], d->b[r * D + j]);
    }
    return total;
}

/* grad(go, d, i) for every element i of the valid rows (it adds into d->ga/d->gb at i). */
static inline void pd_row_loss_grad(const pd_row_loss_desc *d, pd_real go,
                                    void (*grad)(pd_real go, const pd_row_loss_desc *d, int64_t i))
{
    const int64_t R = d->rows, D = d->D;
#pragma omp parallel for schedule(static) if (R * D > PD_OMP_MIN_WORK)
    for (int64_t r = 0; r < R; r++) {
        if (d->row_valid && !d->row_valid[r]) continue;
        for (int64_t j = 0; j < D; j++) grad(go, d, r * D + j);
    }
}

/* The op function of MSE or KL_NORMAL (op) on a, b of one shape (checked by the caller): the
 * normaliser (normaliser > 0, or per_row × the valid rows, at least 1), the op's copy of the
 * row mask (may be NULL), the scalar output, the forward and one node. */
pd_tensor *pd_row_loss_op(pd_graph *g, pd_op op, pd_tensor *a, pd_tensor *b, const uint8_t *row_valid,
                          double normaliser, int64_t per_row);

#endif
