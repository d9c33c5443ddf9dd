/* operand.cuh — GEMM operands in the run's precision: the fp32 tensor itself in FP32 mode, a
 * bf16 copy (pd_f32_to_bf16, round to nearest even) in the step's arena in BF16 mode. The
 * bf16 emulation test (tests/gpu/test_bf16_emulation.c) rounds at exactly these points. */
#ifndef PD_CUDA_OPERAND_CUH
#define PD_CUDA_OPERAND_CUH

#include "kernel_common.cuh"

namespace pdk {

/* *out = src (FP32) or a bf16 copy of its n values (BF16); `given` (may be NULL) is a bf16
 * copy the caller already has (the optimizer's weights). */
inline pd_status gemm_operand(pd_cuda_arena *work, pd_cuda_precision p, const float *src, int64_t n,
                              const uint16_t *given, const void **out)
{
    if (p == PD_CUDA_FP32) {
        *out = src;
        return PD_OK;
    }
    if (given) {
        *out = given;
        return PD_OK;
    }
    uint16_t *copy = static_cast<uint16_t *>(pd_cuda_arena_alloc(work, (size_t)(n ? n : 1) * sizeof(uint16_t)));
    if (!copy) return PD_ERR_NOMEM;
    PD_TRY(pd_cuda_f32_to_bf16(src, copy, n));
    *out = copy;
    return PD_OK;
}

/* Element offset into an operand of either precision. */
inline const void *operand_at(pd_cuda_precision p, const void *base, int64_t offset)
{
    return p == PD_CUDA_BF16 ? static_cast<const void *>(static_cast<const uint16_t *>(base) + offset)
                             : static_cast<const void *>(static_cast<const float *>(base) + offset);
}

} // namespace pdk

#endif
