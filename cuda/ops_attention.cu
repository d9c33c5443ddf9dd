/* ops_attention.cu — rotary embedding (angles in double, pd_rope_theta / pd_rope_rotate as
 * the CPU) and multi-head attention: per batch entry, strided-batched GEMMs over the heads
 * (head h of q/k/v is the column block h·Dh of [L, H·Dh]), a masked row softmax that gives
 * all-padding rows zeros, and the CPU's backward (dP = dO Vᵀ, dV += Pᵀ dO, dS, dQ, dK). */
#include "operand.cuh"

namespace {

using pdk::global_index;
using pdk::global_stride;

__global__ void rope_tables_kernel(const int32_t *pos, int64_t rows, int64_t L, int half, int rope_dim, double base,
                                   float *cos_t, float *sin_t)
{
    for (int64_t t = global_index(); t < rows * half; t += global_stride()) {
        const int64_t r = t / half;
        const int j = (int)(t % half);
        const double p = pos ? (double)pos[r] : (double)(r % L);
        const double theta = pd_rope_theta(p, base, j, rope_dim);
        cos_t[t] = (float)cos(theta);
        sin_t[t] = (float)sin(theta);
    }
}

/* transpose = 0: dst = R src; 1: dst += Rᵀ src. One thread per (row, head, pair or pass-through dim). */
__global__ void rope_apply_kernel(const float *cos_t, const float *sin_t, const float *src, float *dst, int64_t rows,
                                  int n_heads, int64_t Dh, int rope_dim, int transpose)
{
    const int half = rope_dim / 2;
    const int64_t per_head = Dh - half; /* half rotated pairs + (Dh − rope_dim) pass-through dims */
    for (int64_t t = global_index(); t < rows * n_heads * per_head; t += global_stride()) {
        const int64_t r = t / (n_heads * per_head), h = (t / per_head) % n_heads, j = t % per_head;
        const int64_t base = r * n_heads * Dh + h * Dh;
        if (j < half) {
            const float c = cos_t[r * half + j], s = sin_t[r * half + j];
            float ya, yb;
            pd_rope_rotate(src[base + j], src[base + j + half], c, transpose ? -s : s, &ya, &yb);
            if (transpose) {
                dst[base + j] += ya;
                dst[base + j + half] += yb;
            } else {
                dst[base + j] = ya;
                dst[base + j + half] = yb;
            }
        } else {
            const int64_t d = rope_dim + (j - half);
            if (transpose) dst[base + d] += src[base + d];
            else dst[base + d] = src[base + d];
        }
    }
}

/* Rows of P [B, H, Lq, Lk]: softmax over the valid keys of the row's batch entry. */
__global__ void masked_softmax_kernel(float *P, const uint8_t *key_valid, int64_t rows, int64_t rows_per_batch, int64_t Lk)
{
    for (int64_t r = global_index() >> 5; r < rows; r += global_stride() >> 5) {
        const int lane = threadIdx.x & 31;
        float *row = P + r * Lk;
        const uint8_t *valid = key_valid ? key_valid + (r / rows_per_batch) * Lk : NULL;
        float mx = -INFINITY;
        for (int64_t j = lane; j < Lk; j += 32)
            if (!valid || valid[j]) mx = fmaxf(mx, row[j]);
        mx = pdk::warp_max(mx);
        if (mx == -INFINITY) { /* every key is padding: attend to nothing */
            for (int64_t j = lane; j < Lk; j += 32) row[j] = 0;
            continue;
        }
        float sum = 0;
        for (int64_t j = lane; j < Lk; j += 32) sum += (!valid || valid[j]) ? pd_exp(row[j] - mx) : 0.0f;
        sum = pdk::warp_sum(sum);
        const float inv = 1 / sum;
        for (int64_t j = lane; j < Lk; j += 32) row[j] = ((!valid || valid[j]) ? pd_exp(row[j] - mx) : 0.0f) * inv;
    }
}

/* dS = P (dP − Σ_j dP·P), in place in dP. */
__global__ void softmax_grad_rows_kernel(const float *P, float *dP, int64_t rows, int64_t Lk)
{
    for (int64_t r = global_index() >> 5; r < rows; r += global_stride() >> 5) {
        const int lane = threadIdx.x & 31;
        const float *pr = P + r * Lk;
        float *dr = dP + r * Lk;
        float dot = 0;
        for (int64_t j = lane; j < Lk; j += 32) dot += dr[j] * pr[j];
        dot = pdk::warp_sum(dot);
        for (int64_t j = lane; j < Lk; j += 32) dr[j] = pd_softmax_grad(pr[j], dr[j], dot);
    }
}

} // namespace

