/* test_bb_vae_data.c — loads real backbones for the bb_vae tests through the structure reader. */
#include "test_bb_vae_data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "structure/structure.h"

const char *test_shared_path(const char *file)
{
    static char path[4096];
    const char *shared = getenv("PD_SHARED");
    snprintf(path, sizeof path, "%s/data/pdb/%s", shared && *shared ? shared : "/work/shared", file);
    return path;
}

void test_backbone_free(test_backbone *t)
{
    free(t->atom14);
    free(t->mask);
    free(t->chain);
    free(t->aa);
    memset(t, 0, sizeof *t);
}

pd_bb_backbone test_backbone_view(const test_backbone *t)
{
    pd_bb_backbone b = {t->length, t->atom14, t->mask, t->chain};
    return b;
}

int test_backbone_load(test_backbone *t, const char *file, int first_chain, int n_chains, int first, int max_len)
{
    memset(t, 0, sizeof *t);
    const char *path = test_shared_path(file);
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "SKIP: %s not readable\n", path);
        return 77;
    }
    pd_structure s;
    if (pd_structure_read(path, &s) != PD_OK) {
        fprintf(stderr, "cannot read %s: %s\n", path, pd_last_error());
        return 1;
    }
    int last = n_chains > 0 ? first_chain + n_chains : s.n_chains;
    if (last > s.n_chains || first_chain >= last) {
        fprintf(stderr, "%s has %d chains, asked for %d..%d\n", path, s.n_chains, first_chain, last - 1);
        pd_structure_free(&s);
        return 1;
    }
    int total = 0;
    for (int c = first_chain; c < last; c++) total += s.chains[c].n;
    int L = total - first;
    if (max_len > 0 && L > max_len) L = max_len;
    if (L <= 0) {
        pd_structure_free(&s);
        return 1;
    }
    t->length = L;
    t->atom14 = malloc((size_t)L * 14 * 3 * sizeof(float));
    t->mask = calloc((size_t)L, 1);
    t->chain = calloc((size_t)L, 1);
    t->aa = calloc((size_t)L, 1);
    if (!t->atom14 || !t->mask || !t->chain || !t->aa) {
        pd_structure_free(&s);
        test_backbone_free(t);
        return 1;
    }
    int row = 0, out = 0;
    for (int c = first_chain; c < last; c++)
        for (int r = 0; r < s.chains[c].n; r++, row++) {
            if (row < first || out >= L) continue;
            const float *x = s.chains[c].atom14 + (size_t)r * 14 * 3;
            memcpy(t->atom14 + (size_t)out * 14 * 3, x, 14 * 3 * sizeof(float));
            int ok = 1;
            for (int k = 0; k < 9; k++) ok &= isfinite(x[k]) != 0;
            t->mask[out] = ok ? PD_MASK_BACKBONE : 0;
            t->chain[out] = (uint8_t)(c - first_chain);
            t->aa[out] = s.chains[c].aa[r];
            out++;
        }
    pd_structure_free(&s);
    return 0;
}
