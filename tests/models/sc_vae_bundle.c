/* sc_vae_bundle.c — tensor-bundle writer and reader for the side-chain VAE parity test
 * (sc_vae_bundle.h); the format is tests/reference/nn_bundle.py's. */
#include "sc_vae_bundle.h"

#include <stdlib.h>
#include <string.h>

FILE *scb_open_write(const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        pd_fail(PD_ERR_IO, "cannot create tensor bundle %s", path);
        return NULL;
    }
    fwrite("PDTB1\n", 1, 6, f);
    return f;
}

static pd_status write_header(FILE *f, const char *name, uint32_t dtype, int ndim, const int64_t *shape, int64_t *numel)
{
    uint32_t len = (uint32_t)strlen(name), nd = (uint32_t)ndim;
    fwrite(&len, 4, 1, f);
    fwrite(name, 1, len, f);
    fwrite(&dtype, 4, 1, f);
    fwrite(&nd, 4, 1, f);
    *numel = 1;
    for (int i = 0; i < ndim; i++) {
        fwrite(&shape[i], 8, 1, f);
        *numel *= shape[i];
    }
    return ferror(f) ? pd_fail(PD_ERR_IO, "writing bundle item %s", name) : PD_OK;
}

pd_status scb_add_real(FILE *f, const char *name, int ndim, const int64_t *shape, const pd_real *data)
{
    int64_t n;
    PD_TRY(write_header(f, name, 0, ndim, shape, &n));
    for (int64_t i = 0; i < n; i++) {
        float v = (float)data[i];
        fwrite(&v, 4, 1, f);
    }
    return ferror(f) ? pd_fail(PD_ERR_IO, "writing bundle item %s", name) : PD_OK;
}

pd_status scb_add_i32(FILE *f, const char *name, int ndim, const int64_t *shape, const int32_t *data)
{
    int64_t n;
    PD_TRY(write_header(f, name, 1, ndim, shape, &n));
    fwrite(data, 4, (size_t)n, f);
    return ferror(f) ? pd_fail(PD_ERR_IO, "writing bundle item %s", name) : PD_OK;
}

pd_status scb_close(FILE *f, const char *path)
{
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) return pd_fail(PD_ERR_IO, "writing tensor bundle %s failed", path);
    return PD_OK;
}

static int read_exact(FILE *f, void *p, size_t n) { return fread(p, 1, n, f) == n; }

pd_status scb_read(scb_bundle *b, const char *path)
{
    memset(b, 0, sizeof *b);
    FILE *f = fopen(path, "rb");
    if (!f) return pd_fail(PD_ERR_IO, "cannot open tensor bundle %s", path);
    char magic[6];
    if (!read_exact(f, magic, 6) || memcmp(magic, "PDTB1\n", 6) != 0) {
        fclose(f);
        return pd_fail(PD_ERR_FORMAT, "%s is not a tensor bundle (no PDTB1 magic)", path);
    }
    int cap = 0;
    pd_status s = PD_OK;
    for (;;) {
        uint32_t len, dt, nd;
        if (!read_exact(f, &len, 4)) break;
        if (b->n == cap) {
            cap = cap ? 2 * cap : 64;
            scb_item *grown = realloc(b->items, (size_t)cap * sizeof *b->items);
            if (!grown) { s = pd_fail(PD_ERR_NOMEM, "reading %s", path); break; }
            b->items = grown;
        }
        scb_item *it = &b->items[b->n];
        memset(it, 0, sizeof *it);
        it->name = calloc(1, (size_t)len + 1);
        b->n++;
        if (!it->name || !read_exact(f, it->name, len) || !read_exact(f, &dt, 4) || !read_exact(f, &nd, 4) ||
            nd > PD_MAX_DIMS || dt > 2) {
            s = pd_fail(PD_ERR_FORMAT, "%s: record %d is truncated or malformed", path, b->n - 1);
            break;
        }
        it->dtype = (int)dt;
        it->ndim = (int)nd;
        it->numel = 1;
        for (uint32_t i = 0; i < nd && s == PD_OK; i++) {
            if (!read_exact(f, &it->shape[i], 8)) s = pd_fail(PD_ERR_FORMAT, "%s: truncated shape of %s", path, it->name);
            it->numel *= it->shape[i];
        }
        if (s != PD_OK) break;
        size_t esz = dt == 2 ? 1 : 4;
        it->data = malloc((size_t)(it->numel ? it->numel : 1) * esz);
        if (!it->data || !read_exact(f, it->data, (size_t)it->numel * esz)) {
            s = pd_fail(PD_ERR_FORMAT, "%s: truncated data of %s", path, it->name);
            break;
        }
    }
    fclose(f);
    if (s != PD_OK) scb_free(b);
    return s;
}

void scb_free(scb_bundle *b)
{
    for (int i = 0; i < b->n; i++) {
        free(b->items[i].name);
        free(b->items[i].data);
    }
    free(b->items);
    memset(b, 0, sizeof *b);
}

const scb_item *scb_get(const scb_bundle *b, const char *name, int dtype, int64_t n)
{
    for (int i = 0; i < b->n; i++) {
        const scb_item *it = &b->items[i];
        if (strcmp(it->name, name) != 0) continue;
        if (it->dtype != dtype) {
            pd_fail(PD_ERR_FORMAT, "bundle item %s has dtype %d, expected %d", name, it->dtype, dtype);
            return NULL;
        }
        if (n >= 0 && it->numel != n) {
            pd_fail(PD_ERR_FORMAT, "bundle item %s has %lld values, expected %lld", name, (long long)it->numel,
                    (long long)n);
            return NULL;
        }
        return it;
    }
    pd_fail(PD_ERR_FORMAT, "bundle has no item %s", name);
    return NULL;
}

pd_status scb_copy_real(const scb_bundle *b, const char *name, pd_real *dst, int64_t n)
{
    const scb_item *it = scb_get(b, name, 0, n);
    if (!it) return PD_ERR_FORMAT;
    const float *src = it->data;
    for (int64_t i = 0; i < n; i++) dst[i] = (pd_real)src[i];
    return PD_OK;
}
