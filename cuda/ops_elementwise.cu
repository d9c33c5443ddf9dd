/* ops_elementwise.cu — CUDA kernels of the elementwise ops: broadcast add/sub/mul (the
 * broadcast operand's gradient is a per-element gather in output order, no atomics), scale /
 * add-scalar, adaLN modulation, activations and the reparameterisation. Every per-element
 * value comes from src/nn/pointwise_ops.h, the code the CPU ops run. */
#include "kernel_common.cuh"

namespace {

using pdk::global_index;
using pdk::global_stride;

__global__ void binary_forward_kernel(pd_binary_kind kind, pd_broadcast_layout L, const float *a, const float *b,
                                      float *y)
{
    for (int64_t i = global_index(); i < L.numel; i += global_stride())
        y[i] = pd_binary_value(kind, a[pd_broadcast_offset(&L, 0, i)], b[pd_broadcast_offset(&L, 1, i)]);
}

/* One thread per element of the operand: its gradient is summed in output order. */
__global__ void binary_backward_kernel(pd_binary_kind kind, pd_broadcast_layout L, int which, const float *gy,
                                       const float *other, float *g, int64_t n)
{
    for (int64_t j = global_index(); j < n; j += global_stride())
        g[j] = pd_broadcast_grad_cell(&L, which, kind, j, g[j], gy, other);
}

__global__ void affine_forward_kernel(const float *x, float *y, int64_t n, float alpha, float c)
{
    for (int64_t i = global_index(); i < n; i += global_stride()) y[i] = alpha * x[i] + c;
}

__global__ void affine_backward_kernel(const float *gy, float *gx, int64_t n, float alpha)
{
    for (int64_t i = global_index(); i < n; i += global_stride()) gx[i] += alpha * gy[i];
}

__global__ void modulate_forward_kernel(const float *x, const float *shift, const float *scale, float *y, int64_t n,
                                        int64_t D, int64_t per)
{
    for (int64_t i = global_index(); i < n; i += global_stride()) {
        const int64_t r = i / D, j = i % D, c = (r / per) * D + j;
        y[i] = pd_modulate_value(x[i], shift[c], scale[c]);
    }
}

__global__ void modulate_grad_x_kernel(const float *scale, const float *gy, float *gx, int64_t n, int64_t D, int64_t per)
{
    for (int64_t i = global_index(); i < n; i += global_stride()) {
        const int64_t r = i / D, j = i % D;
        gx[i] += pd_modulate_grad_x(gy[i], scale[(r / per) * D + j]);
    }
}

/* One thread per (conditioning row, column): its `per` rows in order, as the CPU. */
__global__ void modulate_grad_cond_kernel(const float *x, const float *gy, float *gshift, float *gscale, int64_t n_cond,
                                          int64_t D, int64_t per)
{
    for (int64_t t = global_index(); t < n_cond * D; t += global_stride()) {
        const int64_t c = t / D, j = t % D;
        float sh = gshift ? gshift[t] : 0, sc = gscale ? gscale[t] : 0;
        for (int64_t r = c * per; r < (c + 1) * per; r++) {
            sh += gy[r * D + j];
            sc += pd_modulate_grad_scale(gy[r * D + j], x[r * D + j]);
        }
        if (gshift) gshift[t] = sh;
        if (gscale) gscale[t] = sc;
    }
}

__global__ void activation_forward_kernel(pd_act_kind kind, const float *x, float *y, int64_t n)
{
    for (int64_t i = global_index(); i < n; i += global_stride()) y[i] = pd_act_value(kind, x[i]);
}

__global__ void activation_backward_kernel(pd_act_kind kind, const float *x, const float *y, const float *gy, float *gx,
                                           int64_t n)
{
    for (int64_t i = global_index(); i < n; i += global_stride()) gx[i] += gy[i] * pd_act_derivative(kind, x[i], y[i]);
}

__global__ void reparam_forward_kernel(const float *mu, const float *lv, const float *eps, float *z, int64_t n)
{
    for (int64_t i = global_index(); i < n; i += global_stride()) z[i] = pd_reparam_value(mu[i], lv[i], eps[i]);
}

__global__ void reparam_backward_kernel(const float *lv, const float *eps, const float *gz, float *gmu, float *glv,
                                        float *geps, int64_t n)
{
    for (int64_t i = global_index(); i < n; i += global_stride()) {
        const float sd = pd_reparam_sd(lv[i]);
        if (gmu) gmu[i] += gz[i];
        if (glv) glv[i] += pd_reparam_grad_logvar(gz[i], eps[i], sd);
        if (geps) geps[i] += gz[i] * sd;
    }
}

} // namespace

extern "C" pd_status pd_cuda_binary_forward(pd_binary_kind kind, const pd_broadcast_layout *L, const float *a,
                                            const float *b, float *y, int64_t a_numel, int64_t b_numel)
{
    (void)a_numel;
    (void)b_numel;
    if (L->numel == 0) return PD_OK;
    binary_forward_kernel<<<pdk::blocks_for(L->numel), pdk::kThreads, 0, pdk::stream()>>>(kind, *L, a, b, y);
    return pdk::launched("binary forward");
}

