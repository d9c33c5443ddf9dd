/* optim.cu — AdamW on the GPU with fp32 master weights and moments: decoupled decay on the
 * decayed segments, then pd_adamw_update (src/nn/pointwise_optim.h, the CPU optimizer's exact
 * formula) per element, writing the bf16 copy the next BF16 forward reads; and the
 * deterministic Σ grad² for global-norm clipping. */
#include "reduce.cuh"

#include "core/half.h"

namespace {

using pdk::global_index;
using pdk::global_stride;

__global__ void decay_kernel(float *p, int64_t begin, int64_t end, float decay)
{
    for (int64_t i = begin + global_index(); i < end; i += global_stride()) p[i] *= decay;
}

__global__ void adamw_kernel(pd_adamw_scalars k, float *p, float *m, float *v, const float *grad, uint16_t *p_bf16,
                             int64_t n)
{
    for (int64_t i = global_index(); i < n; i += global_stride()) {
        float pi = p[i], mi = m[i], vi = v[i];
        pd_adamw_update(&k, &pi, &mi, &vi, grad[i]);
        p[i] = pi;
        m[i] = mi;
        v[i] = vi;
        if (p_bf16) p_bf16[i] = pd_f32_to_bf16(pi);
    }
}

struct square_term {
    const float *g;
    __device__ double operator()(int64_t i) const { return (double)g[i] * (double)g[i]; }
};

} // namespace

extern "C" pd_status pd_cuda_adamw_step(const pd_adamw_scalars *k, float *p, float *m, float *v, const float *grad,
                                        uint16_t *p_bf16, int64_t n, const int64_t (*decay_segments)[2], int n_segments)
{
    for (int s = 0; s < n_segments; s++) {
        const int64_t b = decay_segments[s][0], e = decay_segments[s][1];
        if (e <= b) continue;
        decay_kernel<<<pdk::blocks_for(e - b), pdk::kThreads, 0, pdk::stream()>>>(p, b, e, k->decay);
        PD_TRY(pdk::launched("AdamW weight decay"));
    }
    if (n <= 0) return PD_OK;
    adamw_kernel<<<pdk::blocks_for(n), pdk::kThreads, 0, pdk::stream()>>>(*k, p, m, v, grad, p_bf16, n);
    return pdk::launched("AdamW update");
}

extern "C" pd_status pd_cuda_grad_sumsq(pd_cuda_arena *work, const float *grad, int64_t n, double *host_sumsq)
{
    double *total = static_cast<double *>(pd_cuda_arena_alloc(work, sizeof(double)));
    if (!total) return PD_ERR_NOMEM;
    PD_TRY(pdk::deterministic_sum(work, square_term{grad}, n, total));
    return pd_cuda_download(host_sumsq, total, sizeof(double));
}
