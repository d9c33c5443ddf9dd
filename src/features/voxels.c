/* voxels.c — SPEC.md section 4. The field is computed directly in the residue frame (atoms
 * are moved into it once, in double precision), which is the same quantity as projecting the
 * global field onto the frame, needs no per-cell rotation and is rotation invariant by
 * construction. The inner loop runs over a grid row (k) for one atom so it vectorises. */
#include "features/voxels.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "features/half.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

long pd_voxels_workspace_floats(int V)
{
    long cells = (long)V * V * V;
    return 4 * cells + V;
}

/* The per-pair arithmetic, written once for the scalar path; the AVX path below performs the
 * same IEEE operations in the same order (no FMA), so both give identical bits. */
static void field_row_scalar(int V, float cell, const float *lz, float lx, float ly, int n_atoms,
                             const float *ax, const float *ay, const float *az, const float *q,
                             float *row_x, float *row_y, float *row_z)
{
    for (int k = 0; k < V; k++)
        row_x[k] = row_y[k] = row_z[k] = 0.0f;
    for (int a = 0; a < n_atoms; a++) {
        float dx = lx - ax[a], dy = ly - ay[a], qa = q[a];
        float dxy2 = dx * dx + dy * dy;
        for (int k = 0; k < V; k++) {
            float dz = lz[k] - az[a];
            float r2 = dxy2 + dz * dz;
            float r = sqrtf(r2);
            float m = r > cell ? r : cell;
            float den = r * m * m;
            /* r = 0 only for an atom exactly at p; its displacement is zero, so a finite
             * weight makes the contribution vanish as the spec says. */
            float w = qa / (den > FLT_MIN ? den : FLT_MIN);
            row_x[k] += w * dx;
            row_y[k] += w * dy;
            row_z[k] += w * dz;
        }
    }
}

#if defined(__x86_64__) || defined(__i386__)
#define PD_HAVE_AVX_PATH 1
/* Eight cells of a row per vector; only "avx" (no FMA) so results match the scalar path. */
__attribute__((target("avx"))) static void field_row_avx(int V, float cell, const float *lz, float lx, float ly,
                                                         int n_atoms, const float *ax, const float *ay,
                                                         const float *az, const float *q, float *row_x,
                                                         float *row_y, float *row_z)
{
    const __m256 cell_v = _mm256_set1_ps(cell), tiny = _mm256_set1_ps(FLT_MIN);
    for (int k0 = 0; k0 < V; k0 += 8) {
        const __m256 z = _mm256_loadu_ps(lz + k0);
        __m256 sx = _mm256_setzero_ps(), sy = _mm256_setzero_ps(), sz = _mm256_setzero_ps();
        for (int a = 0; a < n_atoms; a++) {
            float dx_s = lx - ax[a], dy_s = ly - ay[a];
            float dxy2_s = dx_s * dx_s + dy_s * dy_s;
            __m256 dx = _mm256_set1_ps(dx_s), dy = _mm256_set1_ps(dy_s);
            __m256 dz = _mm256_sub_ps(z, _mm256_set1_ps(az[a]));
            __m256 r2 = _mm256_add_ps(_mm256_set1_ps(dxy2_s), _mm256_mul_ps(dz, dz));
            __m256 r = _mm256_sqrt_ps(r2);
            __m256 m = _mm256_max_ps(r, cell_v);
            __m256 den = _mm256_mul_ps(_mm256_mul_ps(r, m), m);
            __m256 w = _mm256_div_ps(_mm256_set1_ps(q[a]), _mm256_max_ps(den, tiny));
            sx = _mm256_add_ps(sx, _mm256_mul_ps(w, dx));
            sy = _mm256_add_ps(sy, _mm256_mul_ps(w, dy));
            sz = _mm256_add_ps(sz, _mm256_mul_ps(w, dz));
        }
        _mm256_storeu_ps(row_x + k0, sx);
        _mm256_storeu_ps(row_y + k0, sy);
        _mm256_storeu_ps(row_z + k0, sz);
    }
}
#endif

static int simd_allowed = 1;

void pd_voxel_field_allow_simd(int allowed)
{
    simd_allowed = allowed;
}

int pd_voxel_field_simd(int V)
{
#ifdef PD_HAVE_AVX_PATH
    static int avx = -1;
    if (avx < 0)
        avx = __builtin_cpu_supports("avx") ? 1 : 0;
    return simd_allowed && avx && V % 8 == 0;
#else
    (void)V;
    return 0;
#endif
}

void pd_voxel_field(int V, float cell, int n_atoms, const float *ax, const float *ay, const float *az,
                    const float *q, float *ex, float *ey, float *ez)
{
    float lz[64];
    for (int k = 0; k < V; k++)
        lz[k] = cell * (float)(k - V / 2);
    int simd = pd_voxel_field_simd(V);
    for (int i = 0; i < V; i++) {
        float lx = cell * (float)(i - V / 2);
        for (int j = 0; j < V; j++) {
            float ly = cell * (float)(j - V / 4);
            size_t row = ((size_t)i * V + j) * V;
#ifdef PD_HAVE_AVX_PATH
            if (simd) {
                field_row_avx(V, cell, lz, lx, ly, n_atoms, ax, ay, az, q, ex + row, ey + row, ez + row);
                continue;
            }
#endif
            field_row_scalar(V, cell, lz, lx, ly, n_atoms, ax, ay, az, q, ex + row, ey + row, ez + row);
        }
    }
}