extern "C" pd_status pd_cuda_binary_backward(pd_binary_kind kind, const pd_broadcast_layout *L, const float *a,
                                             const float *b, const float *gy, float *ga, float *gb, int64_t a_numel,
                                             int64_t b_numel)
{
    if (ga && a_numel) {
        binary_backward_kernel<<<pdk::blocks_for(a_numel), pdk::kThreads, 0, pdk::stream()>>>(kind, *L, 0, gy, b, ga, a_numel);
        PD_TRY(pdk::launched("binary backward (a)"));
    }
    if (gb && b_numel) {
        binary_backward_kernel<<<pdk::blocks_for(b_numel), pdk::kThreads, 0, pdk::stream()>>>(kind, *L, 1, gy, a, gb, b_numel);
        PD_TRY(pdk::launched("binary backward (b)"));
    }
    return PD_OK;
}

extern "C" pd_status pd_cuda_affine_forward(const float *x, float *y, int64_t n, float alpha, float c)
{
    if (n <= 0) return PD_OK;
    affine_forward_kernel<<<pdk::blocks_for(n), pdk::kThreads, 0, pdk::stream()>>>(x, y, n, alpha, c);
    return pdk::launched("affine forward");
}

extern "C" pd_status pd_cuda_affine_backward(const float *gy, float *gx, int64_t n, float alpha)
{
    if (n <= 0) return PD_OK;
    affine_backward_kernel<<<pdk::blocks_for(n), pdk::kThreads, 0, pdk::stream()>>>(gy, gx, n, alpha);
    return pdk::launched("affine backward");
}

extern "C" pd_status pd_cuda_modulate_forward(const float *x, const float *shift, const float *scale, float *y,
                                              int64_t rows, int64_t D, int64_t rows_per_cond)
{
    const int64_t n = rows * D;
    if (n <= 0) return PD_OK;
    modulate_forward_kernel<<<pdk::blocks_for(n), pdk::kThreads, 0, pdk::stream()>>>(x, shift, scale, y, n, D, rows_per_cond);
    return pdk::launched("modulate forward");
}

extern "C" pd_status pd_cuda_modulate_backward(const float *x, const float *scale, const float *gy, float *gx,
                                               float *gshift, float *gscale, int64_t rows, int64_t D,
                                               int64_t rows_per_cond)
{
    const int64_t n = rows * D, n_cond = rows / rows_per_cond;
    if (n <= 0) return PD_OK;
    if (gx) {
        modulate_grad_x_kernel<<<pdk::blocks_for(n), pdk::kThreads, 0, pdk::stream()>>>(scale, gy, gx, n, D, rows_per_cond);
        PD_TRY(pdk::launched("modulate backward (x)"));
    }
    if (gshift || gscale) {
        modulate_grad_cond_kernel<<<pdk::blocks_for(n_cond * D), pdk::kThreads, 0, pdk::stream()>>>(x, gy, gshift, gscale, n_cond, D, rows_per_cond);
        PD_TRY(pdk::launched("modulate backward (shift, scale)"));
    }
    return PD_OK;
}

extern "C" pd_status pd_cuda_activation_forward(pd_act_kind kind, const float *x, float *y, int64_t n)
{
    if (n <= 0) return PD_OK;
    activation_forward_kernel<<<pdk::blocks_for(n), pdk::kThreads, 0, pdk::stream()>>>(kind, x, y, n);
    return pdk::launched("activation forward");
}

extern "C" pd_status pd_cuda_activation_backward(pd_act_kind kind, const float *x, const float *y, const float *gy,
                                                 float *gx, int64_t n)
{
    if (n <= 0) return PD_OK;
    activation_backward_kernel<<<pdk::blocks_for(n), pdk::kThreads, 0, pdk::stream()>>>(kind, x, y, gy, gx, n);
    return pdk::launched("activation backward");
}

extern "C" pd_status pd_cuda_reparam_forward(const float *mu, const float *logvar, const float *eps, float *z, int64_t n)
{
    if (n <= 0) return PD_OK;
    reparam_forward_kernel<<<pdk::blocks_for(n), pdk::kThreads, 0, pdk::stream()>>>(mu, logvar, eps, z, n);
    return pdk::launched("reparameterize forward");
}

extern "C" pd_status pd_cuda_reparam_backward(const float *logvar, const float *eps, const float *gz, float *gmu,
                                              float *glogvar, float *geps, int64_t n)
{
    if (n <= 0) return PD_OK;
    reparam_backward_kernel<<<pdk::blocks_for(n), pdk::kThreads, 0, pdk::stream()>>>(logvar, eps, gz, gmu, glogvar, geps, n);
    return pdk::launched("reparameterize backward");
}
