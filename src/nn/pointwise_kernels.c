/* pointwise_kernels.c — activation forward/backward loops (see pointwise_kernels.h). SiLU and
 * sigmoid get their own loops on pd_vexp so they vectorise (8 floats per AVX2 op; libm's expf
 * was 3.5 % of a side-chain VAE step on its own, the SiLU loops 16 %), exact GELU on pd_verf
 * (libm's erff was ~8 % of a backbone VAE step in these loops); the other kinds use the shared
 * formulas of pointwise_ops.h. Values agree with the libm formulas to ~2 ulp (erf: 8e-8 absolute). */
/* The build's -O2 does not vectorise a loop with a clamp that could trap (pd_vexp) and uses a
 * "very cheap" cost model; this file gets the -O3 cost model and no FP-trap assumption (values
 * are unchanged by either). Before every include, so the inline functions it calls are compiled
 * with the same options (GCC does not inline across different optimisation options). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("vect-cost-model=dynamic", "simd-cost-model=dynamic", "tree-loop-if-convert", "no-trapping-math")
#endif

#include "nn/pointwise_kernels.h"

#include "nn/ops_internal.h"
#include "nn/pointwise_simd.h"

static inline pd_real vsigmoid(pd_real x) { return 1 / (1 + pd_vexp(-x)); }

PD_CLONES void pd_act_forward(pd_act_kind kind, const pd_real *x, pd_real *y, int64_t n)
{
    if (kind == PD_ACT_SILU) {
#pragma omp parallel for simd schedule(static) if (n > PD_OMP_MIN_WORK / 4)
        for (int64_t i = 0; i < n; i++) y[i] = x[i] * vsigmoid(x[i]);
    } else if (kind == PD_ACT_SIGMOID) {
#pragma omp parallel for simd schedule(static) if (n > PD_OMP_MIN_WORK / 4)
        for (int64_t i = 0; i < n; i++) y[i] = vsigmoid(x[i]);
    } else if (kind == PD_ACT_GELU) {
#pragma omp parallel for simd schedule(static) if (n > PD_OMP_MIN_WORK / 4)
        for (int64_t i = 0; i < n; i++) y[i] = pd_vgelu(x[i]);
    } else {
#pragma omp parallel for schedule(static) if (n > PD_OMP_MIN_WORK / 4)
        for (int64_t i = 0; i < n; i++) y[i] = pd_act_value(kind, x[i]);
    }
}

PD_CLONES void pd_act_backward(pd_act_kind kind, const pd_real *x, const pd_real *y, const pd_real *gy, pd_real *gx,
                               int64_t n)
{
    if (kind == PD_ACT_SILU) {
#pragma omp parallel for simd schedule(static) if (n > PD_OMP_MIN_WORK / 4)
        for (int64_t i = 0; i < n; i++) {
            const pd_real s = vsigmoid(x[i]);
            gx[i] += gy[i] * (s * (1 + x[i] * (1 - s)));
        }
    } else if (kind == PD_ACT_GELU) {
#pragma omp parallel for simd schedule(static) if (n > PD_OMP_MIN_WORK / 4)
        for (int64_t i = 0; i < n; i++) gx[i] += gy[i] * pd_vgelu_df(x[i]);
    } else {
#pragma omp parallel for schedule(static) if (n > PD_OMP_MIN_WORK / 4)
        for (int64_t i = 0; i < n; i++) gx[i] += gy[i] * pd_act_derivative(kind, x[i], y[i]);
    }
}
