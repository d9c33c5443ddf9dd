/* cmd_tokenize.c — `proteindiff tokenize RUN.cfg --checkpoint C --out tokens.h5 [--png DIR
 * --png-count N]`: every dataset entry up to the trained maximum length through the tokenizer's
 * encoder (eval mode, batches of one length bin within train.tokenizer.batch_residues pixels and
 * run.memory_budget_mb; an image too large for the budget stops every rank naming its entry),
 * its per-level codes written collectively into
 * one HDF5 file (docs/tokens-format.md), the decoded reconstruction checked by classical MDS
 * against the true Cβ, and optionally original | reconstruction PNGs for the first entries. */
#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "core/log.h"
#include "dataset/export.h"
#include "dataset/h5util.h"
#include "features/entry.h"
#include "features/mds.h"
#include "parallel/comm.h"
#include "parallel/memory_budget.h"
#include "train/stage_tokenizer.h"

#define TOKENS_FORMAT "proteindiff-tokens"
#define TOKENS_VERSION 1

typedef struct tok_options {
    const char *run_file, *checkpoint, *out, *png_dir;
    int png_count;
} tok_options;

/* The entries tokenized (dataset order) and where their codes go. */
typedef struct plan {
    int levels;
    int64_t n;                         /* tokenized entries */
    int64_t *index;                    /* [n] dataset entry */
    int32_t *length;                   /* [n] */
    uint8_t *split;                    /* [n] */
    int64_t *offset[PD_TOKENIZER_MAX_LEVELS];  /* [n + 1] first code of each entry per level */
    int64_t n_skipped;
    int64_t *skipped;                  /* [n_skipped] dataset entries longer than max_length */
    size_t name_width;
} plan;

static int64_t grid(int L, int level) { return (L + (1 << (level + 1)) - 1) >> (level + 1); }

static pd_status parse(int argc, char **argv, tok_options *o)
{
    memset(o, 0, sizeof *o);
    o->png_count = 4;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const int has_value = i + 1 < argc;
        if (!strcmp(a, "--checkpoint") && has_value) o->checkpoint = argv[++i];
        else if (!strcmp(a, "--out") && has_value) o->out = argv[++i];
        else if (!strcmp(a, "--png") && has_value) o->png_dir = argv[++i];
        else if (!strcmp(a, "--png-count") && has_value) o->png_count = atoi(argv[++i]);
        else if (a[0] == '-') return pd_fail(PD_ERR_USAGE, "tokenize: unknown option or missing value '%s' (see "
                                             "proteindiff tokenize --help)", a);
        else if (!o->run_file) o->run_file = a;
        else return pd_fail(PD_ERR_USAGE, "tokenize: one run file expected, got '%s' and '%s'", o->run_file, a);
    }
    if (!o->run_file || !o->checkpoint || !o->out)
        return pd_fail(PD_ERR_USAGE, "usage: proteindiff tokenize RUN.cfg --checkpoint C --out tokens.h5 "
                       "[--png DIR --png-count N]");
    if (o->png_count < 0) return pd_fail(PD_ERR_USAGE, "tokenize: --png-count must be >= 0");
    return PD_OK;
}

static void plan_free(plan *p)
{
    free(p->index);
    free(p->length);
    free(p->split);
    free(p->skipped);
    for (int l = 0; l < PD_TOKENIZER_MAX_LEVELS; l++) free(p->offset[l]);
    memset(p, 0, sizeof *p);
}

static pd_status make_plan(pd_dataset *ds, int levels, int max_length, plan *p)
{
    memset(p, 0, sizeof *p);
    p->levels = levels;
    const int64_t E = pd_dataset_n_entries(ds);
    p->index = pd_malloc((size_t)(E + 1) * sizeof *p->index);
    p->length = pd_malloc((size_t)(E + 1) * sizeof *p->length);
    p->split = pd_malloc((size_t)(E + 1));
    p->skipped = pd_malloc((size_t)(E + 1) * sizeof *p->skipped);
    for (int l = 0; l < levels; l++) p->offset[l] = pd_calloc((size_t)(E + 1), sizeof **p->offset);
    if (!p->index || !p->length || !p->split || !p->skipped || (levels && !p->offset[levels - 1])) return PD_ERR_NOMEM;
    p->name_width = 1;
    for (int64_t e = 0; e < E; e++) {
        pd_entry_info info;
        PD_TRY(pd_dataset_entry_info(ds, e, &info));
        if (info.length > max_length) {
            p->skipped[p->n_skipped++] = e;
            continue;
        }
        if (strlen(info.name) + 1 > p->name_width) p->name_width = strlen(info.name) + 1;
        p->index[p->n] = e;
        p->length[p->n] = info.length;
        p->split[p->n] = info.split;
        for (int l = 0; l < levels; l++) p->offset[l][p->n + 1] = p->offset[l][p->n] + grid(info.length, l) * grid(info.length, l);
        p->n++;
    }
    return PD_OK;
}