extern "C" pd_status pd_cuda_rope_tables_create(pd_cuda_arena *work, const int32_t *pos, int64_t B, int64_t L,
                                                int rope_dim, double base, pd_cuda_rope_tables *t)
{
    t->rows = B * L;
    t->half = rope_dim / 2;
    const size_t n = (size_t)(t->rows * t->half + 1);
    t->cos_t = static_cast<float *>(pd_cuda_arena_alloc(work, n * sizeof(float)));
    t->sin_t = static_cast<float *>(pd_cuda_arena_alloc(work, n * sizeof(float)));
    if (!t->cos_t || !t->sin_t) return PD_ERR_NOMEM;
    if (t->rows * t->half == 0) return PD_OK;
    rope_tables_kernel<<<pdk::blocks_for(t->rows * t->half), pdk::kThreads, 0, pdk::stream()>>>(
        pos, t->rows, L, t->half, rope_dim, base, t->cos_t, t->sin_t);
    return pdk::launched("rope tables");
}

extern "C" pd_status pd_cuda_rope_forward(const pd_cuda_rope_tables *t, const float *x, float *y, int64_t rows,
                                          int n_heads, int64_t head_dim, int rope_dim)
{
    const int64_t n = rows * n_heads * (head_dim - rope_dim / 2);
    if (n <= 0) return PD_OK;
    rope_apply_kernel<<<pdk::blocks_for(n), pdk::kThreads, 0, pdk::stream()>>>(t->cos_t, t->sin_t, x, y, rows, n_heads,
                                                                              head_dim, rope_dim, 0);
    return pdk::launched("rope forward");
}

extern "C" pd_status pd_cuda_rope_backward(const pd_cuda_rope_tables *t, const float *gy, float *gx, int64_t rows,
                                           int n_heads, int64_t head_dim, int rope_dim)
{
    const int64_t n = rows * n_heads * (head_dim - rope_dim / 2);
    if (n <= 0) return PD_OK;
    rope_apply_kernel<<<pdk::blocks_for(n), pdk::kThreads, 0, pdk::stream()>>>(t->cos_t, t->sin_t, gy, gx, rows, n_heads,
                                                                              head_dim, rope_dim, 1);
    return pdk::launched("rope backward");
}

extern "C" pd_status pd_cuda_attention_forward(pd_cuda_arena *work, pd_cuda_precision p, const float *q, const float *k,
                                               const float *v, const uint8_t *key_valid, float *probs, float *o,
                                               int64_t B, int64_t Lq, int64_t Lk, int n_heads, int64_t head_dim,
                                               float scale)
{
    const int64_t H = n_heads, Dh = head_dim, HD = H * Dh, PP = Lq * Lk;
    const void *qa, *ka, *va, *pa;
    PD_TRY(pdk::gemm_operand(work, p, q, B * Lq * HD, NULL, &qa));
    PD_TRY(pdk::gemm_operand(work, p, k, B * Lk * HD, NULL, &ka));
    PD_TRY(pdk::gemm_operand(work, p, v, B * Lk * HD, NULL, &va));
    for (int64_t b = 0; b < B; b++)
        PD_TRY(pd_cuda_gemm_strided_batched(p, 0, 1, Lq, Lk, Dh, scale, pdk::operand_at(p, qa, b * Lq * HD), HD, Dh,
                                            pdk::operand_at(p, ka, b * Lk * HD), HD, Dh, 0.0f, probs + b * H * PP, Lk,
                                            PP, H));
    const int64_t rows = B * H * Lq;
    if (rows > 0 && Lk > 0) {
        masked_softmax_kernel<<<pdk::blocks_for(rows * 32), pdk::kThreads, 0, pdk::stream()>>>(probs, key_valid, rows,
                                                                                              H * Lq, Lk);
        PD_TRY(pdk::launched("attention masked softmax"));
    }
    PD_TRY(pdk::gemm_operand(work, p, probs, B * H * PP, NULL, &pa));
    for (int64_t b = 0; b < B; b++)
        PD_TRY(pd_cuda_gemm_strided_batched(p, 0, 0, Lq, Dh, Lk, 1.0f, pdk::operand_at(p, pa, b * H * PP), Lk, PP,
                                            pdk::operand_at(p, va, b * Lk * HD), HD, Dh, 0.0f, o + b * Lq * HD, HD, Dh,
                                            H));
    return PD_OK;
}

