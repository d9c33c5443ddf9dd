/* test_diffusion_util.c — scratch folders, the reference runner, bundle writing and tiny batches
 * for the diffusion tests (test_diffusion_util.h). */
#include "test_diffusion_util.h"

#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

#ifndef PD_TOP_SRCDIR
#define PD_TOP_SRCDIR "."
#endif

char *tdu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *dir = malloc(4096);
    snprintf(dir, 4096, "%s/pddiff.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) {
        free(dir);
        return NULL;
    }
    return dir;
}

void tdu_rmdir(char *dir)
{
    if (!dir) return;
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    free(dir);
}

static const char *python(void)
{
    const char *p = getenv("PYTHON_REF");
    return p && *p ? p : "/usr/bin/python3";
}

int tdu_have_torch(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' -c 'import numpy, torch' >/dev/null 2>&1", python());
    return system(cmd) == 0 ? 0 : 77;
}

int tdu_run_reference(const char *args)
{
    const char *src = getenv("top_srcdir");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/reference/diffusion_ref.py' %s", python(), src && *src ? src : PD_TOP_SRCDIR,
             args);
    int rc = system(cmd);
    if (rc != 0) fprintf(stderr, "reference failed (status %d): %s\n", rc, cmd);
    return rc;
}

FILE *tdu_bundle_open(const char *path)
{
    FILE *f = fopen(path, "wb");
    if (f) fwrite("PDTB1\n", 1, 6, f);
    return f;
}

static void header(FILE *f, const char *name, uint32_t dtype, int ndim, const int64_t *shape)
{
    uint32_t len = (uint32_t)strlen(name), nd = (uint32_t)ndim;
    fwrite(&len, 4, 1, f);
    fwrite(name, 1, len, f);
    fwrite(&dtype, 4, 1, f);
    fwrite(&nd, 4, 1, f);
    fwrite(shape, 8, (size_t)ndim, f);
}

void tdu_bundle_f32(FILE *f, const char *name, int ndim, const int64_t *shape, const float *data)
{
    header(f, name, 0, ndim, shape);
    fwrite(data, sizeof(float), (size_t)pd_shape_numel(ndim, shape), f);
}

void tdu_bundle_real(FILE *f, const char *name, int ndim, const int64_t *shape, const pd_real *data)
{
    header(f, name, 0, ndim, shape);
    int64_t n = pd_shape_numel(ndim, shape);
    for (int64_t i = 0; i < n; i++) {
        float v = (float)data[i];
        fwrite(&v, sizeof v, 1, f);
    }
}

void tdu_bundle_i32(FILE *f, const char *name, int ndim, const int64_t *shape, const int32_t *data)
{
    header(f, name, 1, ndim, shape);
    fwrite(data, sizeof(int32_t), (size_t)pd_shape_numel(ndim, shape), f);
}

int tdu_bundle_close(FILE *f) { return fclose(f) == 0 ? 0 : -1; }

void tdu_batch_make(tdu_batch *t, int n_entries, const int *lengths, int sc_latent, int bb_latent, uint64_t seed)
{
    memset(t, 0, sizeof *t);
    t->offset = calloc((size_t)n_entries + 1, sizeof *t->offset);
    for (int e = 0; e < n_entries; e++) t->offset[e + 1] = t->offset[e] + lengths[e];
    int64_t N = t->offset[n_entries];
    t->sc_mu = malloc((size_t)(N * sc_latent) * sizeof *t->sc_mu);
    t->bb_mu = malloc((size_t)(N * bb_latent) * sizeof *t->bb_mu);
    t->aa = malloc((size_t)N);
    t->valid = malloc((size_t)N);
    t->keys = malloc((size_t)n_entries * sizeof *t->keys);
    pd_rng r;
    pd_rng_init(&r, seed, 0, 0, PD_RNG_INIT);
    for (int64_t i = 0; i < N * sc_latent; i++) t->sc_mu[i] = 2 * pd_rng_uniformf(&r) - 1;
    for (int64_t i = 0; i < N * bb_latent; i++) t->bb_mu[i] = 2 * pd_rng_uniformf(&r) - 1;
    for (int64_t i = 0; i < N; i++) {
        t->aa[i] = (uint8_t)pd_rng_below(&r, 21);
        t->valid[i] = 1;
    }
    for (int e = 0; e < n_entries; e++) t->keys[e] = 1000 + (uint64_t)e;
    t->b = (pd_diffusion_batch){.n_entries = n_entries, .offset = t->offset, .sc_mu = t->sc_mu, .bb_mu = t->bb_mu,
                                .aa = t->aa, .valid = t->valid, .entry_keys = t->keys};
}

void tdu_batch_free(tdu_batch *t)
{
    free(t->offset);
    free(t->sc_mu);
    free(t->bb_mu);
    free(t->aa);
    free(t->valid);
    free(t->keys);
    memset(t, 0, sizeof *t);
}
