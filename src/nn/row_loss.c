/* row_loss.c — the op function MSE and KL_NORMAL share (row_loss.h): normaliser, mask copy
 * (graph memory, backend-readable), output, forward, node, and the backward that hands the
 * saved descriptor back to the backend. */
#include "nn/row_loss.h"

#include <string.h>

#include "nn/op_run.h"

static void row_loss_backward(pd_graph *g, pd_node *n)
{
    pd_row_loss_desc d = *(const pd_row_loss_desc *)n->saved;
    d.gy = n->out->grad;
    d.ga = pd_grad(g, n->in[0]);
    d.gb = pd_grad(g, n->in[1]);
    pd_op_backward(g, n, &d);
}

pd_tensor *pd_row_loss_op(pd_graph *g, pd_op op, pd_tensor *a, pd_tensor *b, const uint8_t *row_valid,
                          double normaliser, int64_t per_row)
{
    const int64_t D = pd_tensor_cols(a), R = pd_tensor_rows(a);
    int64_t valid = 0;
    for (int64_t r = 0; r < R; r++) valid += (!row_valid || row_valid[r]) ? per_row : 0;
    const double norm = normaliser > 0 ? normaliser : (double)(valid ? valid : 1);
    uint8_t *mask = row_valid ? pd_graph_alloc(g, (size_t)(R ? R : 1)) : NULL; /* the kernels read it */
    pd_tensor *y = pd_tensor_new1(g, 1);
    if (!y || (row_valid && !mask)) return NULL;
    if (mask) memcpy(mask, row_valid, (size_t)R);
    pd_row_loss_desc d = {.rows = R, .D = D, .row_valid = mask, .norm = norm, .inv_norm = (pd_real)(1.0 / norm),
                          .a = a->data, .b = b->data, .y = y->data};
    if (!pd_op_forward(g, op, &d)) return NULL;
    pd_node *n = pd_record_op(g, op, row_loss_backward, y, 2, (pd_tensor *[]){a, b});
    if (n) {
        pd_row_loss_desc *s = pd_node_save(g, n, sizeof *s);
        if (!s) return NULL;
        *s = d;
    }
    return y;
}
