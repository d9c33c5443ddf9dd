/* fuzz_dataset.c — structured libFuzzer target for the dataset reader. HDF5's own parser is not
 * ours to fuzz; our reader's trust in the file's content is. Each run copies a small valid
 * dataset (made by `proteindiff featurize`, path in $PD_FUZZ_DATASET_BASE, see
 * make_dataset_base.sh), lets the input rewrite entry-table values, root attributes, residue
 * values and dataset shapes/types, then opens it and reads every entry: every lie must be
 * refused with a message or read safely, never out of bounds. */
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset/reader.h"
#include "dataset/schema.h"

static const char *const dataset_paths[] = {
    PD_DS_NAME, PD_DS_SOURCE, PD_DS_LENGTH, PD_DS_RESIDUE_OFFSET, PD_DS_DISTOGRAM_OFFSET, PD_DS_SPLIT,
    PD_DS_AA, PD_DS_CHAIN, PD_DS_RESNUM, PD_DS_ICODE, PD_DS_MASK, PD_DS_ATOM14, PD_DS_CB,
    PD_DS_VOXELS, PD_DS_DISTOGRAM, PD_DS_FAILED_SOURCE, PD_DS_FAILED_REASON,
};
#define N_PATHS ((int)(sizeof dataset_paths / sizeof dataset_paths[0]))
static const char *const root_attrs[] = {"format", "version", "complete", "voxel_size", "voxel_cell",
                                         "distogram_dmax", "config", "created_by"};
#define N_ATTRS ((int)(sizeof root_attrs / sizeof root_attrs[0]))

static uint8_t *base;
static size_t base_size;
static char work_path[256];

static void load_base(void)
{
    const char *path = getenv("PD_FUZZ_DATASET_BASE");
    if (!path) { fprintf(stderr, "fuzz_dataset: set PD_FUZZ_DATASET_BASE (tests/fuzz/make_dataset_base.sh)\n"); abort(); }
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "fuzz_dataset: cannot open %s\n", path); abort(); }
    fseek(f, 0, SEEK_END);
    base_size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    base = malloc(base_size);
    if (!base || fread(base, 1, base_size, f) != base_size) abort();
    fclose(f);
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(work_path, sizeof work_path, "%s/fuzz-dataset-%d.h5", dir, (int)getpid());
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static int64_t value_at(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return (int64_t)v;
}

/* Overwrite element `row` (of the first dimension, taken modulo its length) with `value`. */
static void poke(hid_t file, const char *path, hid_t mem_type, uint64_t row, const void *value)
{
    hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
    if (d < 0) return;
    hid_t s = H5Dget_space(d);
    int nd = H5Sget_simple_extent_ndims(s);
    hsize_t dims[8] = {0};
    if (nd == 1) {
        H5Sget_simple_extent_dims(s, dims, NULL);
        if (dims[0] > 0) {
            hsize_t start[1] = {row % dims[0]}, count[1] = {1};
            H5Sselect_hyperslab(s, H5S_SELECT_SET, start, NULL, count, NULL);
            hid_t m = H5Screate_simple(1, count, NULL);
            H5Dwrite(d, mem_type, m, s, H5P_DEFAULT, value);
            H5Sclose(m);
        }
    }
    H5Sclose(s);
    H5Dclose(d);
}

static void set_int_attr(hid_t file, const char *name, int64_t value)
{
    if (H5Aexists(file, name) > 0) H5Adelete(file, name);
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(file, name, H5T_STD_I64LE, s, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) { H5Awrite(a, H5T_NATIVE_INT64, &value); H5Aclose(a); }
    H5Sclose(s);
}

static void set_bytes_attr(hid_t file, const char *name, hid_t file_type, hid_t mem_type, const void *value)
{
    if (H5Aexists(file, name) > 0) H5Adelete(file, name);
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(file, name, file_type, s, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) { H5Awrite(a, mem_type, value); H5Aclose(a); }
    H5Sclose(s);
}

