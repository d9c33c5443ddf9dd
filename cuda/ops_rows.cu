/* ops_rows.cu — CUDA kernels of the row-wise ops: softmax / log-softmax, LayerNorm, sum and
 * mean (all or one axis), and the losses (MSE, cross-entropy with ignore index, KL). A warp
 * owns a row and reduces it with a fixed butterfly; column sums (LayerNorm's dw, db) run one
 * thread per column over the rows in order, exactly as the CPU; scalar totals use reduce.cuh. */
#include "reduce.cuh"

#include "nn/pointwise_norm.h"

namespace {

using pdk::global_index;
using pdk::global_stride;

/* Warp w of the grid handles rows w, w + n_warps, ... */
__device__ inline int64_t warp_id() { return global_index() >> 5; }
__device__ inline int64_t warp_count() { return global_stride() >> 5; }
__device__ inline int lane_id() { return threadIdx.x & 31; }

unsigned blocks_for_rows(int64_t rows) { return pdk::blocks_for(rows * 32); }

__global__ void softmax_forward_kernel(const float *x, float *y, int64_t rows, int64_t C, int take_log)
{
    for (int64_t r = warp_id(); r < rows; r += warp_count()) {
        const float *xr = x + r * C;
        float *yr = y + r * C;
        float mx = -INFINITY;
        for (int64_t c = lane_id(); c < C; c += 32) mx = fmaxf(mx, xr[c]);
        mx = pdk::warp_max(mx);
        float sum = 0;
        for (int64_t c = lane_id(); c < C; c += 32) sum += pd_exp(xr[c] - mx);
        sum = pdk::warp_sum(sum);
        if (take_log) {
            const float lse = pd_log_sum_exp(mx, sum);
            for (int64_t c = lane_id(); c < C; c += 32) yr[c] = xr[c] - lse;
        } else {
            const float inv = 1 / sum;
            for (int64_t c = lane_id(); c < C; c += 32) yr[c] = pd_softmax_value(xr[c], mx, inv);
        }
    }
}

__global__ void softmax_backward_kernel(const float *y, const float *gy, float *gx, int64_t rows, int64_t C, int take_log)
{
    for (int64_t r = warp_id(); r < rows; r += warp_count()) {
        const float *yr = y + r * C, *gyr = gy + r * C;
        float s = 0;
        for (int64_t c = lane_id(); c < C; c += 32) s += take_log ? gyr[c] : yr[c] * gyr[c];
        s = pdk::warp_sum(s);
        for (int64_t c = lane_id(); c < C; c += 32)
            gx[r * C + c] += take_log ? pd_log_softmax_grad(yr[c], gyr[c], s) : pd_softmax_grad(yr[c], gyr[c], s);
    }
}

__global__ void layernorm_forward_kernel(const float *x, const float *w, const float *b, float *y, float *mean,
                                         float *rstd, int64_t rows, int64_t D, float eps)
{
    for (int64_t r = warp_id(); r < rows; r += warp_count()) {
        const float *xr = x + r * D;
        float mu = 0, var = 0;
        for (int64_t j = lane_id(); j < D; j += 32) mu += xr[j];
        mu = pdk::warp_sum(mu) / (float)D;
        for (int64_t j = lane_id(); j < D; j += 32) var += (xr[j] - mu) * (xr[j] - mu);
        var = pdk::warp_sum(var) / (float)D;
        const float rs = pd_layernorm_rstd(var, eps);
        for (int64_t j = lane_id(); j < D; j += 32)
            y[r * D + j] = pd_layernorm_value(xr[j], mu, rs, w != NULL, w ? w[j] : 0, b != NULL, b ? b[j] : 0);
        if (lane_id() == 0 && mean) {
            mean[r] = mu;
            rstd[r] = rs;
        }
    }
}

__global__ void layernorm_grad_x_kernel(const float *x, const float *w, const float *mean, const float *rstd,
                                        const float *gy, float *gx, int64_t rows, int64_t D)
{
    for (int64_t r = warp_id(); r < rows; r += warp_count()) {
        const float *xr = x + r * D, *gyr = gy + r * D;
        const float mu = mean[r], rs = rstd[r];
        float sum_d = 0, sum_dx = 0;
        for (int64_t j = lane_id(); j < D; j += 32) {
            const float d = gyr[j] * (w ? w[j] : 1);
            sum_d += d;
            sum_dx += d * (xr[j] - mu) * rs;
        }
        sum_d = pdk::warp_sum(sum_d) / (float)D;
        sum_dx = pdk::warp_sum(sum_dx) / (float)D;
        for (int64_t j = lane_id(); j < D; j += 32) {
            const float d = gyr[j] * (w ? w[j] : 1);
            gx[r * D + j] += pd_layernorm_grad_x(rs, d, sum_d, (xr[j] - mu) * rs, sum_dx);
        }
    }
}

/* One thread per column, rows in order: the CPU's column-block sums, bit for bit. */
__global__ void layernorm_grad_wb_kernel(const float *x, const float *mean, const float *rstd, const float *gy, float *gw,
                                         float *gb, int64_t rows, int64_t D)
{
    for (int64_t j = global_index(); j < D; j += global_stride()) {
        float accw = 0, accb = 0;
        for (int64_t r = 0; r < rows; r++) {
            accw += pd_layernorm_grad_w_term(gy[r * D + j], x[r * D + j], mean[r], rstd[r]);
            accb += gy[r * D + j];
        }
        if (gw) gw[j] += accw;
        if (gb) gb[j] += accb;
    }
}

struct value_term {
    const float *x;
    __device__ double operator()(int64_t i) const { return x[i]; }
};

struct mse_term {
    const float *p, *t;
    const uint8_t *valid;
    int64_t D;
    __device__ double operator()(int64_t i) const
    {
        if (valid && !valid[i / D]) return 0;
        const double d = (double)p[i] - (double)t[i];
        return d * d;
    }
};

struct kl_term {
    const float *mu, *lv;
    const uint8_t *valid;
    int64_t D;
    __device__ double operator()(int64_t i) const
    {
        if (valid && !valid[i / D]) return 0;
        return pd_kl_normal_term(mu[i], lv[i]);
    }
};

struct ce_term {
    const float *x, *lse;
    const int32_t *target;
    int ignore_index;
    int64_t C;
    __device__ double operator()(int64_t r) const
    {
        const int32_t t = target[r];
        if (t == ignore_index) return 0;
        return (double)lse[r] - (double)x[r * C + t];
    }
};

__global__ void scalar_out_kernel(const double *total, double divisor, float *out) { out[0] = (float)(*total / divisor); }

__global__ void fill_scalar_grad_kernel(const float *gout, float *gx, int64_t n, float factor)
{
    for (int64_t i = global_index(); i < n; i += global_stride()) gx[i] += gout[0] * factor;
}

__global__ void sum_axis_forward_kernel(const float *x, float *y, int64_t outer, int64_t dim, int64_t inner, float factor)
{
    for (int64_t t = global_index(); t < outer * inner; t += global_stride()) {
        const int64_t o = t / inner, i = t % inner;
        float s = 0;
        for (int64_t d = 0; d < dim; d++) s += x[(o * dim + d) * inner + i];
        y[t] = s * factor;
    }
}

__global__ void sum_axis_backward_kernel(const float *gy, float *gx, int64_t outer, int64_t dim, int64_t inner,
                                         float factor)
{
    for (int64_t t = global_index(); t < outer * dim * inner; t += global_stride()) {
        const int64_t o = t / (dim * inner), i = t % inner;
        gx[t] += gy[o * inner + i] * factor;
    }
}

__global__ void row_lse_kernel(const float *x, float *lse, int64_t rows, int64_t C)
{
    for (int64_t r = warp_id(); r < rows; r += warp_count()) {
        const float *xr = x + r * C;
        float mx = -INFINITY;
        for (int64_t c = lane_id(); c < C; c += 32) mx = fmaxf(mx, xr[c]);
        mx = pdk::warp_max(mx);
        float sum = 0;
        for (int64_t c = lane_id(); c < C; c += 32) sum += pd_exp(xr[c] - mx);
        sum = pdk::warp_sum(sum);
        if (lane_id() == 0) lse[r] = pd_log_sum_exp(mx, sum);
    }
}

__global__ void mse_backward_kernel(const float *p, const float *t, const uint8_t *valid, const float *gout, float *gp,
                                    float *gt, int64_t n, int64_t D, float inv_norm)
{
    const float go = gout[0] * inv_norm * 2;
    for (int64_t i = global_index(); i < n; i += global_stride()) {
        if (valid && !valid[i / D]) continue;
        const float d = pd_mse_grad(go, p[i], t[i]);
        if (gp) gp[i] += d;
        if (gt) gt[i] -= d;
    }
}

__global__ void ce_backward_kernel(const float *x, const int32_t *target, int ignore_index, const float *lse,
                                   const float *gout, float *gx, int64_t n, int64_t C, float inv_norm)
{
    const float go = gout[0] * inv_norm;
    for (int64_t i = global_index(); i < n; i += global_stride()) {
        const int64_t r = i / C, c = i % C;
        const int32_t t = target[r];
        if (t == ignore_index) continue;
        gx[i] += pd_cross_entropy_grad(go, x[i], lse[r], c == t);
    }
}

__global__ void kl_backward_kernel(const float *mu, const float *lv, const uint8_t *valid, const float *gout, float *gmu,
                                   float *glv, int64_t n, int64_t D, float inv_norm)
{
    const float go = gout[0] * inv_norm;
    for (int64_t i = global_index(); i < n; i += global_stride()) {
        if (valid && !valid[i / D]) continue;
        if (gmu) gmu[i] += pd_kl_grad_mu(go, mu[i]);
        if (glv) glv[i] += pd_kl_grad_logvar(go, lv[i]);
    }
}

double *scalar_slot(pd_cuda_arena *work)
{
    return static_cast<double *>(pd_cuda_arena_alloc(work, sizeof(double)));
}

} // namespace

