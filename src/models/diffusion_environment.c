/* diffusion_environment.c — the k-nearest local environment of diffusion_environment.h, computed
 * on the fly from N, CA, C, O (virtual Cβ and frames as SPEC §2, features/geometry.h): O(L²) per
 * entry for the distances, O(L·k) to keep the k nearest in order. */
#include "models/diffusion_environment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "features/geometry.h"
#include "models/diffusion_backbone.h"

typedef pd_backbone_residue env_residue;

/* (p - CA_i) in i's frame, / 10 Å */
static void local3(const env_residue *i, const float p[3], float out[3])
{
    float d[3];
    pd_sub3(p, i->atom[PD_BB_ATOM_CA], d);
    for (int t = 0; t < 3; t++) out[t] = pd_dot3(i->frame + 3 * t, d) / 10.0f;
}

static void edge_features(const env_residue *ri, const env_residue *rj, int64_t sep, int same_chain, float dist,
                          float *f)
{
    for (int a = 0; a < PD_BB_ATOMS; a++) local3(ri, rj->atom[a], f + 3 * a);
    for (int t = 0; t < 3; t++)
        for (int u = 0; u < 3; u++) f[15 + 3 * t + u] = pd_dot3(ri->frame + 3 * t, rj->frame + 3 * u);
    if (same_chain) {
        const int64_t c = sep < -32 ? -32 : sep > 32 ? 32 : sep, a = sep < 0 ? -sep : sep;
        f[24] = (float)c / 32.0f;
        f[25] = a == 1 ? 1.0f : 0.0f;
        f[26] = log1pf((float)a) / 6.0f;
    } else {
        f[24] = 0.0f;
        f[25] = 0.0f;
        f[26] = 1.0f;
    }
    f[27] = dist / 10.0f;
}

int pd_diffusion_environment(const pd_diffusion_geo_input *in, int k, float *edge, float *node, float *score_mask,
                             float *mean_weight, int32_t *neighbour)
{
    const int64_t base = in->offset[0], B = in->n_entries, N = in->offset[B] - base;
    memset(edge, 0, (size_t)(N * k) * PD_DIFFUSION_ENV_EDGE * sizeof *edge);
    memset(node, 0, (size_t)N * PD_DIFFUSION_ENV_NODE * sizeof *node);
    memset(mean_weight, 0, (size_t)(N * k) * sizeof *mean_weight);
    for (int64_t s = 0; s < N * k; s++) {
        score_mask[s] = -1e9f;
        if (neighbour) neighbour[s] = (int32_t)(s / k);
    }
    int failed = 0;
    for (int64_t b = 0; b < B; b++) {
        const int64_t r0 = in->offset[b] - base, len = in->offset[b + 1] - in->offset[b];
        env_residue *res = malloc((size_t)(len > 0 ? len : 1) * sizeof *res);
        if (!res) {
            failed = 1;
            continue;
        }
        for (int64_t i = 0; i < len; i++)
            pd_backbone_residue_from(in->atom14 + (r0 + i) * 14 * 3, !in->valid || in->valid[r0 + i], &res[i]);
        const uint8_t *chain = in->chain ? in->chain + r0 : NULL;
#pragma omp parallel for schedule(static) if (len > 128)
        for (int64_t i = 0; i < len; i++) {
            const int64_t row = r0 + i;
            if (!res[i].ok) continue;
            float *own = node + row * PD_DIFFUSION_ENV_NODE;
            for (int a = 0; a < PD_BB_ATOMS; a++) local3(&res[i], res[i].atom[a], own + 3 * a);
            /* the k nearest by Cβ distance, ties to the lower index: insertion into a sorted list */
            int64_t nb[PD_DIFFUSION_ENV_MAX_K];
            float nd[PD_DIFFUSION_ENV_MAX_K];
            int n = 0;
            for (int64_t j = 0; j < len; j++) {
                if (j == i || !res[j].ok) continue;
                float d3[3];
                pd_sub3(res[j].atom[PD_BB_ATOM_CB], res[i].atom[PD_BB_ATOM_CB], d3);
                const float d = pd_norm3(d3);
                if (n == k && d >= nd[n - 1]) continue;
                int p = n < k ? n++ : k - 1;
                while (p > 0 && nd[p - 1] > d) {
                    nd[p] = nd[p - 1];
                    nb[p] = nb[p - 1];
                    p--;
                }
                nd[p] = d;
                nb[p] = j;
            }
            for (int s = 0; s < n; s++) {
                const int64_t j = nb[s];
                const int same = !chain || chain[i] == chain[j];
                edge_features(&res[i], &res[j], j - i, same, nd[s], edge + (row * k + s) * PD_DIFFUSION_ENV_EDGE);
                score_mask[row * k + s] = 0.0f;
                mean_weight[row * k + s] = 1.0f / (float)n;
                if (neighbour) neighbour[row * k + s] = (int32_t)(r0 + j);
            }
        }
        free(res);
    }
    return !failed;
}
