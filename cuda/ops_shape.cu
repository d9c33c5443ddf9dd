/* ops_shape.cu — CUDA kernels of permute, of the strided row copies behind concat and slice,
 * and of the index ops: gather rows / embedding and scatter-add rows. Scatter-adds read a CSR
 * of the indices (pd_csr_build, sources of each destination in index order) and sum with
 * pd_csr_segment_sum: one thread per destination element, no atomics, the CPU's order. */
#include <stdlib.h>

#include "kernel_common.cuh"

namespace {

using pdk::global_index;
using pdk::global_stride;

struct permute_map {
    int ndim;
    int64_t y_shape[PD_BROADCAST_MAX_DIMS];
    int64_t x_stride[PD_BROADCAST_MAX_DIMS]; /* stride in x of each output dim */
    int64_t numel;
};

pd_status make_permute_map(int ndim, const int64_t *x_shape, const int *perm, permute_map *m)
{
    if (ndim < 1 || ndim > PD_BROADCAST_MAX_DIMS)
        return pd_fail(PD_ERR_USAGE, "permute on the GPU: %d dims (1..%d supported)", ndim, PD_BROADCAST_MAX_DIMS);
    int64_t in_stride[PD_BROADCAST_MAX_DIMS], s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        in_stride[i] = s;
        s *= x_shape[i];
    }
    m->ndim = ndim;
    m->numel = s;
    for (int i = 0; i < ndim; i++) {
        m->y_shape[i] = x_shape[perm[i]];
        m->x_stride[i] = in_stride[perm[i]];
    }
    return PD_OK;
}

__device__ int64_t permute_source(const permute_map &m, int64_t out)
{
    int64_t off = 0;
    for (int i = m.ndim - 1; i >= 0; i--) {
        off += (out % m.y_shape[i]) * m.x_stride[i];
        out /= m.y_shape[i];
    }
    return off;
}

__global__ void permute_forward_kernel(permute_map m, const float *x, float *y)
{
    for (int64_t i = global_index(); i < m.numel; i += global_stride()) y[i] = x[permute_source(m, i)];
}

/* Every x element is the source of exactly one output: no two threads write the same gx. */
__global__ void permute_backward_kernel(permute_map m, const float *gy, float *gx)
{
    for (int64_t i = global_index(); i < m.numel; i += global_stride()) gx[permute_source(m, i)] += gy[i];
}

__global__ void copy_rows_kernel(const float *src, int64_t src_stride, float *dst, int64_t dst_stride, int64_t outer,
                                 int64_t width, int accumulate)
{
    for (int64_t t = global_index(); t < outer * width; t += global_stride()) {
        const int64_t o = t / width, i = t % width;
        if (accumulate) dst[o * dst_stride + i] += src[o * src_stride + i];
        else dst[o * dst_stride + i] = src[o * src_stride + i];
    }
}

__global__ void gather_kernel(const int32_t *idx, int64_t n_idx, const float *x, float *out, int64_t D)
{
    for (int64_t t = global_index(); t < n_idx * D; t += global_stride()) {
        const int64_t i = t / D, c = t % D;
        out[t] = idx[i] < 0 ? 0.0f : x[(int64_t)idx[i] * D + c];
    }
}

/* Adds (gather backward) or assigns (scatter-add forward, dst zeroed) the CSR segment sums. */
__global__ void segment_sum_kernel(const int64_t *row_ptr, const int32_t *order, int64_t n_dst, const float *src,
                                   float *dst, int64_t D, int accumulate)
{
    for (int64_t t = global_index(); t < n_dst * D; t += global_stride()) {
        const int64_t row = t / D, c = t % D;
        dst[t] = pd_csr_segment_sum(accumulate ? dst[t] : 0.0f, src, D, c, order, row_ptr[row], row_ptr[row + 1]);
    }
}

__global__ void scatter_backward_kernel(const int32_t *idx, int64_t n_idx, int64_t n_dst, const float *gout, float *gx,
                                        int64_t D)
{
    for (int64_t t = global_index(); t < n_idx * D; t += global_stride()) {
        const int64_t i = t / D, c = t % D;
        if (idx[i] >= 0 && idx[i] < n_dst) gx[t] += gout[(int64_t)idx[i] * D + c];
    }
}

} // namespace

extern "C" pd_status pd_cuda_permute_forward(const float *x, float *y, int ndim, const int64_t *x_shape, const int *perm)
{
    permute_map m;
    PD_TRY(make_permute_map(ndim, x_shape, perm, &m));
    if (m.numel == 0) return PD_OK;
    permute_forward_kernel<<<pdk::blocks_for(m.numel), pdk::kThreads, 0, pdk::stream()>>>(m, x, y);
    return pdk::launched("permute forward");
}

