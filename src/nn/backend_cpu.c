/* backend_cpu.c — the reference backend: the table from op to CPU kernel (defined beside each
 * op, backend_cpu.h), host memory (device.c allocates it directly). It supports every op of
 * the enum, each through this table. */
#include "nn/backend_cpu.h"

#include "nn/backend.h"

static const struct {
    pd_cpu_kernel forward, backward;
} kernels[PD_OP_COUNT] = {
    [PD_OP_ADD] = {pd_cpu_binary_forward, pd_cpu_binary_backward},
    [PD_OP_SUB] = {pd_cpu_binary_forward, pd_cpu_binary_backward},
    [PD_OP_MUL] = {pd_cpu_binary_forward, pd_cpu_binary_backward},
    [PD_OP_SCALE] = {pd_cpu_affine_forward, pd_cpu_affine_backward},
    [PD_OP_ADD_SCALAR] = {pd_cpu_affine_forward, pd_cpu_affine_backward},
    [PD_OP_MODULATE] = {pd_cpu_modulate_forward, pd_cpu_modulate_backward},
    [PD_OP_SUM] = {pd_cpu_sum_forward, pd_cpu_sum_backward},
    [PD_OP_MEAN] = {pd_cpu_sum_forward, pd_cpu_sum_backward},
    [PD_OP_SUM_AXIS] = {pd_cpu_sum_axis_forward, pd_cpu_sum_axis_backward},
    [PD_OP_MEAN_AXIS] = {pd_cpu_sum_axis_forward, pd_cpu_sum_axis_backward},
    [PD_OP_MSE] = {pd_cpu_mse_forward, pd_cpu_mse_backward},
    [PD_OP_CROSS_ENTROPY] = {pd_cpu_cross_entropy_forward, pd_cpu_cross_entropy_backward},
    [PD_OP_KL_NORMAL] = {pd_cpu_kl_normal_forward, pd_cpu_kl_normal_backward},
    [PD_OP_REPARAMETERIZE] = {pd_cpu_reparam_forward, pd_cpu_reparam_backward},
    [PD_OP_LAYERNORM] = {pd_cpu_layernorm_forward, pd_cpu_layernorm_backward},
    [PD_OP_UPSAMPLE_BILINEAR] = {pd_cpu_upsample_forward, pd_cpu_upsample_backward},
    [PD_OP_GELU] = {pd_cpu_activation_forward, pd_cpu_activation_backward},
    [PD_OP_GELU_TANH] = {pd_cpu_activation_forward, pd_cpu_activation_backward},
    [PD_OP_SILU] = {pd_cpu_activation_forward, pd_cpu_activation_backward},
    [PD_OP_RELU] = {pd_cpu_activation_forward, pd_cpu_activation_backward},
    [PD_OP_SIGMOID] = {pd_cpu_activation_forward, pd_cpu_activation_backward},
    [PD_OP_SOFTMAX] = {pd_cpu_softmax_forward, pd_cpu_softmax_backward},
    [PD_OP_LOG_SOFTMAX] = {pd_cpu_softmax_forward, pd_cpu_softmax_backward},
    [PD_OP_LINEAR] = {pd_cpu_linear_forward, pd_cpu_linear_backward},
    [PD_OP_MATMUL] = {pd_cpu_matmul_forward, pd_cpu_matmul_backward},
    [PD_OP_CONV2D_K2] = {pd_cpu_conv_forward, pd_cpu_conv_backward},
    [PD_OP_CONV3D_K2] = {pd_cpu_conv_forward, pd_cpu_conv_backward},
    [PD_OP_CONV_TRANSPOSE2D_K2] = {pd_cpu_conv_forward, pd_cpu_conv_backward},
    [PD_OP_CONV_TRANSPOSE3D_K2] = {pd_cpu_conv_forward, pd_cpu_conv_backward},
    [PD_OP_CONV_1X1] = {pd_cpu_conv_forward, pd_cpu_conv_backward},
    [PD_OP_GROUPNORM] = {pd_cpu_groupnorm_forward, pd_cpu_groupnorm_backward},
    [PD_OP_BATCHNORM] = {pd_cpu_batchnorm_forward, pd_cpu_batchnorm_backward},
    [PD_OP_GATHER_ROWS] = {pd_cpu_gather_forward, pd_cpu_gather_backward},
    [PD_OP_EMBEDDING] = {pd_cpu_gather_forward, pd_cpu_gather_backward},
    [PD_OP_SCATTER_ADD_ROWS] = {pd_cpu_scatter_add_forward, pd_cpu_scatter_add_backward},
    [PD_OP_RESHAPE] = {pd_cpu_view_forward, pd_cpu_affine_backward},
    [PD_OP_PERMUTE] = {pd_cpu_permute_forward, pd_cpu_permute_backward},
    [PD_OP_CONCAT] = {pd_cpu_concat_forward, pd_cpu_concat_backward},
    [PD_OP_SLICE] = {pd_cpu_slice_forward, pd_cpu_slice_backward},
    [PD_OP_ROPE] = {pd_cpu_rope_forward, pd_cpu_rope_backward},
    [PD_OP_ATTENTION] = {pd_cpu_attention_forward, pd_cpu_attention_backward},
    [PD_OP_ATTENTION_BIASED] = {pd_cpu_attention_forward, pd_cpu_attention_backward},
    [PD_OP_VQ_STRAIGHT_THROUGH] = {pd_cpu_vq_forward, pd_cpu_vq_backward},
    [PD_OP_VQ_COMMITMENT] = {pd_cpu_commitment_forward, pd_cpu_commitment_backward},
};

int pd_backend_cpu_in_table(int op) { return op >= 0 && op < PD_OP_COUNT && kernels[op].forward != NULL; }

static int cpu_supports(pd_op op) { return op >= 0 && op < PD_OP_COUNT; }

static pd_status run(pd_op op, const void *desc, int backward)
{
    if (!pd_backend_cpu_in_table(op))
        return pd_fail(PD_ERR_UNSUPPORTED, "op '%s' has no entry in the cpu backend's table (it computes inline)",
                       pd_op_name(op) ? pd_op_name(op) : "?");
    return backward ? kernels[op].backward(desc) : kernels[op].forward(desc);
}

static pd_status cpu_forward(const pd_backend_ctx *ctx, pd_op op, const void *desc)
{
    (void)ctx;
    return run(op, desc, 0);
}

static pd_status cpu_backward(const pd_backend_ctx *ctx, pd_op op, const void *desc)
{
    (void)ctx;
    return run(op, desc, 1);
}

static const pd_backend cpu_backend = {
    .name = "cpu",
    .device = PD_DEVICE_CPU,
    .supports = cpu_supports,
    .forward = cpu_forward,
    .backward = cpu_backward,
};

const pd_backend *pd_backend_cpu(void) { return &cpu_backend; }
