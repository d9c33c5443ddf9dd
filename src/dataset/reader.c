/* reader.c — open, validate and read dataset files; see reader.h. Everything small (names,
 * sources, lengths, offsets, splits, failures) is loaded and cross-checked at open; the big
 * per-residue arrays are read on demand by hyperslab. */
#include "dataset/reader.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset/h5file.h"
#include "dataset/h5util.h"
#include "dataset/schema.h"
#include "structure/residues.h"

/* Largest voxel grid a dataset may claim (featurize writes 2..64): bounds every allocation. */
#define PD_MAX_VOXEL_SIZE 64

struct pd_dataset {
    char *path;
    hid_t file;
    int64_t n_entries, n_residues, distogram_bytes, n_failures;
    int voxel_size;
    double voxel_cell, distogram_dmax;
    char *config, *created_by;
    /* Entry table. */
    size_t name_w, source_w;
    char *names, *sources;    /* n_entries rows of width + 1 bytes, NUL-terminated */
    int32_t *length;
    int64_t *residue_offset, *distogram_offset;
    uint8_t *split;
    /* Failures. */
    size_t fsource_w, freason_w;
    char *fsources, *freasons;
};

const char *pd_dataset_path(const pd_dataset *ds) { return ds->path; }
int64_t pd_dataset_n_entries(const pd_dataset *ds) { return ds->n_entries; }
int64_t pd_dataset_n_residues(const pd_dataset *ds) { return ds->n_residues; }
int64_t pd_dataset_distogram_bytes(const pd_dataset *ds) { return ds->distogram_bytes; }
int64_t pd_dataset_n_failures(const pd_dataset *ds) { return ds->n_failures; }
int pd_dataset_voxel_size(const pd_dataset *ds) { return ds->voxel_size; }
double pd_dataset_voxel_cell(const pd_dataset *ds) { return ds->voxel_cell; }
double pd_dataset_distogram_dmax(const pd_dataset *ds) { return ds->distogram_dmax; }
const char *pd_dataset_config_text(const pd_dataset *ds) { return ds->config; }
const char *pd_dataset_created_by(const pd_dataset *ds) { return ds->created_by; }

void pd_dataset_close(pd_dataset *ds)
{
    if (!ds) return;
    if (ds->file > 0) H5Fclose(ds->file);
    free(ds->path);
    free(ds->config);
    free(ds->created_by);
    free(ds->names);
    free(ds->sources);
    free(ds->length);
    free(ds->residue_offset);
    free(ds->distogram_offset);
    free(ds->split);
    free(ds->fsources);
    free(ds->freasons);
    free(ds);
}

/* ------------------------------------------------------------------ shape checks */

typedef enum { T_UINT, T_INT, T_FLOAT, T_STRING } type_kind;

/* Open `path`, check its type class/size and its shape: `rank` dims, the first is returned in
 * *rows, the others must equal inner[]. */
