/* test_bb_vae_bundle.c — tensor-bundle writer/reader and the reference-script runner shared by
 * the bb_vae tests (format: tests/reference/nn_bundle.py). */
#include "test_bb_vae_bundle.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "models/bb_vae.h"

FILE *bundle_open(const char *path)
{
    FILE *f = fopen(path, "wb");
    if (f && fwrite("PDTB1\n", 1, 6, f) != 6) {
        fclose(f);
        return NULL;
    }
    return f;
}

static int write_header(FILE *f, const char *name, uint32_t dtype, int ndim, const int64_t *shape, int64_t *numel)
{
    uint32_t len = (uint32_t)strlen(name), nd = (uint32_t)ndim;
    *numel = 1;
    for (int i = 0; i < ndim; i++) *numel *= shape[i];
    return fwrite(&len, 4, 1, f) != 1 || fwrite(name, 1, len, f) != len || fwrite(&dtype, 4, 1, f) != 1 ||
           fwrite(&nd, 4, 1, f) != 1 || fwrite(shape, 8, (size_t)ndim, f) != (size_t)ndim;
}

int bundle_add_f32(FILE *f, const char *name, int ndim, const int64_t *shape, const float *data)
{
    int64_t n;
    if (write_header(f, name, 0, ndim, shape, &n)) return 1;
    return fwrite(data, 4, (size_t)n, f) != (size_t)n;
}

int bundle_add_real(FILE *f, const char *name, int ndim, const int64_t *shape, const pd_real *data)
{
    int64_t n;
    if (write_header(f, name, 0, ndim, shape, &n)) return 1;
    for (int64_t i = 0; i < n; i++) {
        float v = (float)data[i];
        if (fwrite(&v, 4, 1, f) != 1) return 1;
    }
    return 0;
}

int bundle_add_i32(FILE *f, const char *name, int ndim, const int64_t *shape, const int32_t *data)
{
    int64_t n;
    if (write_header(f, name, 1, ndim, shape, &n)) return 1;
    return fwrite(data, 4, (size_t)n, f) != (size_t)n;
}

int bundle_add_u8(FILE *f, const char *name, int ndim, const int64_t *shape, const uint8_t *data)
{
    int64_t n;
    if (write_header(f, name, 2, ndim, shape, &n)) return 1;
    return fwrite(data, 1, (size_t)n, f) != (size_t)n;
}

int bundle_close(FILE *f) { return fclose(f) != 0; }

void bundle_free(bundle *b)
{
    for (int i = 0; i < b->n; i++) {
        free(b->items[i].name);
        free(b->items[i].data);
    }
    free(b->items);
    memset(b, 0, sizeof *b);
}

int bundle_read(bundle *b, const char *path)
{
    memset(b, 0, sizeof *b);
    FILE *f = fopen(path, "rb");
    char magic[6];
    if (!f) return 1;
    if (fread(magic, 1, 6, f) != 6 || memcmp(magic, "PDTB1\n", 6) != 0) {
        fclose(f);
        return 1;
    }
    uint32_t len;
    while (fread(&len, 4, 1, f) == 1) {
        uint32_t dtype, ndim;
        int64_t shape[8], n = 1;
        char *name = calloc(len + 1, 1);
        bundle_item *grown = realloc(b->items, (size_t)(b->n + 1) * sizeof *grown);
        if (!name || !grown || fread(name, 1, len, f) != len || fread(&dtype, 4, 1, f) != 1 ||
            fread(&ndim, 4, 1, f) != 1 || ndim > 8 || fread(shape, 8, ndim, f) != ndim || dtype != 0) {
            free(name);
            if (grown) b->items = grown;
            fclose(f);
            return 1;
        }
        b->items = grown;
        for (uint32_t i = 0; i < ndim; i++) n *= shape[i];
        float *data = malloc((size_t)(n + 1) * sizeof(float));
        if (!data || fread(data, 4, (size_t)n, f) != (size_t)n) {
            free(name);
            free(data);
            fclose(f);
            return 1;
        }
        b->items[b->n++] = (bundle_item){name, n, data};
    }
    fclose(f);
    return 0;
}

