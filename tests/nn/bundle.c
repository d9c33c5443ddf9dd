/* bundle.c — tensor-bundle reader and comparison for the PyTorch parity tests (bundle.h). */
#include "bundle.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

static int read_exact(FILE *f, void *p, size_t n) { return fread(p, 1, n, f) == n; }

pd_status pd_bundle_read(pd_bundle *b, const char *path)
{
    memset(b, 0, sizeof *b);
    FILE *f = fopen(path, "rb");
    if (!f) return pd_fail(PD_ERR_IO, "cannot open tensor bundle %s", path);
    char magic[6];
    if (!read_exact(f, magic, 6) || memcmp(magic, "PDTB1\n", 6) != 0) {
        fclose(f);
        return pd_fail(PD_ERR_FORMAT, "%s is not a tensor bundle", path);
    }
    int cap = 0;
    for (;;) {
        uint32_t len;
        if (!read_exact(f, &len, 4)) break;
        if (b->n == cap) {
            cap = cap ? 2 * cap : 64;
            b->items = realloc(b->items, (size_t)cap * sizeof *b->items);
        }
        pd_bundle_item *it = &b->items[b->n];
        memset(it, 0, sizeof *it);
        it->name = calloc(1, len + 1);
        uint32_t dt, nd;
        if (!read_exact(f, it->name, len) || !read_exact(f, &dt, 4) || !read_exact(f, &nd, 4) || nd > PD_MAX_DIMS) {
            fclose(f);
            return pd_fail(PD_ERR_FORMAT, "%s: truncated record %d", path, b->n);
        }
        it->dtype = (pd_bundle_dtype)dt;
        it->ndim = (int)nd;
        it->numel = 1;
        for (uint32_t i = 0; i < nd; i++) {
            if (!read_exact(f, &it->shape[i], 8)) {
                fclose(f);
                return pd_fail(PD_ERR_FORMAT, "%s: truncated shape", path);
            }
            it->numel *= it->shape[i];
        }
        size_t esz = dt == PD_BUNDLE_U8 ? 1 : 4;
        it->data = malloc((size_t)(it->numel ? it->numel : 1) * esz);
        if (!read_exact(f, it->data, (size_t)it->numel * esz)) {
            fclose(f);
            return pd_fail(PD_ERR_FORMAT, "%s: truncated data of %s", path, it->name);
        }
        b->n++;
    }
    fclose(f);
    return PD_OK;
}

void pd_bundle_free(pd_bundle *b)
{
    for (int i = 0; i < b->n; i++) {
        free(b->items[i].name);
        free(b->items[i].data);
    }
    free(b->items);
    memset(b, 0, sizeof *b);
}

const pd_bundle_item *pd_bundle_get(const pd_bundle *b, const char *name)
{
    for (int i = 0; i < b->n; i++)
        if (!strcmp(b->items[i].name, name)) return &b->items[i];
    pd_test_checks++;
    pd_test_failures++;
    fprintf(stderr, "bundle: no tensor named '%s'\n", name);
    return NULL;
}

pd_tensor *pd_bundle_tensor(pd_graph *g, const pd_bundle *b, const char *name, int requires_grad)
{
    const pd_bundle_item *it = pd_bundle_get(b, name);
    if (!it || it->dtype != PD_BUNDLE_F32) return NULL;
    pd_tensor *t = pd_tensor_from_floats(g, it->ndim, it->shape, it->data);
    if (t) t->requires_grad = requires_grad;
    return t;
}

const int32_t *pd_bundle_i32(const pd_bundle *b, const char *name)
{
    const pd_bundle_item *it = pd_bundle_get(b, name);
    return it && it->dtype == PD_BUNDLE_I32 ? it->data : NULL;
}

const uint8_t *pd_bundle_u8(const pd_bundle *b, const char *name)
{
    const pd_bundle_item *it = pd_bundle_get(b, name);
    return it && it->dtype == PD_BUNDLE_U8 ? it->data : NULL;
}

int pd_bundle_copy(const pd_bundle *b, const char *name, pd_real *dst, int64_t n)
{
    const pd_bundle_item *it = pd_bundle_get(b, name);
    if (!it || it->dtype != PD_BUNDLE_F32 || it->numel != n) {
        fprintf(stderr, "bundle: '%s' missing or has %lld values, want %lld\n", name, it ? (long long)it->numel : -1LL,
                (long long)n);
        return 0;
    }
    const float *src = it->data;
    for (int64_t i = 0; i < n; i++) dst[i] = (pd_real)src[i];
    return 1;
}

int pd_bundle_compare(const pd_bundle *b, const char *name, const pd_real *actual, int64_t n, double rtol)
{
    const pd_bundle_item *it = pd_bundle_get(b, name);
    if (!it) return 0;
    pd_test_checks++;
    if (!actual || it->numel != n || it->dtype != PD_BUNDLE_F32) {
        pd_test_failures++;
        fprintf(stderr, "%s: %s (reference has %lld values, C result %lld)\n", name, actual ? "size differs" : "no C result",
                (long long)it->numel, (long long)n);
        return 0;
    }
    const float *ref = it->data;
    double max_ref = 0, max_diff = 0;
    int64_t worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)actual[i] - (double)ref[i]);
        if (fabs(ref[i]) > max_ref) max_ref = fabs(ref[i]);
        if (d > max_diff || isnan(d)) {
            max_diff = isnan(d) ? INFINITY : d;
            worst = i;
        }
    }
    double rel = max_diff / (max_ref > 1e-30 ? max_ref : 1e-30);
    int ok = rel <= rtol;
    if (!ok) {
        pd_test_failures++;
        fprintf(stderr, "%s: max |C - torch| / max|torch| = %.3g > %.1g (element %lld: C %.9g, torch %.9g)\n", name, rel,
                rtol, (long long)worst, (double)actual[worst], (double)ref[worst]);
    }
    printf("  %-40s rel err %.2e %s\n", name, rel, ok ? "ok" : "FAIL");
    return ok;
}