extern "C" pd_status pd_cuda_softmax_forward(const float *x, float *y, int64_t rows, int64_t cols, int take_log)
{
    if (rows <= 0 || cols <= 0) return PD_OK;
    softmax_forward_kernel<<<blocks_for_rows(rows), pdk::kThreads, 0, pdk::stream()>>>(x, y, rows, cols, take_log);
    return pdk::launched("softmax forward");
}

extern "C" pd_status pd_cuda_softmax_backward(const float *y, const float *gy, float *gx, int64_t rows, int64_t cols,
                                              int take_log)
{
    if (rows <= 0 || cols <= 0) return PD_OK;
    softmax_backward_kernel<<<blocks_for_rows(rows), pdk::kThreads, 0, pdk::stream()>>>(y, gy, gx, rows, cols, take_log);
    return pdk::launched("softmax backward");
}

extern "C" pd_status pd_cuda_layernorm_forward(const float *x, const float *w, const float *b, float *y, float *mean,
                                               float *rstd, int64_t rows, int64_t D, float eps)
{
    if (rows <= 0 || D <= 0) return PD_OK;
    layernorm_forward_kernel<<<blocks_for_rows(rows), pdk::kThreads, 0, pdk::stream()>>>(x, w, b, y, mean, rstd, rows, D,
                                                                                         eps);
    return pdk::launched("layernorm forward");
}