/* ---- the file ---------------------------------------------------------------------------------------- */

static pd_status create_ds(hid_t file, const char *path, hid_t type, int ndim, const hsize_t *dims, const char *desc,
                           hid_t *out)
{
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t space = H5Screate_simple(ndim, dims, NULL);
    *out = H5Dcreate2(file, path, type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Sclose(space);
    H5Pclose(lcpl);
    if (*out < 0) return pd_h5_fail(PD_ERR_IO, "cannot create %s in the tokens file", path);
    return pd_h5_attr_write_string(*out, "description", desc);
}

/* Rows [first, first + n) of a 1-D or 2-D (inner = columns) dataset; n may be 0. */
static pd_status write_rows(hid_t ds, hid_t mtype, int64_t first, int64_t n, hsize_t inner, const void *buf)
{
    hsize_t start[2] = {(hsize_t)first, 0}, count[2] = {(hsize_t)n, inner};
    const int ndim = inner ? 2 : 1;
    hid_t fs = H5Dget_space(ds), ms = H5Screate_simple(ndim, count, NULL);
    herr_t rc = n > 0 ? H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) : H5Sselect_none(fs);
    if (n == 0) H5Sselect_none(ms);
    if (rc >= 0) rc = H5Dwrite(ds, mtype, ms, fs, H5P_DEFAULT, buf);
    H5Sclose(ms);
    H5Sclose(fs);
    return rc < 0 ? pd_h5_fail(PD_ERR_IO, "cannot write rows [%lld, %lld) of the tokens file", (long long)first,
                               (long long)(first + n)) : PD_OK;
}

/* What each rank produced for its contiguous range [lo, hi) of the plan. */
typedef struct results {
    int64_t lo, hi;
    int32_t *codes[PD_TOKENIZER_MAX_LEVELS];  /* this range's codes, plan offsets minus offset[lo] */
    double *rmsd, *frac_1a, *image_mae;       /* [hi - lo] */
} results;

