/* diffusion_geometry.c — the backbone features of diffusion_geometry.h, computed on the fly from
 * N, CA, C (virtual Cβ and frames as SPEC §2, features/geometry.h), in O(L²) per entry. */
#include "models/diffusion_geometry.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "features/geometry.h"
#include "features/graph.h"
#include "models/diffusion_backbone.h"

typedef pd_backbone_residue residue_geo;

static residue_geo *entry_residues(const pd_diffusion_geo_input *in, int b)
{
    const int64_t base = in->offset[0], r0 = in->offset[b] - base, len = in->offset[b + 1] - in->offset[b];
    residue_geo *res = malloc((size_t)(len > 0 ? len : 1) * sizeof *res);
    if (!res) return NULL;
    for (int64_t i = 0; i < len; i++)
        pd_backbone_residue_from(in->atom14 + (r0 + i) * 14 * 3, !in->valid || in->valid[r0 + i], &res[i]);
    return res;
}

static float dist3(const float a[3], const float b[3])
{
    float d[3];
    pd_sub3(a, b, d);
    return pd_norm3(d);
}

void pd_diffusion_geo_nodes(const pd_diffusion_geo_input *in, float *node)
{
    const int64_t base = in->offset[0];
    memset(node, 0, (size_t)(in->offset[in->n_entries] - base) * PD_DIFFUSION_GEO_NODE * sizeof *node);
    for (int b = 0; b < in->n_entries; b++) {
        const int64_t r0 = in->offset[b] - base, len = in->offset[b + 1] - in->offset[b];
        residue_geo *res = entry_residues(in, b);
        if (!res) continue;   /* out of memory: features stay zero (the model still runs) */
        const uint8_t *chain = in->chain ? in->chain + r0 : NULL;
#pragma omp parallel for schedule(static) if (len > 256)
        for (int64_t i = 0; i < len; i++) {
            float *f = node + (r0 + i) * PD_DIFFUSION_GEO_NODE;
            if (!res[i].ok) continue;
            const int prev = i > 0 && res[i - 1].ok && (!chain || chain[i - 1] == chain[i]);
            const int next = i + 1 < len && res[i + 1].ok && (!chain || chain[i + 1] == chain[i]);
            const float *n = res[i].atom[PD_BB_ATOM_N], *ca = res[i].atom[PD_BB_ATOM_CA], *c = res[i].atom[PD_BB_ATOM_C];
            if (prev) {   /* φ = C(i-1), N, CA, C */
                float phi = pd_dihedral(res[i - 1].atom[PD_BB_ATOM_C], n, ca, c);
                f[0] = sinf(phi);
                f[1] = cosf(phi);
            }
            if (next) {   /* ψ = N, CA, C, N(i+1); ω = CA, C, N(i+1), CA(i+1) */
                const float *n1 = res[i + 1].atom[PD_BB_ATOM_N];
                float psi = pd_dihedral(n, ca, c, n1);
                float omega = pd_dihedral(ca, c, n1, res[i + 1].atom[PD_BB_ATOM_CA]);
                f[2] = sinf(psi);
                f[3] = cosf(psi);
                f[4] = sinf(omega);
                f[5] = cosf(omega);
            }
            int n8 = 0, n10 = 0, n12 = 0;
            for (int64_t j = 0; j < len; j++) {
                if (j == i || !res[j].ok) continue;
                float d = dist3(res[i].atom[PD_BB_ATOM_CB], res[j].atom[PD_BB_ATOM_CB]);
                n8 += d < 8.0f;
                n10 += d < 10.0f;
                n12 += d < 12.0f;
            }
            f[6] = (float)n8 / 10.0f;
            f[7] = (float)n10 / 10.0f;
            f[8] = (float)n12 / 10.0f;
        }
        free(res);
    }
}

void pd_diffusion_geo_pairs(const pd_diffusion_geo_input *in, int64_t L, float *pair, int32_t *relpos)
{
    const int64_t base = in->offset[0];
    memset(pair, 0, (size_t)(in->n_entries * L * L) * PD_DIFFUSION_GEO_PAIR * sizeof *pair);
    memset(relpos, 0, (size_t)(in->n_entries * L * L) * sizeof *relpos);
    for (int b = 0; b < in->n_entries; b++) {
        const int64_t r0 = in->offset[b] - base, len = in->offset[b + 1] - in->offset[b];
        residue_geo *res = entry_residues(in, b);
        if (!res) continue;
        const uint8_t *chain = in->chain ? in->chain + r0 : NULL;
#pragma omp parallel for schedule(static) if (len > 128)
        for (int64_t i = 0; i < len; i++) {
            for (int64_t j = 0; j < len; j++) {
                const int64_t p = (b * L + i) * L + j;
                relpos[p] = pd_bb_relpos_class(i, j, chain ? chain[i] : 0, chain ? chain[j] : 0);
                if (!res[i].ok || !res[j].ok) continue;
                float *f = pair + p * PD_DIFFUSION_GEO_PAIR;
                float d = dist3(res[i].atom[PD_BB_ATOM_CB], res[j].atom[PD_BB_ATOM_CB]);
                for (int k = 0; k < PD_DIFFUSION_GEO_RBF; k++) {
                    float mu = 2.0f + 20.0f * (float)k / (PD_DIFFUSION_GEO_RBF - 1), z = (d - mu) / 1.25f;
                    f[k] = expf(-z * z);
                }
                if (i == j) continue;
                float v[3], u[3];
                pd_sub3(res[j].atom[PD_BB_ATOM_CB], res[i].atom[PD_BB_ATOM_CB], v);
                pd_unit3(v, u);
                for (int k = 0; k < 3; k++) f[PD_DIFFUSION_GEO_RBF + k] = pd_dot3(res[i].frame + 3 * k, u);
                f[PD_DIFFUSION_GEO_RBF + 3] = pd_dot3(res[i].u, res[j].u);
            }
        }
        free(res);
    }
}
