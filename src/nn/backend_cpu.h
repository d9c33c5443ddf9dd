/* backend_cpu.h — the CPU kernels of the reference backend's table (backend_cpu.c). Each is
 * defined beside its op (ops_*.c) and takes that op's descriptor (kernel_desc.h) as `desc`. */
#ifndef PD_NN_BACKEND_CPU_H
#define PD_NN_BACKEND_CPU_H

#include "core/error.h"

typedef pd_status (*pd_cpu_kernel)(const void *desc);

/* ops_activation.c */
pd_status pd_cpu_activation_forward(const void *desc);
pd_status pd_cpu_activation_backward(const void *desc);
pd_status pd_cpu_softmax_forward(const void *desc);
pd_status pd_cpu_softmax_backward(const void *desc);

/* ops_elementwise.c */
pd_status pd_cpu_binary_forward(const void *desc);
pd_status pd_cpu_binary_backward(const void *desc);
pd_status pd_cpu_affine_forward(const void *desc);
pd_status pd_cpu_affine_backward(const void *desc);
pd_status pd_cpu_modulate_forward(const void *desc);
pd_status pd_cpu_modulate_backward(const void *desc);

/* ops_reduce.c */
pd_status pd_cpu_sum_forward(const void *desc);
pd_status pd_cpu_sum_backward(const void *desc);
pd_status pd_cpu_sum_axis_forward(const void *desc);
pd_status pd_cpu_sum_axis_backward(const void *desc);

/* ops_loss.c, ops_vae.c */
pd_status pd_cpu_mse_forward(const void *desc);
pd_status pd_cpu_mse_backward(const void *desc);
pd_status pd_cpu_cross_entropy_forward(const void *desc);
pd_status pd_cpu_cross_entropy_backward(const void *desc);
pd_status pd_cpu_kl_normal_forward(const void *desc);
pd_status pd_cpu_kl_normal_backward(const void *desc);
pd_status pd_cpu_reparam_forward(const void *desc);
pd_status pd_cpu_reparam_backward(const void *desc);

/* ops_layernorm.c, upsample_ops.c */
pd_status pd_cpu_layernorm_forward(const void *desc);
pd_status pd_cpu_layernorm_backward(const void *desc);
pd_status pd_cpu_upsample_forward(const void *desc);
pd_status pd_cpu_upsample_backward(const void *desc);

/* ops_gemm.c */
pd_status pd_cpu_linear_forward(const void *desc);
pd_status pd_cpu_linear_backward(const void *desc);
pd_status pd_cpu_matmul_forward(const void *desc);
pd_status pd_cpu_matmul_backward(const void *desc);

/* conv_ops.c, norm_ops.c */
pd_status pd_cpu_conv_forward(const void *desc);
pd_status pd_cpu_conv_backward(const void *desc);
pd_status pd_cpu_groupnorm_forward(const void *desc);
pd_status pd_cpu_groupnorm_backward(const void *desc);
pd_status pd_cpu_batchnorm_forward(const void *desc);
pd_status pd_cpu_batchnorm_backward(const void *desc);

/* ops_index.c */
pd_status pd_cpu_gather_forward(const void *desc);
pd_status pd_cpu_gather_backward(const void *desc);
pd_status pd_cpu_scatter_add_forward(const void *desc);
pd_status pd_cpu_scatter_add_backward(const void *desc);

/* ops_shape.c */
pd_status pd_cpu_view_forward(const void *desc);
pd_status pd_cpu_permute_forward(const void *desc);
pd_status pd_cpu_permute_backward(const void *desc);
pd_status pd_cpu_concat_forward(const void *desc);
pd_status pd_cpu_concat_backward(const void *desc);
pd_status pd_cpu_slice_forward(const void *desc);
pd_status pd_cpu_slice_backward(const void *desc);

/* ops_attention.c */
pd_status pd_cpu_rope_forward(const void *desc);
pd_status pd_cpu_rope_backward(const void *desc);
pd_status pd_cpu_attention_forward(const void *desc);
pd_status pd_cpu_attention_backward(const void *desc);

/* vq_ops.c */
pd_status pd_cpu_vq_forward(const void *desc);
pd_status pd_cpu_vq_backward(const void *desc);
pd_status pd_cpu_commitment_forward(const void *desc);
pd_status pd_cpu_commitment_backward(const void *desc);

/* 1 when `op` has its CPU kernel in the table; the others still compute inline in their op
 * function (the CPU backend supports every op either way). */
int pd_backend_cpu_in_table(int op);

#endif
