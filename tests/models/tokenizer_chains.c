/* tokenizer_chains.c — test helper: reads one real chain (src/structure), computes its virtual Cβ
 * (src/features/geometry.h) and its distogram image (src/features/distogram.h). */
#include "tokenizer_chains.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "features/distogram.h"
#include "features/geometry.h"
#include "structure/structure.h"

static const char *pdb_dir(char *buf, size_t len)
{
    const char *shared = getenv("PD_SHARED");
    snprintf(buf, len, "%s/data/pdb", shared && *shared ? shared : "/work/shared");
    return buf;
}

int tok_have_pdb(void)
{
    char dir[1024];
    struct stat st;
    return stat(pdb_dir(dir, sizeof dir), &st) == 0 && S_ISDIR(st.st_mode);
}

int tok_chain_load(const char *file, int chain_index, int max_len, tok_chain *out)
{
    memset(out, 0, sizeof *out);
    char dir[1024], path[1400];
    snprintf(path, sizeof path, "%s/%s", pdb_dir(dir, sizeof dir), file);
    pd_structure s;
    if (pd_structure_read(path, &s) != PD_OK) {
        fprintf(stderr, "%s: %s\n", path, pd_last_error());
        return 0;
    }
    if (chain_index >= s.n_chains) {
        fprintf(stderr, "%s has %d chains, wanted index %d\n", path, s.n_chains, chain_index);
        pd_structure_free(&s);
        return 0;
    }
    const pd_chain *ch = &s.chains[chain_index];
    const int L = max_len > 0 && ch->n > max_len ? max_len : ch->n;
    out->L = L;
    out->atom14 = malloc((size_t)L * 42 * sizeof(float));
    out->cb = malloc((size_t)L * 3 * sizeof(float));
    out->valid = malloc((size_t)L);
    out->img = malloc((size_t)L * L * 3);
    if (!out->atom14 || !out->cb || !out->valid || !out->img) {
        pd_structure_free(&s);
        tok_chain_free(out);
        return 0;
    }
    memcpy(out->atom14, ch->atom14, (size_t)L * 42 * sizeof(float));
    for (int i = 0; i < L; i++) {
        const float *a = out->atom14 + (size_t)i * 42;
        out->valid[i] = !isnan(a[0]) && !isnan(a[3]) && !isnan(a[6]);
        if (out->valid[i])
            pd_virtual_cb(a, a + 3, a + 6, out->cb + i * 3);
        else
            out->cb[i * 3] = out->cb[i * 3 + 1] = out->cb[i * 3 + 2] = NAN;
    }
    pd_distogram(L, out->atom14, out->cb, out->valid, out->img);
    pd_structure_free(&s);
    return 1;
}

void tok_chain_free(tok_chain *c)
{
    free(c->atom14);
    free(c->cb);
    free(c->valid);
    free(c->img);
    memset(c, 0, sizeof *c);
}