extern "C" pd_status pd_cuda_attention_backward(pd_cuda_arena *work, pd_cuda_precision p, const float *q, const float *k,
                                                const float *v, const float *probs, const float *go, float *gq,
                                                float *gk, float *gv, int64_t B, int64_t Lq, int64_t Lk, int n_heads,
                                                int64_t head_dim, float scale)
{
    const int64_t H = n_heads, Dh = head_dim, HD = H * Dh, PP = Lq * Lk;
    float *dP = static_cast<float *>(pd_cuda_arena_alloc(work, (size_t)(B * H * PP + 1) * sizeof(float)));
    if (!dP) return PD_ERR_NOMEM;
    const void *qa, *ka, *va, *pa, *goa, *dsa;
    PD_TRY(pdk::gemm_operand(work, p, q, B * Lq * HD, NULL, &qa));
    PD_TRY(pdk::gemm_operand(work, p, k, B * Lk * HD, NULL, &ka));
    PD_TRY(pdk::gemm_operand(work, p, v, B * Lk * HD, NULL, &va));
    PD_TRY(pdk::gemm_operand(work, p, probs, B * H * PP, NULL, &pa));
    PD_TRY(pdk::gemm_operand(work, p, go, B * Lq * HD, NULL, &goa));
    for (int64_t b = 0; b < B; b++) {
        const void *go_b = pdk::operand_at(p, goa, b * Lq * HD), *p_b = pdk::operand_at(p, pa, b * H * PP);
        /* dP = dO Vᵀ ; dV += Pᵀ dO */
        PD_TRY(pd_cuda_gemm_strided_batched(p, 0, 1, Lq, Lk, Dh, 1.0f, go_b, HD, Dh, pdk::operand_at(p, va, b * Lk * HD),
                                            HD, Dh, 0.0f, dP + b * H * PP, Lk, PP, H));
        if (gv)
            PD_TRY(pd_cuda_gemm_strided_batched(p, 1, 0, Lk, Dh, Lq, 1.0f, p_b, Lk, PP, go_b, HD, Dh, 1.0f,
                                                gv + b * Lk * HD, HD, Dh, H));
    }
    const int64_t rows = B * H * Lq;
    if (rows > 0 && Lk > 0) {
        softmax_grad_rows_kernel<<<pdk::blocks_for(rows * 32), pdk::kThreads, 0, pdk::stream()>>>(probs, dP, rows, Lk);
        PD_TRY(pdk::launched("attention softmax backward"));
    }
    PD_TRY(pdk::gemm_operand(work, p, dP, B * H * PP, NULL, &dsa));
    for (int64_t b = 0; b < B; b++) {
        const void *ds_b = pdk::operand_at(p, dsa, b * H * PP);
        if (gq)
            PD_TRY(pd_cuda_gemm_strided_batched(p, 0, 0, Lq, Dh, Lk, scale, ds_b, Lk, PP,
                                                pdk::operand_at(p, ka, b * Lk * HD), HD, Dh, 1.0f, gq + b * Lq * HD, HD,
                                                Dh, H));
        if (gk)
            PD_TRY(pd_cuda_gemm_strided_batched(p, 1, 0, Lk, Dh, Lq, scale, ds_b, Lk, PP,
                                                pdk::operand_at(p, qa, b * Lq * HD), HD, Dh, 1.0f, gk + b * Lk * HD, HD,
                                                Dh, H));
    }
    return PD_OK;
}