static pd_status open_checked(pd_dataset *ds, const char *path, type_kind kind, size_t type_size, int rank,
                              const hsize_t *inner, int64_t *rows, hid_t *out, size_t *string_width)
{
    /* H5Lexists fails (negative) when an intermediate group is missing: both mean missing. */
    if (H5Lexists(ds->file, path, H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return pd_fail(PD_ERR_FORMAT, "%s: dataset %s is missing", ds->path, path);
    }
    hid_t d = H5Dopen2(ds->file, path, H5P_DEFAULT);
    if (d < 0) return pd_h5_fail(PD_ERR_FORMAT, "%s: cannot open dataset %s", ds->path, path);
    hid_t t = H5Dget_type(d);
    H5T_class_t c = H5Tget_class(t);
    size_t size = H5Tget_size(t);
    int variable = c == H5T_STRING && H5Tis_variable_str(t) > 0;
    H5T_sign_t sign = c == H5T_INTEGER ? H5Tget_sign(t) : H5T_SGN_ERROR;
    H5Tclose(t);
    pd_status st = PD_OK;
    const char *want = kind == T_UINT ? "unsigned integer" : kind == T_INT ? "signed integer" : kind == T_FLOAT ? "float" : "fixed-length string";
    int ok = (kind == T_UINT && c == H5T_INTEGER && sign == H5T_SGN_NONE && size == type_size) ||
             (kind == T_INT && c == H5T_INTEGER && sign == H5T_SGN_2 && size == type_size) ||
             (kind == T_FLOAT && c == H5T_FLOAT && size == type_size) ||
             (kind == T_STRING && c == H5T_STRING && !variable && (type_size == 0 || size == type_size));
    if (!ok) st = pd_fail(PD_ERR_FORMAT, "%s: dataset %s should be %s of %zu bytes", ds->path, path, want, type_size);
    if (st == PD_OK) {
        hid_t s = H5Dget_space(d);
        int nd = H5Sget_simple_extent_ndims(s);
        hsize_t dims[8] = {0};
        if (nd >= 1 && nd <= 8) H5Sget_simple_extent_dims(s, dims, NULL);
        H5Sclose(s);
        if (nd != rank) {
            st = pd_fail(PD_ERR_FORMAT, "%s: dataset %s has %d dimensions, expected %d", ds->path, path, nd, rank);
        } else {
            for (int i = 1; i < rank; i++)
                if (dims[i] != inner[i - 1])
                    st = pd_fail(PD_ERR_FORMAT, "%s: dataset %s has dimension %d = %llu, expected %llu", ds->path, path, i,
                                 (unsigned long long)dims[i], (unsigned long long)inner[i - 1]);
            if (dims[0] > (hsize_t)INT64_MAX / 4)
                st = pd_fail(PD_ERR_FORMAT, "%s: dataset %s claims %llu rows; the file is corrupt", ds->path, path,
                             (unsigned long long)dims[0]);
            *rows = (int64_t)dims[0];
        }
    }
    if (st == PD_OK && string_width) *string_width = size;
    if (st != PD_OK) { H5Dclose(d); return st; }
    *out = d;
    return PD_OK;
}

static pd_status read_all(pd_dataset *ds, hid_t d, hid_t mem_type, void *buf, const char *path)
{
    herr_t r = H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    if (r < 0) return pd_h5_fail(PD_ERR_FORMAT, "%s: cannot read %s", ds->path, path);
    return PD_OK;
}

/* Read a fixed-width string dataset of `rows` rows into width+1-byte NUL-terminated rows. */
static pd_status read_strings(pd_dataset *ds, hid_t d, int64_t rows, size_t width, char **out, const char *path)
{
    char *raw = pd_malloc((size_t)rows * width + 1);
    char *res = pd_calloc((size_t)rows * (width + 1) + 1, 1);
    pd_status st = raw && res ? PD_OK : PD_ERR_NOMEM;
    if (st == PD_OK && rows > 0) {
        hid_t mt = H5Dget_type(d);
        st = read_all(ds, d, mt, raw, path);
        H5Tclose(mt);
    }
    for (int64_t i = 0; st == PD_OK && i < rows; i++) memcpy(res + i * (width + 1), raw + i * width, width);
    free(raw);
    if (st != PD_OK) { free(res); return st; }
    *out = res;
    return PD_OK;
}

static pd_status check_rows(pd_dataset *ds, const char *path, int64_t rows, int64_t want, const char *what)
{
    if (rows != want)
        return pd_fail(PD_ERR_FORMAT, "%s: %s has %lld rows but %s has %lld", ds->path, path, (long long)rows, what, (long long)want);
    return PD_OK;
}

static pd_status load_attributes(pd_dataset *ds)
{
    const pd_h5_expect expect = {.format = PD_DATASET_FORMAT, .version = PD_DATASET_VERSION, .what = "dataset",
                                 .remedy = "the featurize run that wrote it did not finish; run `proteindiff featurize` again"};
    PD_TRY(pd_h5_verify(ds->file, ds->path, &expect));
    long long vsize = 0;
    if (pd_h5_attr_read_int(ds->file, "voxel_size", &vsize) != PD_OK || vsize < 1 || vsize > PD_MAX_VOXEL_SIZE)
        return pd_fail(PD_ERR_FORMAT, "%s: attribute voxel_size missing or outside 1..%d (featurize writes 2..64)", ds->path,
                       PD_MAX_VOXEL_SIZE);
    ds->voxel_size = (int)vsize;
    if (pd_h5_attr_read_double(ds->file, "voxel_cell", &ds->voxel_cell) != PD_OK ||
        pd_h5_attr_read_double(ds->file, "distogram_dmax", &ds->distogram_dmax) != PD_OK ||
        pd_h5_attr_read_string(ds->file, "config", &ds->config) != PD_OK ||
        pd_h5_attr_read_string(ds->file, "created_by", &ds->created_by) != PD_OK) {
        pd_error_context("%s", ds->path);
        return PD_ERR_FORMAT;
    }
    return PD_OK;
}

static pd_status load_entry_table(pd_dataset *ds)
{
    hid_t d = 0;
    int64_t rows = 0, n = 0;
    pd_status st;
#define OPEN_ROWS(path, kind, size) \
    do { st = open_checked(ds, path, kind, size, 1, NULL, &rows, &d, NULL); if (st != PD_OK) return st; } while (0)
    OPEN_ROWS(PD_DS_LENGTH, T_INT, 4);
    n = ds->n_entries = rows;
    ds->length = pd_malloc((size_t)n * 4 + 1);
    ds->residue_offset = pd_malloc((size_t)n * 8 + 1);
    ds->distogram_offset = pd_malloc((size_t)n * 8 + 1);
    ds->split = pd_malloc((size_t)n + 1);
    if (!ds->length || !ds->residue_offset || !ds->distogram_offset || !ds->split) { H5Dclose(d); return PD_ERR_NOMEM; }
    st = n ? read_all(ds, d, H5T_NATIVE_INT32, ds->length, PD_DS_LENGTH) : PD_OK;
    H5Dclose(d);
    PD_TRY(st);
    OPEN_ROWS(PD_DS_RESIDUE_OFFSET, T_INT, 8);
    st = check_rows(ds, PD_DS_RESIDUE_OFFSET, rows, n, PD_DS_LENGTH);
    if (st == PD_OK && n) st = read_all(ds, d, H5T_NATIVE_INT64, ds->residue_offset, PD_DS_RESIDUE_OFFSET);
    H5Dclose(d);
    PD_TRY(st);
    OPEN_ROWS(PD_DS_DISTOGRAM_OFFSET, T_INT, 8);
    st = check_rows(ds, PD_DS_DISTOGRAM_OFFSET, rows, n, PD_DS_LENGTH);
    if (st == PD_OK && n) st = read_all(ds, d, H5T_NATIVE_INT64, ds->distogram_offset, PD_DS_DISTOGRAM_OFFSET);
    H5Dclose(d);
    PD_TRY(st);
    OPEN_ROWS(PD_DS_SPLIT, T_UINT, 1);
    st = check_rows(ds, PD_DS_SPLIT, rows, n, PD_DS_LENGTH);
    if (st == PD_OK && n) st = read_all(ds, d, H5T_NATIVE_UINT8, ds->split, PD_DS_SPLIT);
    H5Dclose(d);
    PD_TRY(st);
#undef OPEN_ROWS
    st = open_checked(ds, PD_DS_NAME, T_STRING, 0, 1, NULL, &rows, &d, &ds->name_w);
    PD_TRY(st);
    st = check_rows(ds, PD_DS_NAME, rows, n, PD_DS_LENGTH);
    if (st == PD_OK) st = read_strings(ds, d, n, ds->name_w, &ds->names, PD_DS_NAME);
    H5Dclose(d);
    PD_TRY(st);
    st = open_checked(ds, PD_DS_SOURCE, T_STRING, 0, 1, NULL, &rows, &d, &ds->source_w);
    PD_TRY(st);
    st = check_rows(ds, PD_DS_SOURCE, rows, n, PD_DS_LENGTH);
    if (st == PD_OK) st = read_strings(ds, d, n, ds->source_w, &ds->sources, PD_DS_SOURCE);
    H5Dclose(d);
    return st;
}

static pd_status load_failures(pd_dataset *ds)
{
    hid_t d = 0;
    int64_t rows = 0, rows2 = 0;
    PD_TRY(open_checked(ds, PD_DS_FAILED_SOURCE, T_STRING, 0, 1, NULL, &rows, &d, &ds->fsource_w));
    pd_status st = read_strings(ds, d, rows, ds->fsource_w, &ds->fsources, PD_DS_FAILED_SOURCE);
    H5Dclose(d);
    PD_TRY(st);
    PD_TRY(open_checked(ds, PD_DS_FAILED_REASON, T_STRING, 0, 1, NULL, &rows2, &d, &ds->freason_w));
    st = check_rows(ds, PD_DS_FAILED_REASON, rows2, rows, PD_DS_FAILED_SOURCE);
    if (st == PD_OK) st = read_strings(ds, d, rows, ds->freason_w, &ds->freasons, PD_DS_FAILED_REASON);
    H5Dclose(d);
    ds->n_failures = rows;
    return st;
}

/* Every per-residue dataset has R rows and the right inner shape; R and D come from them. */
static pd_status check_arrays(pd_dataset *ds)
{
    hsize_t atom[2] = {PD_ATOM14, 3}, xyz[1] = {3};
    hsize_t v = (hsize_t)ds->voxel_size, vox[3] = {v, v, v};
    struct { const char *path; type_kind kind; size_t size; int rank; const hsize_t *inner; } spec[] = {
        {PD_DS_AA, T_UINT, 1, 1, NULL},      {PD_DS_CHAIN, T_UINT, 1, 1, NULL}, {PD_DS_RESNUM, T_INT, 4, 1, NULL},
        {PD_DS_ICODE, T_STRING, 1, 1, NULL}, {PD_DS_MASK, T_UINT, 1, 1, NULL},  {PD_DS_ATOM14, T_FLOAT, 4, 3, atom},
        {PD_DS_CB, T_FLOAT, 4, 2, xyz},      {PD_DS_VOXELS, T_FLOAT, 2, 4, vox},
    };
    int n = (int)(sizeof spec / sizeof spec[0]);
    for (int i = 0; i < n; i++) {
        hid_t d;
        int64_t rows;
        PD_TRY(open_checked(ds, spec[i].path, spec[i].kind, spec[i].size, spec[i].rank, spec[i].inner, &rows, &d, NULL));
        H5Dclose(d);
        if (i == 0) ds->n_residues = rows;
        else PD_TRY(check_rows(ds, spec[i].path, rows, ds->n_residues, PD_DS_AA));
    }
    hid_t d;
    PD_TRY(open_checked(ds, PD_DS_DISTOGRAM, T_UINT, 1, 1, NULL, &ds->distogram_bytes, &d, NULL));
    H5Dclose(d);
    return PD_OK;
}

/* Offsets against lengths and totals: in bounds, increasing, not overlapping. */
static pd_status check_offsets(pd_dataset *ds)
{
    int64_t res_end = 0, dis_end = 0;
    for (int64_t i = 0; i < ds->n_entries; i++) {
        const char *name = ds->names + i * (ds->name_w + 1);
        int64_t L = ds->length[i], ro = ds->residue_offset[i], doff = ds->distogram_offset[i];
        if (L < 1 || L > ds->n_residues)
            return pd_fail(PD_ERR_FORMAT, "%s: entry %lld ('%s') has length %lld, outside [1, %lld residues]", ds->path,
                           (long long)i, name, (long long)L, (long long)ds->n_residues);
        if (ro < res_end || ro > ds->n_residues - L)
            return pd_fail(PD_ERR_FORMAT, "%s: entry %lld ('%s'): residue_offset %lld with length %lld %s (%lld residue rows, "
                           "previous entry ends at %lld); the file is corrupt or was edited", ds->path, (long long)i, name,
                           (long long)ro, (long long)L, ro < res_end ? "overlaps the previous entry" : "runs past the end",
                           (long long)ds->n_residues, (long long)res_end);
        if (ds->distogram_bytes / 3 / L < L)
            return pd_fail(PD_ERR_FORMAT, "%s: entry %lld ('%s') has length %lld but /distograms/data holds only %lld bytes "
                           "(an L*L*3 image needs %.0f); the file is corrupt or was edited", ds->path, (long long)i, name,
                           (long long)L, (long long)ds->distogram_bytes, 3.0 * (double)L * (double)L);
        int64_t bytes = 3 * L * L; /* no overflow: at most distogram_bytes, checked above */
        if (doff < dis_end || doff > ds->distogram_bytes - bytes)
            return pd_fail(PD_ERR_FORMAT, "%s: entry %lld ('%s'): distogram_offset %lld + 3*L^2 = %lld bytes %s (%lld bytes "
                           "in /distograms/data, previous entry ends at %lld); the file is corrupt or was edited", ds->path,
                           (long long)i, name, (long long)doff, (long long)bytes,
                           doff < dis_end ? "overlaps the previous entry" : "runs past the end", (long long)ds->distogram_bytes,
                           (long long)dis_end);
        if (ds->split[i] > 2)
            return pd_fail(PD_ERR_FORMAT, "%s: entry %lld ('%s') has split %d (0 train, 1 valid, 2 test)", ds->path, (long long)i,
                           name, ds->split[i]);
        res_end = ro + L;
        dis_end = doff + bytes;
    }
    return PD_OK;
}

pd_status pd_dataset_open(pd_dataset **out, const char *path, MPI_Comm comm)
{
    pd_h5_quiet();
    *out = NULL;
    pd_dataset *ds = pd_calloc(1, sizeof *ds);
    if (!ds) return PD_ERR_NOMEM;
    ds->path = pd_strdup(path);
    if (!ds->path) { free(ds); return PD_ERR_NOMEM; }
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (comm != MPI_COMM_NULL) H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
    pd_status st = PD_OK;
    if (H5Fis_hdf5(path) <= 0) {
        FILE *f = fopen(path, "rb");
        if (!f) st = pd_fail(PD_ERR_IO, "cannot open dataset '%s' (no such file or not readable)", path);
        else {
            fclose(f);
            size_t n = strlen(path), m = strlen(PD_DATASET_PARTIAL_SUFFIX);
            if (n > m && !strcmp(path + n - m, PD_DATASET_PARTIAL_SUFFIX))
                st = pd_fail(PD_ERR_FORMAT, "%s: incomplete dataset: the .partial file of a featurize run that did not "
                             "finish (not even a readable HDF5 file yet); run `proteindiff featurize` again", path);
            else
                st = pd_fail(PD_ERR_FORMAT, "%s: not an HDF5 file", path);
        }
        H5Eclear2(H5E_DEFAULT);
    }
    if (st == PD_OK) {
        ds->file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
        if (ds->file < 0) { ds->file = 0; st = pd_h5_fail(PD_ERR_IO, "cannot open dataset '%s'", path); }
    }
    H5Pclose(fapl);
    if (st == PD_OK) st = load_attributes(ds);
    if (st == PD_OK) st = check_arrays(ds);
    if (st == PD_OK) st = load_entry_table(ds);
    if (st == PD_OK) st = load_failures(ds);
    if (st == PD_OK) st = check_offsets(ds);
    if (st != PD_OK) { pd_dataset_close(ds); return st; }
    *out = ds;
    return PD_OK;
}

/* ------------------------------------------------------------------ reading */

pd_status pd_dataset_entry_info(const pd_dataset *ds, int64_t i, pd_entry_info *out)
{
    if (i < 0 || i >= ds->n_entries)
        return pd_fail(PD_ERR, "%s: entry index %lld outside [0, %lld)", ds->path, (long long)i, (long long)ds->n_entries);
    out->name = ds->names + i * (ds->name_w + 1);
    out->source = ds->sources + i * (ds->source_w + 1);
    out->length = ds->length[i];
    out->residue_offset = ds->residue_offset[i];
    out->distogram_offset = ds->distogram_offset[i];
    out->split = ds->split[i];
    return PD_OK;
}

pd_status pd_dataset_failure(const pd_dataset *ds, int64_t i, const char **source, const char **reason)
{
    if (i < 0 || i >= ds->n_failures)
        return pd_fail(PD_ERR, "%s: failure index %lld outside [0, %lld)", ds->path, (long long)i, (long long)ds->n_failures);
    *source = ds->fsources + i * (ds->fsource_w + 1);
    *reason = ds->freasons + i * (ds->freason_w + 1);
    return PD_OK;
}

/* Rows [first, first + count) of dataset `path` (all inner dims) into `buf` as `mem_type`. */
static pd_status read_rows(pd_dataset *ds, const char *path, hid_t mem_type, int64_t first, int64_t count, void *buf)
{
    hid_t d = H5Dopen2(ds->file, path, H5P_DEFAULT);
    if (d < 0) return pd_h5_fail(PD_ERR_FORMAT, "%s: cannot open %s", ds->path, path);
    hid_t fs = H5Dget_space(d);
    int nd = H5Sget_simple_extent_ndims(fs);
    hsize_t dims[4] = {0}, start[4] = {0}, cnt[4];
    H5Sget_simple_extent_dims(fs, dims, NULL);
    pd_status st = PD_OK;
    if (first < 0 || count < 0 || (hsize_t)first > dims[0] || (hsize_t)count > dims[0] - (hsize_t)first) {
        st = pd_fail(PD_ERR, "%s: %lld rows from row %lld of %s are out of range (%llu rows)", ds->path, (long long)count,
                     (long long)first, path, (unsigned long long)dims[0]);
    } else if (count > 0) {
        start[0] = (hsize_t)first;
        cnt[0] = (hsize_t)count;
        for (int i = 1; i < nd; i++) cnt[i] = dims[i];
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL);
        hid_t ms = H5Screate_simple(nd, cnt, NULL);
        if (H5Dread(d, mem_type, ms, fs, H5P_DEFAULT, buf) < 0) st = pd_h5_fail(PD_ERR_IO, "%s: cannot read %s", ds->path, path);
        H5Sclose(ms);
    }
    H5Sclose(fs);
    H5Dclose(d);
    return st;
}

