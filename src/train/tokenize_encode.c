/* tokenize_encode.c — a rank's part of `proteindiff tokenize` (tokenize.h): its range of
 * planned entries through the tokenizer in eval mode, batch by batch of one length bin, the
 * codes of the tokens that cover each protein, the decoded image checked by classical MDS
 * against the true Cβ, and original | reconstruction PNGs for the first entries. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset/export.h"
#include "features/entry.h"
#include "features/mds.h"
#include "train/stage_tokenizer.h"
#include "train/tokenize_plan.h"

/* original | 2 white columns | reconstruction, L rows. */
static pd_status write_pair_png(const char *dir, const char *name, const uint8_t *orig, const uint8_t *recon, int L)
{
    const int W = 2 * L + 2;
    uint8_t *rgb = pd_malloc((size_t)W * L * 3);
    char *path = pd_malloc(strlen(dir) + strlen(name) + 16);
    if (!rgb || !path) {
        free(rgb);
        free(path);
        return PD_ERR_NOMEM;
    }
    memset(rgb, 255, (size_t)W * L * 3);
    for (int i = 0; i < L; i++) {
        memcpy(rgb + (size_t)i * W * 3, orig + (size_t)i * L * 3, (size_t)L * 3);
        memcpy(rgb + ((size_t)i * W + L + 2) * 3, recon + (size_t)i * L * 3, (size_t)L * 3);
    }
    sprintf(path, "%s/%s.png", dir, name);
    for (char *c = path + strlen(dir) + 1; *c; c++)
        if (*c == '/') *c = '_';
    pd_status st = pd_png_write_rgb(path, rgb, W, L);
    free(rgb);
    free(path);
    return st;
}

pd_status pd_tokenize_encode_range(pd_stage *s, pd_dataset *ds, const pd_tokenize_plan *p, const pd_tokenize_options *o,
                                   int64_t batch_pixels, pd_tokenize_memory *tm, pd_tokenize_results *r)
{
    pd_tokenizer *m = s->model;
    const pd_tokenizer_config *c = pd_tokenizer_get_config(m);
    pd_graph *g = NULL;
    PD_TRY(pd_graph_create(&g, 0));
    pd_graph_set_training(g, 0);
    pd_graph_set_grad(g, 0);
    pd_status st = PD_OK;
    int64_t i = r->lo;
    while (st == PD_OK && i < r->hi) {
        /* The next batch: consecutive entries of one side (the plan is in dataset order). */
        const int side = pd_tokstage_side(c, p->length[i]);
        int64_t j = i + 1;
        int64_t per_batch = batch_pixels / ((int64_t)side * side) > 0 ? batch_pixels / ((int64_t)side * side) : 1;
        while (per_batch > 1 && pd_tokenize_images_bytes(&tm->mem, side, per_batch) > tm->room) per_batch--;   /* the budget */
        while (j < r->hi && j - i < per_batch && pd_tokstage_side(c, p->length[j]) == side) j++;
        const int n = (int)(j - i);
        const int64_t plane = (int64_t)side * side;
        uint8_t **images = pd_calloc((size_t)n, sizeof *images), **recon8 = pd_calloc((size_t)n, sizeof *recon8);
        float *input = pd_malloc((size_t)n * 3 * (size_t)plane * sizeof *input);
        int32_t *codes[PD_TOKENIZER_MAX_LEVELS] = {0};
        if (!images || !recon8 || !input) st = PD_ERR_NOMEM;
        for (int l = 0; st == PD_OK && l < c->levels; l++) {
            const int64_t h = side >> (l + 1);
            codes[l] = pd_malloc((size_t)(n * h * h) * sizeof **codes);
            if (!codes[l]) st = PD_ERR_NOMEM;
        }
        for (int k = 0; st == PD_OK && k < n; k++) {
            const size_t bytes = (size_t)p->length[i + k] * p->length[i + k] * 3;
            images[k] = pd_malloc(bytes);
            recon8[k] = pd_malloc(bytes);
            if (!images[k] || !recon8[k]) st = PD_ERR_NOMEM;
            else st = pd_dataset_read_distogram(ds, p->index[i + k], images[k]);
        }
        if (st == PD_OK) st = pd_tokenizer_prepare((const uint8_t *const *)images, p->length + i, n, side, input);
        pd_graph_reset(g);
        pd_tensor *x = st == PD_OK ? pd_tensor_from_floats(g, 4, (int64_t[]){n, 3, side, side}, input) : NULL;
        pd_arena_window_start(pd_graph_arena(g));
        if (st == PD_OK) st = x ? pd_tokenizer_encode(g, m, x, p->length + i, codes, NULL) : pd_graph_status(g);
        pd_tensor *rec = NULL;
        if (st == PD_OK) st = pd_tokenizer_decode(g, m, (const int32_t *const *)codes, p->length + i, n, side, &rec);
        const double peak = (double)pd_arena_window_peak(pd_graph_arena(g));
        if (st == PD_OK && peak > tm->peak_bytes) {
            tm->peak_bytes = peak;
            tm->peak_plan = pd_tokenize_images_bytes(&tm->mem, side, n);
        }
        if (st == PD_OK) pd_tokenizer_to_uint8(rec->data, p->length + i, n, side, recon8);
        /* Codes of the tokens that cover each protein, row-major g x g. */
        for (int l = 0; st == PD_OK && l < c->levels; l++) {
            const int64_t h = side >> (l + 1);
            for (int k = 0; k < n; k++) {
                const int64_t gl = pd_tokenize_grid(p->length[i + k], l);
                int32_t *dst = r->codes[l] + (p->offset[l][i + k] - p->offset[l][r->lo]);
                for (int64_t a = 0; a < gl; a++)
                    for (int64_t b = 0; b < gl; b++) dst[a * gl + b] = codes[l][(k * h + a) * h + b];
            }
        }
        for (int k = 0; st == PD_OK && k < n; k++) {
            pd_entry e;
            memset(&e, 0, sizeof e);
            st = pd_dataset_read_entry(ds, p->index[i + k], &e);
            if (st != PD_OK) break;
            uint8_t *valid = pd_malloc((size_t)e.length);
            for (int q = 0; valid && q < e.length; q++) valid[q] = (e.mask[q] & PD_MASK_BACKBONE) != 0;
            pd_structure_check chk;
            const int64_t row = i + k - r->lo;
            if (valid && pd_distogram_structure_check(recon8[k], e.length, e.cb, valid, &chk) == PD_OK) {
                r->rmsd[row] = chk.rmsd;
                r->frac_1a[row] = chk.frac_pairs_1a;
                r->image_mae[row] = chk.image_mae;
            } else {
                r->rmsd[row] = r->frac_1a[row] = r->image_mae[row] = NAN;
            }
            free(valid);
            if (o->png_dir && i + k < o->png_count) st = write_pair_png(o->png_dir, e.name, images[k], recon8[k], e.length);
            pd_entry_free(&e);
        }
        for (int k = 0; k < n; k++) {
            if (images) free(images[k]);
            if (recon8) free(recon8[k]);
        }
        free(images);
        free(recon8);
        free(input);
        for (int l = 0; l < c->levels; l++) free(codes[l]);
        i = j;
    }
    pd_graph_destroy(g);
    return st;
}