extern "C" pd_status pd_cuda_layernorm_backward(const float *x, const float *w, const float *mean, const float *rstd,
                                                const float *gy, float *gx, float *gw, float *gb, int64_t rows,
                                                int64_t D)
{
    if (rows <= 0 || D <= 0) return PD_OK;
    if (gx) {
        layernorm_grad_x_kernel<<<blocks_for_rows(rows), pdk::kThreads, 0, pdk::stream()>>>(x, w, mean, rstd, gy, gx,
                                                                                            rows, D);
        PD_TRY(pdk::launched("layernorm backward (x)"));
    }
    if (gw || gb) {
        layernorm_grad_wb_kernel<<<pdk::blocks_for(D), pdk::kThreads, 0, pdk::stream()>>>(x, mean, rstd, gy, gw, gb,
                                                                                          rows, D);
        PD_TRY(pdk::launched("layernorm backward (weight, bias)"));
    }
    return PD_OK;
}

extern "C" pd_status pd_cuda_sum_forward(pd_cuda_arena *work, const float *x, float *out, int64_t n, int mean)
{
    double *total = scalar_slot(work);
    if (!total) return PD_ERR_NOMEM;
    PD_TRY(pdk::deterministic_sum(work, value_term{x}, n, total));
    scalar_out_kernel<<<1, 1, 0, pdk::stream()>>>(total, mean ? (double)(n ? n : 1) : 1.0, out);
    return pdk::launched("sum (result)");
}

extern "C" pd_status pd_cuda_sum_backward(const float *gout, float *gx, int64_t n, float factor)
{
    if (n <= 0) return PD_OK;
    fill_scalar_grad_kernel<<<pdk::blocks_for(n), pdk::kThreads, 0, pdk::stream()>>>(gout, gx, n, factor);
    return pdk::launched("sum backward");
}

extern "C" pd_status pd_cuda_sum_axis_forward(const float *x, float *y, int64_t outer, int64_t dim, int64_t inner,
                                              float factor)
{
    if (outer * inner <= 0) return PD_OK;
    sum_axis_forward_kernel<<<pdk::blocks_for(outer * inner), pdk::kThreads, 0, pdk::stream()>>>(x, y, outer, dim, inner,
                                                                                                factor);
    return pdk::launched("sum_axis forward");
}

