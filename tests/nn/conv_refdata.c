/* conv_refdata.c — loader for the PDREF001 reference files; see conv_refdata.h. */
#include "conv_refdata.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_exact(FILE *fp, void *buf, size_t bytes) { return fread(buf, 1, bytes, fp) == bytes; }

pd_status ref_load(const char *path, ref_file *f)
{
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (!fp) return pd_fail(PD_ERR_IO, "cannot open reference file %s (did the Python reference run?)", path);
    char magic[8];
    uint32_t n;
    if (!read_exact(fp, magic, 8) || memcmp(magic, "PDREF001", 8) != 0 || !read_exact(fp, &n, 4)) {
        fclose(fp);
        return pd_fail(PD_ERR_FORMAT, "%s is not a PDREF001 reference file", path);
    }
    f->arrays = calloc(n, sizeof *f->arrays);
    if (!f->arrays) {
        fclose(fp);
        return pd_fail(PD_ERR_NOMEM, "reference file %s: %u arrays", path, n);
    }
    for (uint32_t i = 0; i < n; i++) {
        ref_array *a = &f->arrays[i];
        uint32_t len, ndim;
        if (!read_exact(fp, &len, 4) || len >= sizeof a->name || !read_exact(fp, a->name, len) ||
            !read_exact(fp, &ndim, 4) || ndim > 8 || !read_exact(fp, a->shape, ndim * sizeof(int64_t))) {
            fclose(fp);
            f->n = (int)i;
            return pd_fail(PD_ERR_FORMAT, "%s: array %u has a malformed header", path, i);
        }
        a->ndim = (int)ndim;
        a->numel = 1;
        for (uint32_t d = 0; d < ndim; d++) a->numel *= a->shape[d];
        a->data = malloc((size_t)(a->numel ? a->numel : 1) * sizeof(float));
        f->n = (int)i + 1;
        if (!a->data || !read_exact(fp, a->data, (size_t)a->numel * sizeof(float))) {
            fclose(fp);
            return pd_fail(PD_ERR_FORMAT, "%s: array %s is truncated", path, a->name);
        }
    }
    fclose(fp);
    return PD_OK;
}

void ref_free(ref_file *f)
{
    for (int i = 0; i < f->n; i++) free(f->arrays[i].data);
    free(f->arrays);
    memset(f, 0, sizeof *f);
}

const ref_array *ref_get(const ref_file *f, const char *case_name, const char *what)
{
    char name[128];
    snprintf(name, sizeof name, "%s.%s", case_name, what);
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->arrays[i].name, name) == 0) return &f->arrays[i];
    fprintf(stderr, "reference array %s missing\n", name);
    return NULL;
}

double ref_rel_error(const float *got, const float *ref, int64_t n)
{
    double max_diff = 0, max_ref = 0;
    for (int64_t i = 0; i < n; i++) {
        const double d = fabs((double)got[i] - ref[i]);
        if (isnan(d)) return INFINITY;
        max_diff = fmax(max_diff, d);
        max_ref = fmax(max_ref, fabs((double)ref[i]));
    }
    return max_ref > 0 ? max_diff / max_ref : max_diff;
}