static pd_status write_file(const char *path, MPI_Comm comm, int rank, const plan *p, const results *r, pd_dataset *ds,
                            pd_tokenizer *m, const char *checkpoint, const char *config_text)
{
    const pd_tokenizer_config *c = pd_tokenizer_get_config(m);
    char *partial = pd_malloc(strlen(path) + 16);
    if (!partial) return PD_ERR_NOMEM;
    sprintf(partial, "%s.partial", path);
    hid_t f = pd_h5_create_collective(partial, comm);
    if (f < 0) {
        pd_status st = pd_h5_fail(PD_ERR_IO, "cannot create %s (does its folder exist and is it writable?)", partial);
        free(partial);
        return pd_agree(comm, st);
    }
    pd_status st = PD_OK;
    const hsize_t n = (hsize_t)p->n, ns = (hsize_t)p->n_skipped;
    hid_t d_name, d_index, d_len, d_split, d_rmsd, d_frac, d_mae, d_off[PD_TOKENIZER_MAX_LEVELS], d_tok[PD_TOKENIZER_MAX_LEVELS],
        d_book[PD_TOKENIZER_MAX_LEVELS], d_sname, d_sreason;
    hid_t str = pd_h5_string_type(p->name_width);
    st = create_ds(f, "/entries/name", str, 1, &n, "dataset entry name (<file stem>_<chain>)", &d_name);
    if (st == PD_OK) st = create_ds(f, "/entries/dataset_index", H5T_STD_I64LE, 1, &n, "the entry's index in the dataset", &d_index);
    if (st == PD_OK) st = create_ds(f, "/entries/length", H5T_STD_I32LE, 1, &n, "residues L (the image is L x L)", &d_len);
    if (st == PD_OK) st = create_ds(f, "/entries/split", H5T_STD_U8LE, 1, &n, "0 train, 1 valid, 2 test (from the dataset)", &d_split);
    if (st == PD_OK)
        st = create_ds(f, "/entries/mds_cb_rmsd", H5T_IEEE_F64LE, 1, &n, "Cb RMSD (A, Kabsch, mirror allowed) of classical "
                       "MDS on the reconstruction's distances vs the true virtual Cb; NaN when under 4 valid residues", &d_rmsd);
    if (st == PD_OK)
        st = create_ds(f, "/entries/mds_pairs_under_1A", H5T_IEEE_F64LE, 1, &n, "fraction of valid residue pairs whose MDS "
                       "distance is within 1 A of the true Cb distance", &d_frac);
    if (st == PD_OK)
        st = create_ds(f, "/entries/image_distance_mae", H5T_IEEE_F64LE, 1, &n, "mean |reconstructed - true| Cb distance "
                       "(A) over pairs closer than 80 A, before MDS", &d_mae);
    for (int l = 0; st == PD_OK && l < p->levels; l++) {
        char name[64], desc[256];
        snprintf(name, sizeof name, "/entries/token_offset_%d", l);
        hsize_t n1 = n + 1;
        snprintf(desc, sizeof desc, "first element of each entry in /tokens/level_%d; entry i holds g*g codes, "
                 "g = ceil(L / %d); the last value is the total", l, 1 << (l + 1));
        st = create_ds(f, name, H5T_STD_I64LE, 1, &n1, desc, &d_off[l]);
        hsize_t total = (hsize_t)p->offset[l][p->n];
        snprintf(name, sizeof name, "/tokens/level_%d", l);
        snprintf(desc, sizeof desc, "level-%d codes (0..%d), each entry's g x g grid row-major (g = ceil(L / %d)); only "
                 "tokens that cover the protein", l, c->codebook - 1, 1 << (l + 1));
        if (st == PD_OK) st = create_ds(f, name, H5T_STD_I32LE, 1, &total, desc, &d_tok[l]);
        hsize_t kd[2] = {(hsize_t)c->codebook, (hsize_t)c->latent_dim};
        snprintf(name, sizeof name, "/codebooks/level_%d", l);
        if (st == PD_OK) st = create_ds(f, name, H5T_IEEE_F32LE, 2, kd, "the level's codebook [codes, latent_dim]", &d_book[l]);
    }
    if (st == PD_OK) st = create_ds(f, "/skipped/name", str, 1, &ns, "entries not tokenized", &d_sname);
    hid_t rstr = pd_h5_string_type(96);
    if (st == PD_OK) st = create_ds(f, "/skipped/reason", rstr, 1, &ns, "why", &d_sreason);
    hid_t root = f;
    if (st == PD_OK) st = pd_h5_attr_write_string(root, "format", TOKENS_FORMAT);
    if (st == PD_OK) st = pd_h5_attr_write_int(root, "version", TOKENS_VERSION);
    if (st == PD_OK) st = pd_h5_attr_write_int(root, "levels", c->levels);
    if (st == PD_OK) st = pd_h5_attr_write_int(root, "codebook", c->codebook);
    if (st == PD_OK) st = pd_h5_attr_write_int(root, "latent_dim", c->latent_dim);
    if (st == PD_OK) st = pd_h5_attr_write_string(root, "checkpoint", checkpoint);
    if (st == PD_OK) st = pd_h5_attr_write_string(root, "dataset", pd_dataset_path(ds));
    if (st == PD_OK) st = pd_h5_attr_write_string(root, "config", config_text ? config_text : "");
    if (st == PD_OK) st = pd_h5_attr_write_string(root, "created_by", "proteindiff tokenize");
    if (st == PD_OK) st = pd_h5_attr_write_int(root, "complete", 0);
    st = pd_agree(comm, st);

    /* Each rank its rows; rank 0 the codebooks, the last offsets and the skipped list. */
    const int64_t lo = r->lo, cnt = r->hi - r->lo;
    char *names = pd_calloc((size_t)(cnt + 1), p->name_width);
    if (st == PD_OK && !names) st = PD_ERR_NOMEM;
    for (int64_t i = 0; st == PD_OK && i < cnt; i++) {
        pd_entry_info info;
        st = pd_dataset_entry_info(ds, p->index[lo + i], &info);
        if (st == PD_OK) snprintf(names + i * p->name_width, p->name_width, "%s", info.name);
    }
    if (st == PD_OK) st = write_rows(d_name, str, lo, cnt, 0, names);
    if (st == PD_OK) st = write_rows(d_index, H5T_NATIVE_INT64, lo, cnt, 0, p->index + lo);
    if (st == PD_OK) st = write_rows(d_len, H5T_NATIVE_INT32, lo, cnt, 0, p->length + lo);
    if (st == PD_OK) st = write_rows(d_split, H5T_NATIVE_UINT8, lo, cnt, 0, p->split + lo);
    if (st == PD_OK) st = write_rows(d_rmsd, H5T_NATIVE_DOUBLE, lo, cnt, 0, r->rmsd);
    if (st == PD_OK) st = write_rows(d_frac, H5T_NATIVE_DOUBLE, lo, cnt, 0, r->frac_1a);
    if (st == PD_OK) st = write_rows(d_mae, H5T_NATIVE_DOUBLE, lo, cnt, 0, r->image_mae);
    for (int l = 0; st == PD_OK && l < p->levels; l++) {
        const int last = r->hi == p->n;  /* the rank holding the end also writes the total */
        st = write_rows(d_off[l], H5T_NATIVE_INT64, lo, cnt + last, 0, p->offset[l] + lo);
        if (st == PD_OK)
            st = write_rows(d_tok[l], H5T_NATIVE_INT32, p->offset[l][lo], p->offset[l][r->hi] - p->offset[l][lo], 0, r->codes[l]);
        pd_vq_codebook *book = pd_tokenizer_codebook(m, l);
        float *tmp = pd_malloc((size_t)(book->codes * book->dim) * sizeof *tmp);
        if (!tmp) st = PD_ERR_NOMEM;
        for (int64_t q = 0; st == PD_OK && q < book->codes * book->dim; q++) tmp[q] = (float)book->embed[q];
        if (st == PD_OK) st = write_rows(d_book[l], H5T_NATIVE_FLOAT, 0, rank == 0 ? book->codes : 0, (hsize_t)book->dim, tmp);
        free(tmp);
    }
    char *snames = pd_calloc((size_t)(p->n_skipped + 1), p->name_width + 96), *reasons = NULL;
    if (st == PD_OK && !snames) st = PD_ERR_NOMEM;
    if (st == PD_OK) reasons = snames + (size_t)(p->n_skipped + 1) * p->name_width;
    for (int64_t i = 0; st == PD_OK && i < p->n_skipped; i++) {
        pd_entry_info info;
        st = pd_dataset_entry_info(ds, p->skipped[i], &info);
        if (st == PD_OK) {
            snprintf(snames + i * p->name_width, p->name_width, "%.*s", (int)p->name_width - 1, info.name);
            snprintf(reasons + i * 96, 96, "%d residues: longer than the trained maximum (model.tokenizer.max_length)",
                     info.length);
        }
    }
    if (st == PD_OK) {
        hid_t wide = pd_h5_string_type(p->name_width);
        st = write_rows(d_sname, wide, 0, rank == 0 ? p->n_skipped : 0, 0, snames);
        H5Tclose(wide);
    }
    if (st == PD_OK) st = write_rows(d_sreason, rstr, 0, rank == 0 ? p->n_skipped : 0, 0, reasons);
    free(names);
    free(snames);
    st = pd_agree(comm, st);
    if (st == PD_OK) st = pd_agree(comm, pd_h5_attr_write_int(root, "complete", 1));
    H5Dclose(d_name);
    H5Dclose(d_index);
    H5Dclose(d_len);
    H5Dclose(d_split);
    H5Dclose(d_rmsd);
    H5Dclose(d_frac);
    H5Dclose(d_mae);
    for (int l = 0; l < p->levels; l++) {
        H5Dclose(d_off[l]);
        H5Dclose(d_tok[l]);
        H5Dclose(d_book[l]);
    }
    H5Dclose(d_sname);
    H5Dclose(d_sreason);
    H5Tclose(str);
    H5Tclose(rstr);
    if (H5Fclose(f) < 0 && st == PD_OK) st = pd_h5_fail(PD_ERR_IO, "cannot close %s", partial);
    st = pd_agree(comm, st);
    if (st == PD_OK && rank == 0 && rename(partial, path) != 0)
        st = pd_fail(PD_ERR_IO, "cannot rename %s to %s: %s", partial, path, strerror(errno));
    free(partial);
    return pd_agree(comm, st);
}