pd_status pd_dataset_read_distogram(pd_dataset *ds, int64_t i, uint8_t *out)
{
    pd_entry_info info;
    PD_TRY(pd_dataset_entry_info(ds, i, &info));
    return read_rows(ds, PD_DS_DISTOGRAM, H5T_NATIVE_UINT8, info.distogram_offset, 3 * (int64_t)info.length * info.length, out);
}

/* Amino-acid indices index tables everywhere downstream: one outside 0..20 is refused. */
static pd_status check_amino_acids(const pd_dataset *ds, const pd_entry_info *info, const uint8_t *aa)
{
    for (int32_t r = 0; r < info->length; r++)
        if (aa[r] > PD_AA_UNKNOWN)
            return pd_fail(PD_ERR_FORMAT, "%s: entry '%s' residue row %lld has amino-acid index %d (0..%d expected); the "
                           "file is corrupt or was edited", ds->path, info->name, (long long)(info->residue_offset + r),
                           aa[r], PD_AA_UNKNOWN);
    return PD_OK;
}

pd_status pd_dataset_read_sequence(pd_dataset *ds, int64_t i, uint8_t *aa, uint8_t *chain)
{
    pd_entry_info info;
    PD_TRY(pd_dataset_entry_info(ds, i, &info));
    PD_TRY(read_rows(ds, PD_DS_AA, H5T_NATIVE_UINT8, info.residue_offset, info.length, aa));
    PD_TRY(check_amino_acids(ds, &info, aa));
    return read_rows(ds, PD_DS_CHAIN, H5T_NATIVE_UINT8, info.residue_offset, info.length, chain);
}

