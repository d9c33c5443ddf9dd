/* tokens_file.c — the structure-token HDF5 file `proteindiff tokenize` writes
 * (docs/tokens-format.md): fixed-size datasets every rank writes its own rows into, in a file
 * that follows the output protocol of dataset/h5file.h (NAME.partial, stamp, complete = 1
 * last, rename by rank 0). */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset/h5file.h"
#include "dataset/h5util.h"
#include "parallel/comm.h"
#include "train/tokenize_plan.h"

#define TOKENS_FORMAT "proteindiff-tokens"
#define TOKENS_VERSION 1

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

pd_status pd_tokens_file_write(const char *path, MPI_Comm comm, int rank, const pd_tokenize_plan *p,
                               const pd_tokenize_results *r, pd_dataset *ds, pd_tokenizer *m, const char *checkpoint,
                               const char *config_text)
{
    const pd_tokenizer_config *c = pd_tokenizer_get_config(m);
    pd_h5_output out;
    PD_TRY(pd_h5_output_create(&out, path, PD_H5_PARTIAL_SUFFIX, PD_H5_COLLECTIVE_METADATA, comm));
    const hid_t f = out.file;
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
    if (st == PD_OK)
        st = pd_h5_output_stamp(&out, TOKENS_FORMAT, TOKENS_VERSION, "proteindiff tokenize", config_text ? config_text : "");
    if (st == PD_OK) st = pd_h5_attr_write_int(root, "levels", c->levels);
    if (st == PD_OK) st = pd_h5_attr_write_int(root, "codebook", c->codebook);
    if (st == PD_OK) st = pd_h5_attr_write_int(root, "latent_dim", c->latent_dim);
    if (st == PD_OK) st = pd_h5_attr_write_string(root, "checkpoint", checkpoint);
    if (st == PD_OK) st = pd_h5_attr_write_string(root, "dataset", pd_dataset_path(ds));
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
    return pd_h5_output_finish(&out, st);
}