/* ---- encoding ----------------------------------------------------------------------------------------- */

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

/* The memory plan: batches of images of one side hold at most `room` bytes of activations
 * (encoder + decoder, eval mode); the largest image must fit alone. */
typedef struct tok_memory {
    pd_stage_memory mem;
    double budget, room, params;
    char how[160];
    double peak_bytes, peak_plan;   /* the largest arena peak of a batch and its estimate */
} tok_memory;

/* Activations of n images of side x side pixels. */
static double images_bytes(const pd_stage_memory *m, int side, int64_t n)
{
    const double c = (double)side * side;
    return m->fixed + (double)n * (m->per_entry + m->per_cost * c + m->per_cost_sq * c * c + m->padded_cost * c +
                                   m->padded_cost_sq * c * c);
}

static pd_status memory_plan(const pd_config *cfg, MPI_Comm comm, pd_stage *s, pd_dataset *ds, const plan *p, tok_memory *tm)
{
    const pd_tokenizer_config *c = pd_tokenizer_get_config(s->model);
    PD_TRY(pd_stage_memory_infer("tokenizer", "encode", cfg, &tm->mem));
    tm->budget = pd_memory_budget(cfg, comm, 0, tm->how, sizeof tm->how);
    tm->params = 4.0 * (double)pd_params_count(s->params);
    tm->room = tm->budget - tm->params;
    int64_t longest = -1;
    for (int64_t k = 0; k < p->n; k++)
        if (longest < 0 || p->length[k] > p->length[longest]) longest = k;
    const int side = longest >= 0 ? pd_tokstage_side(c, p->length[longest]) : 0;
    const double need = longest >= 0 ? images_bytes(&tm->mem, side, 1) : 0;
    pd_info("tokenize memory plan (per rank): budget %.1f MiB (%s); parameters %.1f MiB; the largest image (%d x %d "
            "pixels) ~%.1f MiB [%s]", tm->budget / 1048576.0, tm->how, tm->params / 1048576.0, side, side,
            need / 1048576.0, tm->mem.basis);
    if (longest < 0 || need <= tm->room) return PD_OK;
    pd_entry_info info;
    PD_TRY(pd_dataset_entry_info(ds, p->index[longest], &info));
    return pd_fail(PD_ERR_NOMEM,
                   "tokenize memory plan: entry %s (%d residues, a %d x %d image) cannot be tokenized within a budget of "
                   "%.1f MiB per rank (%s): it alone needs ~%.1f MiB of activations + %.1f MiB of parameters. Raise "
                   "run.memory_budget_mb, run fewer ranks per node, or lower model.tokenizer.max_length", info.name,
                   (int)info.length, side, side, tm->budget / 1048576.0, tm->how, need / 1048576.0, tm->params / 1048576.0);
}