/* u = E / |E| per cell, zero where |E| < 1e-12. */
static void normalise_scalar(long cells, float *ex, float *ey, float *ez)
{
    for (long c = 0; c < cells; c++) {
        float n = sqrtf(ex[c] * ex[c] + ey[c] * ey[c] + ez[c] * ez[c]);
        if (n < 1e-12f) {
            ex[c] = ey[c] = ez[c] = 0.0f;
        } else {
            ex[c] /= n;
            ey[c] /= n;
            ez[c] /= n;
        }
    }
}

#ifdef PD_HAVE_AVX_PATH
/* Same operations as normalise_scalar, eight cells at a time (cells % 8 == 0). */
__attribute__((target("avx"))) static void normalise_avx(long cells, float *ex, float *ey, float *ez)
{
    const __m256 eps = _mm256_set1_ps(1e-12f), one = _mm256_set1_ps(1.0f);
    for (long c = 0; c < cells; c += 8) {
        __m256 x = _mm256_loadu_ps(ex + c), y = _mm256_loadu_ps(ey + c), z = _mm256_loadu_ps(ez + c);
        __m256 n = _mm256_sqrt_ps(_mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(x, x), _mm256_mul_ps(y, y)),
                                                _mm256_mul_ps(z, z)));
        __m256 keep = _mm256_cmp_ps(n, eps, _CMP_GE_OQ);
        __m256 safe = _mm256_blendv_ps(one, n, keep);
        _mm256_storeu_ps(ex + c, _mm256_and_ps(_mm256_div_ps(x, safe), keep));
        _mm256_storeu_ps(ey + c, _mm256_and_ps(_mm256_div_ps(y, safe), keep));
        _mm256_storeu_ps(ez + c, _mm256_and_ps(_mm256_div_ps(z, safe), keep));
    }
}
#endif

/* out[0..n) (+)= (hi - lo) / spacing: one finite difference over a run of cells. */
static void add_difference(int n, const float *hi, const float *lo, float spacing, float *out, int first)
{
    if (first)
        for (int k = 0; k < n; k++)
            out[k] = (hi[k] - lo[k]) / spacing;
    else
        for (int k = 0; k < n; k++)
            out[k] += (hi[k] - lo[k]) / spacing;
}

void pd_voxel_divergence(int V, float cell, float *ex, float *ey, float *ez, float *div)
{
    long cells = (long)V * V * V, plane = (long)V * V;
#ifdef PD_HAVE_AVX_PATH
    if (pd_voxel_field_simd(V))
        normalise_avx(cells, ex, ey, ez);
    else
#endif
        normalise_scalar(cells, ex, ey, ez);
    float two_cell = 2.0f * cell;
    /* d u_x / d i: whole planes at once. */
    for (int i = 0; i < V; i++) {
        int hi = i == V - 1 ? i : i + 1, lo = i == 0 ? 0 : i - 1;
        add_difference((int)plane, ex + hi * plane, ex + lo * plane, (hi - lo == 2) ? two_cell : cell, div + i * plane, 1);
    }
    /* d u_y / d j: whole rows at once. */
    for (int i = 0; i < V; i++)
        for (int j = 0; j < V; j++) {
            int hi = j == V - 1 ? j : j + 1, lo = j == 0 ? 0 : j - 1;
            const float *base = ey + i * plane;
            add_difference(V, base + hi * V, base + lo * V, (hi - lo == 2) ? two_cell : cell, div + i * plane + j * V, 0);
        }
    /* d u_z / d k: along each row, faces one-sided. */
    for (long row = 0; row < plane; row++) {
        const float *f = ez + row * V;
        float *d = div + row * V;
        d[0] += (f[1] - f[0]) / cell;
        add_difference(V - 2, f + 2, f, two_cell, d + 1, 0);
        d[V - 1] += (f[V - 1] - f[V - 2]) / cell;
    }
}

void pd_voxels_residue(int V, float cell, const float *atom14, int aa, const float cb[3], const float frame[9],
                       const pd_charge_table *charges, float *work, uint16_t *out)
{
    long cells = (long)V * V * V;
    float *ex = work, *ey = work + cells, *ez = work + 2 * cells, *div = work + 3 * cells;
    float ax[PD_SLOTS], ay[PD_SLOTS], az[PD_SLOTS], q[PD_SLOTS];
    int n = 0;
    if (aa >= 0 && aa < PD_AA_STANDARD) {
        for (int s = 0; s < pd_atom14_count(aa); s++) {
            const float *r = atom14 + s * 3;
            float charge = charges->q[aa][s];
            if (isnan(r[0]) || charge == 0.0f)
                continue;
            double d[3] = {(double)r[0] - cb[0], (double)r[1] - cb[1], (double)r[2] - cb[2]};
            ax[n] = (float)(frame[0] * d[0] + frame[1] * d[1] + frame[2] * d[2]);
            ay[n] = (float)(frame[3] * d[0] + frame[4] * d[1] + frame[5] * d[2]);
            az[n] = (float)(frame[6] * d[0] + frame[7] * d[1] + frame[8] * d[2]);
            q[n] = charge;
            n++;
        }
    }
    pd_voxel_field(V, cell, n, ax, ay, az, q, ex, ey, ez);
    pd_voxel_divergence(V, cell, ex, ey, ez, div);
    pd_float_to_half_array(cells, div, out);
}
