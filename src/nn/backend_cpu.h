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

/* 1 when `op` has its CPU kernel in the table; the others still compute inline in their op
 * function (the CPU backend supports every op either way). */
int pd_backend_cpu_in_table(int op);

#endif