extern "C" pd_status pd_cuda_permute_backward(const float *gy, float *gx, int ndim, const int64_t *x_shape,
                                              const int *perm)
{
    permute_map m;
    PD_TRY(make_permute_map(ndim, x_shape, perm, &m));
    if (m.numel == 0) return PD_OK;
    permute_backward_kernel<<<pdk::blocks_for(m.numel), pdk::kThreads, 0, pdk::stream()>>>(m, gy, gx);
    return pdk::launched("permute backward");
}

extern "C" pd_status pd_cuda_copy_rows(const float *src, int64_t src_stride, float *dst, int64_t dst_stride,
                                       int64_t outer, int64_t width, int accumulate)
{
    if (outer * width <= 0) return PD_OK;
    copy_rows_kernel<<<pdk::blocks_for(outer * width), pdk::kThreads, 0, pdk::stream()>>>(src, src_stride, dst,
                                                                                         dst_stride, outer, width,
                                                                                         accumulate);
    return pdk::launched("row copy (concat/slice)");
}

extern "C" pd_status pd_cuda_index_plan_create(pd_cuda_arena *a, const int32_t *host_idx, int64_t n_idx, int64_t n_dst,
                                               pd_cuda_index_plan *plan)
{
    plan->n_idx = n_idx;
    plan->n_dst = n_dst;
    plan->idx = static_cast<int32_t *>(pd_cuda_arena_alloc(a, (size_t)(n_idx ? n_idx : 1) * sizeof(int32_t)));
    plan->order = static_cast<int32_t *>(pd_cuda_arena_alloc(a, (size_t)(n_idx ? n_idx : 1) * sizeof(int32_t)));
    plan->row_ptr = static_cast<int64_t *>(pd_cuda_arena_alloc(a, (size_t)(n_dst + 1) * sizeof(int64_t)));
    if (!plan->idx || !plan->order || !plan->row_ptr) return PD_ERR_NOMEM;
    int64_t *row_ptr = static_cast<int64_t *>(malloc((size_t)(n_dst + 1) * sizeof(int64_t)));
    int32_t *order = static_cast<int32_t *>(malloc((size_t)(n_idx ? n_idx : 1) * sizeof(int32_t)));
    pd_status st = PD_OK;
    if (!row_ptr || !order) st = pd_fail(PD_ERR_NOMEM, "host CSR of %lld indices", (long long)n_idx);
    if (st == PD_OK) {
        pd_csr_build(host_idx, n_idx, n_dst, row_ptr, order);
        st = pd_cuda_upload(plan->idx, host_idx, (size_t)n_idx * sizeof(int32_t));
    }
    if (st == PD_OK) st = pd_cuda_upload(plan->order, order, (size_t)row_ptr[n_dst] * sizeof(int32_t));
    if (st == PD_OK) st = pd_cuda_upload(plan->row_ptr, row_ptr, (size_t)(n_dst + 1) * sizeof(int64_t));
    free(row_ptr);
    free(order);
    return st;
}

extern "C" pd_status pd_cuda_gather_rows_forward(const pd_cuda_index_plan *plan, const float *x, float *out, int64_t D)
{
    if (plan->n_idx * D <= 0) return PD_OK;
    gather_kernel<<<pdk::blocks_for(plan->n_idx * D), pdk::kThreads, 0, pdk::stream()>>>(plan->idx, plan->n_idx, x, out, D);
    return pdk::launched("gather rows");
}

extern "C" pd_status pd_cuda_gather_rows_backward(const pd_cuda_index_plan *plan, const float *gout, float *gx, int64_t D)
{
    if (plan->n_dst * D <= 0) return PD_OK;
    segment_sum_kernel<<<pdk::blocks_for(plan->n_dst * D), pdk::kThreads, 0, pdk::stream()>>>(
        plan->row_ptr, plan->order, plan->n_dst, gout, gx, D, 1);
    return pdk::launched("gather rows backward (segment sums)");
}

extern "C" pd_status pd_cuda_scatter_add_rows_forward(const pd_cuda_index_plan *plan, const float *x, float *out,
                                                      int64_t D)
{
    if (plan->n_dst * D <= 0) return PD_OK;
    segment_sum_kernel<<<pdk::blocks_for(plan->n_dst * D), pdk::kThreads, 0, pdk::stream()>>>(
        plan->row_ptr, plan->order, plan->n_dst, x, out, D, 0);
    return pdk::launched("scatter-add rows (segment sums)");
}

extern "C" pd_status pd_cuda_scatter_add_rows_backward(const pd_cuda_index_plan *plan, const float *gout, float *gx,
                                                       int64_t D)
{
    if (plan->n_idx * D <= 0) return PD_OK;
    scatter_backward_kernel<<<pdk::blocks_for(plan->n_idx * D), pdk::kThreads, 0, pdk::stream()>>>(
        plan->idx, plan->n_idx, plan->n_dst, gout, gx, D);
    return pdk::launched("scatter-add rows backward");
}