/* Encode plan entries [lo, hi) (this rank's), batch by batch of one side, decode, check. */
static pd_status encode_range(pd_stage *s, pd_dataset *ds, const plan *p, const tok_options *o, int64_t batch_pixels,
                              tok_memory *tm, results *r)
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
        while (per_batch > 1 && images_bytes(&tm->mem, side, per_batch) > tm->room) per_batch--;   /* the budget */
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
            tm->peak_plan = images_bytes(&tm->mem, side, n);
        }
        if (st == PD_OK) pd_tokenizer_to_uint8(rec->data, p->length + i, n, side, recon8);
        /* Codes of the tokens that cover each protein, row-major g x g. */
        for (int l = 0; st == PD_OK && l < c->levels; l++) {
            const int64_t h = side >> (l + 1);
            for (int k = 0; k < n; k++) {
                const int64_t gl = grid(p->length[i + k], l);
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

pd_status pd_cmd_tokenize(pd_app *app, int argc, char **argv)
{
    tok_options o;
    PD_TRY(parse(argc, argv, &o));
    PD_TRY(pd_app_load_config(app, o.run_file, 0));
    PD_TRY(pd_app_start_run(app));
    const pd_config *cfg = &app->cfg;
    MPI_Comm comm = MPI_COMM_WORLD;
    const pd_stage_ops *ops;
    PD_TRY(pd_stage_find("tokenizer", &ops));
    pd_stage s;
    memset(&s, 0, sizeof s);
    s.ops = ops;
    s.cfg = cfg;
    s.seed = (uint64_t)pd_cfg_stage_int(cfg, "tokenizer", "seed");
    PD_TRY(pd_agree(comm, ops->create(&s, cfg, s.seed, 1)));
    pd_status st = pd_agree(comm, pd_tokstage_load_checkpoint(&s, o.checkpoint));
    pd_dataset *ds = NULL;
    if (st == PD_OK) st = pd_agree(comm, pd_dataset_open(&ds, pd_cfg_str(cfg, "data.dataset"), comm));
    const pd_tokenizer_config *c = pd_tokenizer_get_config(s.model);
    const int max_length = (int)pd_cfg_int(cfg, "model.tokenizer.max_length");
    plan p;
    memset(&p, 0, sizeof p);
    if (st == PD_OK) st = pd_agree(comm, make_plan(ds, c->levels, max_length, &p));
    if (st == PD_OK && o.png_dir && app->rank == 0 && mkdir(o.png_dir, 0777) != 0 && errno != EEXIST)
        st = pd_fail(PD_ERR_IO, "cannot create the PNG folder %s: %s", o.png_dir, strerror(errno));
    if (st == PD_OK) st = pd_agree(comm, PD_OK);
    results r;
    memset(&r, 0, sizeof r);
    if (st == PD_OK) {
        r.lo = p.n * app->rank / app->nranks;
        r.hi = p.n * (app->rank + 1) / app->nranks;
        const int64_t cnt = r.hi - r.lo;
        r.rmsd = pd_calloc((size_t)cnt + 1, sizeof *r.rmsd);
        r.frac_1a = pd_calloc((size_t)cnt + 1, sizeof *r.frac_1a);
        r.image_mae = pd_calloc((size_t)cnt + 1, sizeof *r.image_mae);
        pd_status a = r.rmsd && r.frac_1a && r.image_mae ? PD_OK : PD_ERR_NOMEM;
        for (int l = 0; a == PD_OK && l < c->levels; l++) {
            r.codes[l] = pd_malloc((size_t)(p.offset[l][r.hi] - p.offset[l][r.lo] + 1) * sizeof(int32_t));
            if (!r.codes[l]) a = PD_ERR_NOMEM;
        }
        pd_info("tokenize: %lld entries up to %d residues (%lld longer ones skipped), %d rank(s), checkpoint %s",
                (long long)p.n, max_length, (long long)p.n_skipped, app->nranks, o.checkpoint);
        tok_memory tm;
        memset(&tm, 0, sizeof tm);
        const pd_status plan_st = memory_plan(cfg, comm, &s, ds, &p, &tm);   /* collective: every rank */
        if (a == PD_OK) a = plan_st;
        if (a == PD_OK) a = encode_range(&s, ds, &p, &o, pd_cfg_stage_int(cfg, "tokenizer", "batch_residues"), &tm, &r);
        st = pd_agree(comm, a);
        double peak[2] = {tm.peak_bytes, tm.peak_plan};   /* the rank with the largest peak */
        struct { double v; int r; } in = {peak[0], app->rank}, out;
        MPI_Allreduce(&in, &out, 1, MPI_DOUBLE_INT, MPI_MAXLOC, comm);
        MPI_Bcast(peak, 2, MPI_DOUBLE, out.r, comm);
        if (st == PD_OK && peak[1] > 0)
            pd_info("tokenize: memory: largest arena peak of a batch %.2f MiB against the plan's %.2f MiB (%+.0f %%)",
                    peak[0] / 1048576.0, peak[1] / 1048576.0, 100.0 * (peak[0] / peak[1] - 1));
    }
    if (st == PD_OK) st = write_file(o.out, comm, app->rank, &p, &r, ds, s.model, o.checkpoint, cfg->text);
    if (st == PD_OK) {
        /* The structure check summarised over every tokenized entry. */
        double sums[4] = {0};
        for (int64_t i = 0; i < r.hi - r.lo; i++)
            if (!isnan(r.rmsd[i])) {
                sums[0] += 1;
                sums[1] += r.rmsd[i];
                sums[2] += r.frac_1a[i];
                sums[3] += r.image_mae[i];
            }
        MPI_Allreduce(MPI_IN_PLACE, sums, 4, MPI_DOUBLE, MPI_SUM, comm);
        const double k = sums[0] > 0 ? sums[0] : 1;
        pd_info("tokenize: wrote %s: %lld entries, %d levels of %d codes", o.out, (long long)p.n, c->levels, c->codebook);
        pd_info("tokenize: MDS check of the reconstructions over %.0f entries: mean Cb RMSD %.3f A, mean fraction of "
                "pairs under 1 A %.3f, mean image distance error %.3f A", sums[0], sums[1] / k, sums[2] / k, sums[3] / k);
        if (o.png_dir) pd_info("tokenize: original | reconstruction PNGs of the first %d entries in %s", o.png_count, o.png_dir);
    }
    for (int l = 0; l < PD_TOKENIZER_MAX_LEVELS; l++) free(r.codes[l]);
    free(r.rmsd);
    free(r.frac_1a);
    free(r.image_mae);
    plan_free(&p);
    if (ds) pd_dataset_close(ds);
    ops->destroy(&s);
    return st;
}