extern "C" pd_status pd_cuda_sum_axis_backward(const float *gy, float *gx, int64_t outer, int64_t dim, int64_t inner,
                                               float factor)
{
    if (outer * dim * inner <= 0) return PD_OK;
    sum_axis_backward_kernel<<<pdk::blocks_for(outer * dim * inner), pdk::kThreads, 0, pdk::stream()>>>(gy, gx, outer, dim,
                                                                                                       inner, factor);
    return pdk::launched("sum_axis backward");
}

extern "C" pd_status pd_cuda_mse_forward(pd_cuda_arena *work, const float *pred, const float *target,
                                         const uint8_t *row_valid, float *out, int64_t rows, int64_t D,
                                         double normaliser)
{
    double *total = scalar_slot(work);
    if (!total) return PD_ERR_NOMEM;
    PD_TRY(pdk::deterministic_sum(work, mse_term{pred, target, row_valid, D}, rows * D, total));
    scalar_out_kernel<<<1, 1, 0, pdk::stream()>>>(total, normaliser, out);
    return pdk::launched("mse (result)");
}

extern "C" pd_status pd_cuda_mse_backward(const float *pred, const float *target, const uint8_t *row_valid,
                                          const float *gout, float *gpred, float *gtarget, int64_t rows, int64_t D,
                                          double normaliser)
{
    const int64_t n = rows * D;
    if (n <= 0) return PD_OK;
    mse_backward_kernel<<<pdk::blocks_for(n), pdk::kThreads, 0, pdk::stream()>>>(pred, target, row_valid, gout, gpred,
                                                                                gtarget, n, D, (float)(1.0 / normaliser));
    return pdk::launched("mse backward");
}

extern "C" pd_status pd_cuda_cross_entropy_forward(pd_cuda_arena *work, const float *logits, const int32_t *target,
                                                   int ignore_index, float *lse, float *out, int64_t rows, int64_t C,
                                                   double normaliser)
{
    double *total = scalar_slot(work);
    if (!total) return PD_ERR_NOMEM;
    if (rows > 0) {
        row_lse_kernel<<<blocks_for_rows(rows), pdk::kThreads, 0, pdk::stream()>>>(logits, lse, rows, C);
        PD_TRY(pdk::launched("cross-entropy log-sum-exp"));
    }
    PD_TRY(pdk::deterministic_sum(work, ce_term{logits, lse, target, ignore_index, C}, rows, total));
    scalar_out_kernel<<<1, 1, 0, pdk::stream()>>>(total, normaliser, out);
    return pdk::launched("cross-entropy (result)");
}

extern "C" pd_status pd_cuda_cross_entropy_backward(const float *logits, const int32_t *target, int ignore_index,
                                                    const float *lse, const float *gout, float *gx, int64_t rows,
                                                    int64_t C, double normaliser)
{
    const int64_t n = rows * C;
    if (n <= 0) return PD_OK;
    ce_backward_kernel<<<pdk::blocks_for(n), pdk::kThreads, 0, pdk::stream()>>>(logits, target, ignore_index, lse, gout,
                                                                               gx, n, C, (float)(1.0 / normaliser));
    return pdk::launched("cross-entropy backward");
}

extern "C" pd_status pd_cuda_kl_normal_forward(pd_cuda_arena *work, const float *mu, const float *logvar,
                                               const uint8_t *row_valid, float *out, int64_t rows, int64_t D,
                                               double normaliser)
{
    double *total = scalar_slot(work);
    if (!total) return PD_ERR_NOMEM;
    PD_TRY(pdk::deterministic_sum(work, kl_term{mu, logvar, row_valid, D}, rows * D, total));
    scalar_out_kernel<<<1, 1, 0, pdk::stream()>>>(total, normaliser, out);
    return pdk::launched("kl (result)");
}

extern "C" pd_status pd_cuda_kl_normal_backward(const float *mu, const float *logvar, const uint8_t *row_valid,
                                                const float *gout, float *gmu, float *glogvar, int64_t rows, int64_t D,
                                                double normaliser)
{
    const int64_t n = rows * D;
    if (n <= 0) return PD_OK;
    kl_backward_kernel<<<pdk::blocks_for(n), pdk::kThreads, 0, pdk::stream()>>>(mu, logvar, row_valid, gout, gmu, glogvar,
                                                                               n, D, (float)(1.0 / normaliser));
    return pdk::launched("kl backward");
}
