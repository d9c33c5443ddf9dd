/* symmetry.c — tied residue groups (symmetry.h): parsing --symmetry, building the
 * --homo-oligomer ties, merging overlapping groups, and averaging a sample's distribution over
 * each group. */
#include "design/symmetry.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "design/selection.h"
#include "design/target.h"

static int32_t root(int32_t *parent, int32_t i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

static void join(int32_t *parent, int32_t a, int32_t b)
{
    a = root(parent, a);
    b = root(parent, b);
    if (a < b) parent[b] = a;
    else if (b < a) parent[a] = b;
}

pd_status pd_symmetry_resolve(const pd_design_target *t, const char *spec, int homo, int32_t *tie, int64_t *n_tied)
{
    const int64_t L = t->length;
    *n_tied = 0;
    for (int64_t i = 0; i < L; i++) tie[i] = (int32_t)i;
    for (const char *p = spec; p && *p;) {
        /* one group: up to the next '|' */
        size_t glen = strcspn(p, "|");
        int64_t first = -1;
        int members = 0;
        for (size_t k = 0; k < glen;) {
            while (k < glen && (p[k] == ',' || isspace((unsigned char)p[k]))) k++;
            size_t len = 0;
            while (k + len < glen && p[k + len] != ',' && !isspace((unsigned char)p[k + len])) len++;
            if (!len) break;
            int64_t idx;
            PD_TRY(pd_select_one(t, p + k, len, "--symmetry", &idx));
            if (first < 0) first = idx;
            else join(tie, (int32_t)first, (int32_t)idx);
            members++;
            k += len;
        }
        if (members == 1)
            return pd_fail(PD_ERR_USAGE, "--symmetry: the group '%.*s' has one residue; a group ties two or more (\"A12,B12|A13,B13\")",
                           (int)glen, p);
        p += glen;
        if (*p == '|') p++;
    }
    if (homo) {
        int pairs = 0;
        int64_t *start = pd_calloc((size_t)t->n_chains + 1, sizeof *start);
        if (!start) return PD_ERR_NOMEM;
        for (int c = 1; c <= t->n_chains; c++) start[c] = start[c - 1] + t->chain_len[c - 1];
        for (int a = 0; a < t->n_chains; a++)
            for (int b = a + 1; b < t->n_chains; b++) {
                if (t->chain_len[a] != t->chain_len[b]) continue;
                for (int32_t k = 0; k < t->chain_len[a]; k++) join(tie, (int32_t)(start[a] + k), (int32_t)(start[b] + k));
                pairs++;
            }
        free(start);
        if (!pairs) {
            char lens[512] = "";
            for (int c = 0; c < t->n_chains; c++)
                snprintf(lens + strlen(lens), sizeof lens - strlen(lens), "%s%s:%d", c ? ", " : "", t->chain_ids[c], t->chain_len[c]);
            return pd_fail(PD_ERR_USAGE, "--homo-oligomer: %s has no two designed chains of equal length (residues per chain: %s)",
                           t->source, lens);
        }
    }
    for (int64_t i = 0; i < L; i++) tie[i] = root(tie, (int32_t)i);
    int32_t *size = pd_calloc((size_t)L + 1, sizeof *size);
    if (!size) return PD_ERR_NOMEM;
    for (int64_t i = 0; i < L; i++) size[tie[i]]++;
    for (int64_t i = 0; i < L; i++) *n_tied += size[tie[i]] > 1;
    free(size);
    return PD_OK;
}

pd_status pd_symmetry_tie_logp(float *logp, int64_t L, const uint8_t *valid, const int32_t *tie)
{
    int any = 0;
    for (int64_t i = 0; i < L && !any; i++) any = tie[i] != i;
    if (!any) return PD_OK;
    double *sum = pd_calloc((size_t)L * 20, sizeof *sum);
    int32_t *count = pd_calloc((size_t)L, sizeof *count);
    if (!sum || !count) {
        free(sum);
        free(count);
        return PD_ERR_NOMEM;
    }
    for (int64_t i = 0; i < L; i++) {
        if (!valid[i]) continue;
        for (int a = 0; a < 20; a++) sum[(int64_t)tie[i] * 20 + a] += logp[i * 20 + a];
        count[tie[i]]++;
    }
    for (int64_t r = 0; r < L; r++) {
        if (count[r] < 2) continue;
        double mx = -INFINITY, z = 0;
        for (int a = 0; a < 20; a++) {
            sum[r * 20 + a] /= count[r];
            mx = fmax(mx, sum[r * 20 + a]);
        }
        for (int a = 0; a < 20; a++) z += exp(sum[r * 20 + a] - mx);
        for (int a = 0; a < 20; a++) sum[r * 20 + a] -= mx + log(z);
    }
    for (int64_t i = 0; i < L; i++)
        if (valid[i] && count[tie[i]] >= 2)
            for (int a = 0; a < 20; a++) logp[i * 20 + a] = (float)sum[(int64_t)tie[i] * 20 + a];
    free(sum);
    free(count);
    return PD_OK;
}
