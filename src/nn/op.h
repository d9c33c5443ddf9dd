/* op.h — the one list of the ops the tape records. Every node carries its op's enum value, so
 * a backend can say which ops it computes (backend.h), a graph on a device fails naming an op
 * its backend lacks, and tests/nn/test_op_coverage walks this list to check every op has a CPU
 * kernel, a double-precision finite-difference check and a PyTorch parity case.
 *
 * X(ID, "name", flags): the name is what nodes, error messages and profiles show (and what
 * pd_record is given). Flags:
 *   PD_OP_HOST_SIDE  computed on the host on every placement (it reads host-side values, e.g.
 *                    a scalar loss summed on the host); a device graph runs it after a sync
 *                    instead of failing.
 * A name pd_record does not know is a model's own op (PD_OP_CUSTOM: host-side, checked by the
 * model's tests). */
#ifndef PD_NN_OP_H
#define PD_NN_OP_H

#define PD_OP_HOST_SIDE 1

#define PD_OP_LIST(X)                                                  \
    X(LINEAR, "linear", 0)                                             \
    X(MATMUL, "matmul", 0)                                             \
    X(ADD, "add", 0)                                                   \
    X(SUB, "sub", 0)                                                   \
    X(MUL, "mul", 0)                                                   \
    X(SCALE, "scale", 0)                                               \
    X(ADD_SCALAR, "add_scalar", 0)                                     \
    X(MODULATE, "modulate", 0)                                         \
    X(GELU, "gelu", 0)                                                 \
    X(GELU_TANH, "gelu_tanh", 0)                                       \
    X(SILU, "silu", 0)                                                 \
    X(RELU, "relu", 0)                                                 \
    X(SIGMOID, "sigmoid", 0)                                           \
    X(SOFTMAX, "softmax", 0)                                           \
    X(LOG_SOFTMAX, "log_softmax", 0)                                   \
    X(SUM, "sum", 0)                                                   \
    X(MEAN, "mean", 0)                                                 \
    X(SUM_AXIS, "sum_axis", 0)                                         \
    X(MEAN_AXIS, "mean_axis", 0)                                       \
    X(RESHAPE, "reshape", 0)                                           \
    X(PERMUTE, "permute", 0)                                           \
    X(CONCAT, "concat", 0)                                             \
    X(SLICE, "slice", 0)                                               \
    X(GATHER_ROWS, "gather_rows", 0)                                   \
    X(EMBEDDING, "embedding", 0)                                       \
    X(SCATTER_ADD_ROWS, "scatter_add_rows", 0)                         \
    X(LAYERNORM, "layernorm", 0)                                       \
    X(ROPE, "rope", 0)                                                 \
    X(ATTENTION, "attention", 0)                                       \
    X(ATTENTION_BIASED, "attention (pair bias)", 0)                    \
    X(REPARAMETERIZE, "reparameterize", 0)                             \
    X(KL_NORMAL, "kl_normal", 0)                                       \
    X(MSE, "mse", 0)                                                   \
    X(CROSS_ENTROPY, "cross_entropy", 0)                               \
    X(CONV2D_K2, "conv2d k2", 0)                                       \
    X(CONV3D_K2, "conv3d k2", 0)                                       \
    X(CONV_TRANSPOSE2D_K2, "conv_transpose2d k2", 0)                   \
    X(CONV_TRANSPOSE3D_K2, "conv_transpose3d k2", 0)                   \
    X(CONV_1X1, "conv 1x1", 0)                                         \
    X(GROUPNORM, "groupnorm", 0)                                       \
    X(BATCHNORM, "batchnorm", 0)                                       \
    X(UPSAMPLE_BILINEAR, "upsample bilinear", 0)                       \
    X(VQ_STRAIGHT_THROUGH, "vq straight-through", 0)                   \
    X(VQ_COMMITMENT, "vq commitment", PD_OP_HOST_SIDE)

typedef enum pd_op {
    PD_OP_MARKER = -2,   /* FSDP unit boundary on the tape (no tensor) */
    PD_OP_CUSTOM = -1,   /* a model's own op (a name not in the list): host-side */
#define PD_OP_ENUM_(id, name, flags) PD_OP_##id,
    PD_OP_LIST(PD_OP_ENUM_)
#undef PD_OP_ENUM_
    PD_OP_COUNT
} pd_op;

#ifdef __cplusplus
extern "C" {
#endif

/* "linear", ...; "custom" / "unit marker" for the two negative values, NULL out of range. */
const char *pd_op_name(pd_op op);
/* The op of a name in the list, PD_OP_CUSTOM for any other name. */
pd_op pd_op_from_name(const char *name);
/* 1 when the op is computed on the host on every placement (PD_OP_HOST_SIDE, or custom). */
int pd_op_host_side(pd_op op);

#ifdef __cplusplus
}
#endif
#endif