/* Change the first dimension of a (chunked, growable) dataset to a bounded new length. */
static void set_rows(hid_t file, const char *path, uint64_t v)
{
    hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
    if (d < 0) return;
    hid_t s = H5Dget_space(d);
    int nd = H5Sget_simple_extent_ndims(s);
    hsize_t dims[8] = {0};
    if (nd >= 1 && nd <= 8) {
        H5Sget_simple_extent_dims(s, dims, NULL);
        dims[0] = v % (2 * dims[0] + 8);
        H5Dset_extent(d, dims);
    }
    H5Sclose(s);
    H5Dclose(d);
}

/* Replace a dataset by one of another type and/or rank (same number of rows, zero filled). */
static void retype(hid_t file, const char *path, uint64_t v)
{
    hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
    if (d < 0) return;
    hid_t s = H5Dget_space(d);
    int nd = H5Sget_simple_extent_ndims(s);
    hsize_t dims[8] = {0};
    if (nd >= 1 && nd <= 4) H5Sget_simple_extent_dims(s, dims, NULL);
    H5Sclose(s);
    H5Dclose(d);
    if (nd < 1 || nd > 4) return;
    int rank = 1 + (int)((v >> 3) % 4);
    for (int i = nd; i < rank; i++) dims[i] = 1 + (v >> (8 + i)) % 4;
    hid_t types[8] = {H5T_STD_I8LE, H5T_STD_U8LE, H5T_STD_I32LE, H5T_STD_I64LE, H5T_IEEE_F32LE, H5T_IEEE_F64LE, 0, 0};
    hid_t t;
    if ((v & 7) >= 6) { t = H5Tcopy(H5T_C_S1); H5Tset_size(t, (v & 7) == 6 ? 1 : 8); }
    else t = H5Tcopy(types[v & 7]);
    H5Ldelete(file, path, H5P_DEFAULT);
    hid_t ns = H5Screate_simple(rank, dims, NULL);
    hid_t nd_id = H5Dcreate2(file, path, t, ns, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (nd_id >= 0) H5Dclose(nd_id);
    H5Sclose(ns);
    H5Tclose(t);
}

/* Apply the input's lies, 10 bytes each: op, target, 8-byte little-endian value. */
static void apply_lies(hid_t file, const uint8_t *data, size_t size)
{
    for (size_t at = 0; at + 10 <= size && at < 10 * 24; at += 10) {
        uint8_t op = data[at], target = data[at + 1];
        int64_t v = value_at(data + at + 2);
        uint64_t u = (uint64_t)v;
        int32_t v32 = (int32_t)v;
        uint8_t v8 = (uint8_t)v;
        double vd;
        memcpy(&vd, &v, sizeof vd);
        switch (op % 14) {
        case 0: poke(file, PD_DS_LENGTH, H5T_NATIVE_INT32, target, &v32); break;
        case 1: poke(file, PD_DS_RESIDUE_OFFSET, H5T_NATIVE_INT64, target, &v); break;
        case 2: poke(file, PD_DS_DISTOGRAM_OFFSET, H5T_NATIVE_INT64, target, &v); break;
        case 3: poke(file, PD_DS_SPLIT, H5T_NATIVE_UINT8, target, &v8); break;
        case 4: set_int_attr(file, "version", v); break;
        case 5: set_int_attr(file, "voxel_size", v); break;
        case 6: set_int_attr(file, PD_DATASET_COMPLETE_ATTR, v); break;
        case 7: set_rows(file, dataset_paths[target % N_PATHS], u); break;
        case 8: retype(file, dataset_paths[target % N_PATHS], u); break;
        case 9:
            if (target & 1) H5Ldelete(file, dataset_paths[target / 2 % N_PATHS], H5P_DEFAULT);
            else H5Adelete(file, root_attrs[target / 2 % N_ATTRS]);
            break;
        case 10: { /* a residue value out of its range: aa, chain, mask or resnum */
            const char *paths[4] = {PD_DS_AA, PD_DS_CHAIN, PD_DS_MASK, PD_DS_RESNUM};
            if (target % 4 == 3) poke(file, paths[3], H5T_NATIVE_INT32, u >> 8, &v32);
            else poke(file, paths[target % 4], H5T_NATIVE_UINT8, u >> 8, &v8);
            break;
        }
        case 11: set_bytes_attr(file, target & 1 ? "voxel_cell" : "distogram_dmax", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &vd); break;
        case 12: { /* a root attribute of the wrong type: a string where a number belongs or back */
            char text[9];
            memcpy(text, data + at + 2, 8);
            text[8] = '\0';
            hid_t t = H5Tcopy(H5T_C_S1);
            H5Tset_size(t, 9);
            set_bytes_attr(file, root_attrs[target % N_ATTRS], t, t, text);
            H5Tclose(t);
            break;
        }
        default: { /* an entry name or source with any bytes (slashes, dots, nothing) */
            hid_t d = H5Dopen2(file, target & 1 ? PD_DS_SOURCE : PD_DS_NAME, H5P_DEFAULT);
            if (d < 0) break;
            hid_t t = H5Dget_type(d);
            size_t w = H5Tget_size(t);
            H5Dclose(d);
            char *text = calloc(w + 1, 1);
            if (text) {
                memcpy(text, data + at + 2, w < 8 ? w : 8);
                poke(file, target & 1 ? PD_DS_SOURCE : PD_DS_NAME, t, target >> 1, text);
            }
            free(text);
            H5Tclose(t);
            break;
        }
        }
        H5Eclear2(H5E_DEFAULT);
    }
}

/* Read everything a command or the training engine could read; check what the reader promises. */
static void read_everything(pd_dataset *ds, const uint8_t *data, size_t size)
{
    int64_t n = pd_dataset_n_entries(ds), R = pd_dataset_n_residues(ds);
    int V = pd_dataset_voxel_size(ds);
    if (n < 0 || R < 0 || V < 1 || V > 64) abort();
    for (int64_t i = 0; i < n; i++) {
        pd_entry_info info;
        if (pd_dataset_entry_info(ds, i, &info) != PD_OK) abort();
        if (info.length < 1 || info.residue_offset < 0 || info.residue_offset + info.length > R || info.split > 2) abort();
        (void)strlen(info.name);
        (void)strlen(info.source);
        pd_entry e;
        if (pd_dataset_read_entry(ds, i, &e) == PD_OK) {
            for (int r = 0; r < e.length; r++)
                if (e.aa[r] > 20) abort();
            pd_entry_free(&e);
        }
        uint8_t *aa = malloc((size_t)info.length), *chain = malloc((size_t)info.length);
        if (aa && chain && pd_dataset_read_sequence(ds, i, aa, chain) == PD_OK)
            for (int r = 0; r < info.length; r++)
                if (aa[r] > 20) abort();
        free(aa);
        free(chain);
    }
    for (int64_t i = 0; i < pd_dataset_n_failures(ds); i++) {
        const char *src, *reason;
        if (pd_dataset_failure(ds, i, &src, &reason) != PD_OK) abort();
        (void)strlen(src);
        (void)strlen(reason);
    }
    /* Voxel rows asked for by the caller: any first row, up to 4 rows. */
    if (size >= 9) {
        int64_t first = value_at(data + size - 9);
        int64_t count = data[size - 1] % 5;
        uint16_t *out = malloc((size_t)4 * V * V * V * sizeof(uint16_t));
        if (out) (void)pd_dataset_read_voxels(ds, first, count, out);
        free(out);
    }
    pd_entry_info info;
    if (pd_dataset_entry_info(ds, -1, &info) == PD_OK || pd_dataset_entry_info(ds, n, &info) == PD_OK) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!base) load_base();
    FILE *f = fopen(work_path, "wb");
    if (!f || fwrite(base, 1, base_size, f) != base_size) abort();
    fclose(f);
    hid_t file = H5Fopen(work_path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (file < 0) abort();
    apply_lies(file, data, size);
    H5Fclose(file);
    H5Eclear2(H5E_DEFAULT);

    pd_dataset *ds = NULL;
    pd_status st = pd_dataset_open(&ds, work_path, MPI_COMM_NULL);
    if (st == PD_OK) {
        read_everything(ds, data, size);
        pd_dataset_close(ds);
    } else if (ds || !strstr(pd_last_error(), work_path)) {
        /* A refusal must leave nothing open and name the file. */
        fprintf(stderr, "refusal without the file name or with a dataset: %s\n", pd_last_error());
        abort();
    }
    pd_clear_error();
    unlink(work_path);
    return 0;
}