const bundle_item *bundle_find(const bundle *b, const char *name)
{
    for (int i = 0; i < b->n; i++)
        if (strcmp(b->items[i].name, name) == 0) return &b->items[i];
    return NULL;
}

int bundle_run_reference(const char *mode, const char *in, const char *out)
{
    const char *py = getenv("PYTHON_REF"), *src = getenv("top_srcdir");
    if (!py || !*py) return 77;
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/reference/bb_vae_ref.py' %s '%s' '%s'", py, src ? src : ".", mode, in,
             out);
    int rc = system(cmd);
    if (rc == -1 || !WIFEXITED(rc)) return 1;
    return WEXITSTATUS(rc);
}

int bundle_write_bb_vae_input(const char *path, const pd_bb_vae *m, const pd_bb_graph *gr, const uint8_t *aa,
                              const float *eps)
{
    int64_t N = gr->n_nodes, k = gr->k, P = gr->pair_offset[gr->n_entries], B = gr->n_entries;
    const pd_bb_vae_config *c = &m->cfg;
    int32_t cfg[6] = {c->width, c->layers, c->neighbors, c->latent, c->decoder_layers, c->heads};
    float beta = (float)c->beta_kl;
    int32_t *offs = malloc(sizeof(int32_t) * (size_t)(B + 1)), *target = malloc(sizeof(int32_t) * (size_t)(N + 1));
    FILE *o = offs && target ? bundle_open(path) : NULL;
    if (!o) {
        free(offs), free(target);
        return 1;
    }
    for (int64_t b = 0; b <= B; b++) offs[b] = (int32_t)gr->node_offset[b];
    for (int64_t i = 0; i < N; i++) target[i] = gr->node_valid[i] && aa[i] < PD_BB_VAE_AA ? aa[i] : -1;
    int err = bundle_add_i32(o, "config", 1, (int64_t[]){6}, cfg);
    err |= bundle_add_f32(o, "beta_kl", 1, (int64_t[]){1}, &beta);
    err |= bundle_add_i32(o, "node_offset", 1, (int64_t[]){B + 1}, offs);
    err |= bundle_add_u8(o, "node_valid", 1, (int64_t[]){N}, gr->node_valid);
    err |= bundle_add_u8(o, "node_chain", 1, (int64_t[]){N}, gr->node_chain);
    err |= bundle_add_i32(o, "neighbor", 2, (int64_t[]){N, k}, gr->neighbor);
    err |= bundle_add_u8(o, "edge_valid", 2, (int64_t[]){N, k}, gr->edge_valid);
    err |= bundle_add_f32(o, "edge_rbf", 3, (int64_t[]){N, k, PD_BB_EDGE_RBF}, gr->edge_rbf);
    err |= bundle_add_f32(o, "edge_rot", 3, (int64_t[]){N, k, PD_BB_EDGE_ROT}, gr->edge_rot);
    err |= bundle_add_i32(o, "edge_relpos", 2, (int64_t[]){N, k}, gr->edge_relpos);
    err |= bundle_add_u8(o, "dist_label", 1, (int64_t[]){P}, (const uint8_t *)gr->dist_label);
    err |= bundle_add_u8(o, "orient_label", 1, (int64_t[]){P}, (const uint8_t *)gr->orient_label);
    err |= bundle_add_i32(o, "target", 1, (int64_t[]){N}, target);
    err |= bundle_add_f32(o, "eps", 2, (int64_t[]){N, c->latent}, eps);
    for (int i = 0; i < m->params.n_params; i++) {
        const pd_param *p = m->params.params[i];
        char name[200];
        snprintf(name, sizeof name, "param.%s", p->name);
        err |= bundle_add_real(o, name, p->t.ndim, p->t.shape, p->t.data);
    }
    err |= bundle_close(o);
    free(offs), free(target);
    return err;
}