pd_status pd_dataset_read_atom14(pd_dataset *ds, int64_t i, float *out)
{
    pd_entry_info info;
    PD_TRY(pd_dataset_entry_info(ds, i, &info));
    return read_rows(ds, PD_DS_ATOM14, H5T_NATIVE_FLOAT, info.residue_offset, info.length, out);
}

pd_status pd_dataset_read_voxels(pd_dataset *ds, int64_t first, int64_t count, uint16_t *out)
{
    hid_t f16 = pd_h5_float16_type();
    pd_status st = read_rows(ds, PD_DS_VOXELS, f16, first, count, out);
    H5Tclose(f16);
    return st;
}

pd_status pd_dataset_read_entry(pd_dataset *ds, int64_t i, pd_entry *e)
{
    pd_entry_info info;
    memset(e, 0, sizeof *e);
    PD_TRY(pd_dataset_entry_info(ds, i, &info));
    size_t L = (size_t)info.length, V = (size_t)ds->voxel_size;
    e->length = info.length;
    e->voxel_size = ds->voxel_size;
    e->name = pd_strdup(info.name);
    e->source = pd_strdup(info.source);
    e->aa = pd_malloc(L);
    e->chain = pd_malloc(L);
    e->resnum = pd_malloc(L * sizeof(int32_t));
    e->icode = pd_malloc(L);
    e->mask = pd_malloc(L);
    e->atom14 = pd_malloc(L * PD_ATOM14 * 3 * sizeof(float));
    e->cb = pd_malloc(L * 3 * sizeof(float));
    e->voxels = pd_malloc(L * V * V * V * sizeof(uint16_t));
    e->distogram = pd_malloc(L * L * 3);
    pd_status st = PD_OK;
    if (!e->name || !e->source || !e->aa || !e->chain || !e->resnum || !e->icode || !e->mask || !e->atom14 || !e->cb ||
        !e->voxels || !e->distogram)
        st = PD_ERR_NOMEM;
    int64_t r0 = info.residue_offset;
    hid_t s1 = pd_h5_string_type(1);
    if (st == PD_OK) st = read_rows(ds, PD_DS_AA, H5T_NATIVE_UINT8, r0, info.length, e->aa);
    if (st == PD_OK) st = check_amino_acids(ds, &info, e->aa);
    if (st == PD_OK) st = read_rows(ds, PD_DS_CHAIN, H5T_NATIVE_UINT8, r0, info.length, e->chain);
    if (st == PD_OK) st = read_rows(ds, PD_DS_RESNUM, H5T_NATIVE_INT32, r0, info.length, e->resnum);
    if (st == PD_OK) st = read_rows(ds, PD_DS_ICODE, s1, r0, info.length, e->icode);
    if (st == PD_OK) st = read_rows(ds, PD_DS_MASK, H5T_NATIVE_UINT8, r0, info.length, e->mask);
    if (st == PD_OK) st = read_rows(ds, PD_DS_ATOM14, H5T_NATIVE_FLOAT, r0, info.length, e->atom14);
    if (st == PD_OK) st = read_rows(ds, PD_DS_CB, H5T_NATIVE_FLOAT, r0, info.length, e->cb);
    if (st == PD_OK) st = pd_dataset_read_voxels(ds, r0, info.length, e->voxels);
    if (st == PD_OK) st = pd_dataset_read_distogram(ds, i, e->distogram);
    H5Tclose(s1);
    if (st != PD_OK) pd_entry_free(e);
    return st;
}
