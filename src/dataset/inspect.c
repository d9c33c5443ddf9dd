/* inspect.c — `proteindiff inspect` as a library call; see inspect.h. */
#include "dataset/inspect.h"

#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dataset/export.h"
#include "dataset/h5util.h"
#include "dataset/reader.h"
#include "dataset/reasons.h"
#include "dataset/schema.h"

#define MAX_BINS 64

static pd_status inspect_dataset(const char *path, FILE *out)
{
    pd_dataset *ds = NULL;
    PD_TRY(pd_dataset_open(&ds, path, MPI_COMM_NULL));
    int64_t n = pd_dataset_n_entries(ds), R = pd_dataset_n_residues(ds);
    struct stat sb;
    long long disk = stat(path, &sb) == 0 ? (long long)sb.st_size : 0;
    fprintf(out, "file        %s (%.1f MB)\n", path, disk / 1e6);
    fprintf(out, "format      %s version %d, complete\n", PD_DATASET_FORMAT, PD_DATASET_VERSION);
    fprintf(out, "created_by  %s\n", pd_dataset_created_by(ds));
    fprintf(out, "voxels      %d^3 cells of %.3g A (float16)\n", pd_dataset_voxel_size(ds), pd_dataset_voxel_cell(ds));
    fprintf(out, "distograms  dmax %.3g A, %lld bytes\n", pd_dataset_distogram_dmax(ds), (long long)pd_dataset_distogram_bytes(ds));

    int64_t splits[3] = {0}, bins[MAX_BINS] = {0};
    int bin_lo[MAX_BINS], bin_hi[MAX_BINS], n_bins = 0;
    int32_t min_len = 0, max_len = 0;
    for (int64_t i = 0; i < n; i++) {
        pd_entry_info info;
        pd_dataset_entry_info(ds, i, &info);
        splits[info.split]++;
        if (i == 0 || info.length < min_len) min_len = info.length;
        if (i == 0 || info.length > max_len) max_len = info.length;
        int lo, hi, b;
        pd_length_bin(info.length, &lo, &hi);
        for (b = 0; b < n_bins && bin_lo[b] != lo; b++) {}
        if (b == n_bins && n_bins < MAX_BINS) { bin_lo[b] = lo; bin_hi[b] = hi; n_bins++; }
        if (b < n_bins) bins[b]++;
    }
    fprintf(out, "entries     %lld (length %d..%d, mean %.1f)\n", (long long)n, min_len, max_len, n ? (double)R / n : 0.0);
    fprintf(out, "residues    %lld (%.0f bytes/residue on disk)\n", (long long)R, R ? (double)disk / R : 0.0);
    fprintf(out, "splits      train %lld, valid %lld, test %lld\n", (long long)splits[0], (long long)splits[1], (long long)splits[2]);

    /* Bins in increasing order (they were met in entry order). */
    for (int a = 1; a < n_bins; a++)
        for (int b = a; b > 0 && bin_lo[b] < bin_lo[b - 1]; b--) {
            int t = bin_lo[b]; bin_lo[b] = bin_lo[b - 1]; bin_lo[b - 1] = t;
            t = bin_hi[b]; bin_hi[b] = bin_hi[b - 1]; bin_hi[b - 1] = t;
            int64_t c = bins[b]; bins[b] = bins[b - 1]; bins[b - 1] = c;
        }
    int64_t most = 1;
    for (int b = 0; b < n_bins; b++) if (bins[b] > most) most = bins[b];
    fprintf(out, "lengths     entries per export bin:\n");
    for (int b = 0; b < n_bins; b++) {
        char name[64], bar[41];
        snprintf(name, sizeof name, "bin_%d_%d", bin_lo[b], bin_hi[b]);
        int w = (int)(40 * bins[b] / most);
        memset(bar, '#', (size_t)w);
        bar[w] = '\0';
        fprintf(out, "  %-14s %7lld  %s\n", name, (long long)bins[b], bar);
    }

    int64_t nf = pd_dataset_n_failures(ds);
    fprintf(out, "failures    %lld skipped inputs/chains\n", (long long)nf);
    if (nf > 0) {
        pd_reason_tally tally = {0};
        for (int64_t i = 0; i < nf; i++) {
            const char *src, *reason;
            if (pd_dataset_failure(ds, i, &src, &reason) == PD_OK) pd_reason_tally_add(&tally, reason);
        }
        pd_reason_tally_sort(&tally);
        for (int i = 0; i < tally.n && i < 10; i++) fprintf(out, "  %7ld  %s\n", tally.counts[i], tally.kinds[i]);
        if (tally.n > 10) fprintf(out, "  ... %d more kinds\n", tally.n - 10);
        pd_reason_tally_free(&tally);
    }
    const char *cfg = pd_dataset_config_text(ds);
    int lines = 0;
    for (const char *c = cfg; *c; c++) lines += *c == '\n';
    fprintf(out, "config      %d lines of effective run file in the `config` attribute\n", lines);
    pd_dataset_close(ds);
    return PD_OK;
}

/* ------------------------------------------------------------------ other formats */

static herr_t list_object(hid_t obj, const char *name, const H5O_info_t *info, void *data)
{
    FILE *out = data;
    if (info->type != H5O_TYPE_DATASET) return 0;
    hid_t d = H5Dopen2(obj, name, H5P_DEFAULT);
    if (d < 0) return 0;
    hid_t s = H5Dget_space(d), t = H5Dget_type(d);
    hsize_t dims[16];
    int nd = H5Sget_simple_extent_ndims(s);
    if (nd > 16) nd = 16;
    if (nd > 0) H5Sget_simple_extent_dims(s, dims, NULL);
    const char *cls = "other";
    switch (H5Tget_class(t)) {
    case H5T_INTEGER: cls = H5Tget_sign(t) == H5T_SGN_NONE ? "uint" : "int"; break;
    case H5T_FLOAT: cls = "float"; break;
    case H5T_STRING: cls = "string"; break;
    default: break;
    }
    fprintf(out, "  /%-36s %s%zu [", name, cls, H5Tget_class(t) == H5T_STRING ? H5Tget_size(t) : 8 * H5Tget_size(t));
    for (int i = 0; i < nd; i++) fprintf(out, "%s%llu", i ? ", " : "", (unsigned long long)dims[i]);
    fprintf(out, "]\n");
    H5Tclose(t);
    H5Sclose(s);
    H5Dclose(d);
    return 0;
}

static herr_t list_attr(hid_t loc, const char *name, const H5A_info_t *ainfo, void *data)
{
    FILE *out = data;
    char *s = NULL;
    long long i;
    double f;
    if (pd_h5_attr_read_string(loc, name, &s) == PD_OK) {
        char *nl = strchr(s, '\n');
        if (nl) fprintf(out, "  %-14s (%zu bytes of text)\n", name, strlen(s));
        else fprintf(out, "  %-14s %s\n", name, s);
        free(s);
    } else if (pd_h5_attr_read_int(loc, name, &i) == PD_OK) {
        fprintf(out, "  %-14s %lld\n", name, i);
    } else if (pd_h5_attr_read_double(loc, name, &f) == PD_OK) {
        fprintf(out, "  %-14s %g\n", name, f);
    } else {
        fprintf(out, "  %-14s (not a scalar)\n", name);
    }
    pd_clear_error();
    return 0;
}

pd_status pd_inspect_file(const char *path, FILE *out)
{
    pd_h5_quiet();
    FILE *probe = fopen(path, "rb");
    if (!probe) return pd_fail(PD_ERR_IO, "cannot open '%s' (no such file or not readable)", path);
    fclose(probe);
    if (H5Fis_hdf5(path) <= 0) {
        /* The reader explains non-HDF5 files, including unfinished .partial ones. */
        pd_dataset *ds = NULL;
        pd_status st = pd_dataset_open(&ds, path, MPI_COMM_NULL);
        pd_dataset_close(ds);
        return st != PD_OK ? st : pd_fail(PD_ERR_FORMAT, "%s: not an HDF5 file", path);
    }
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return pd_h5_fail(PD_ERR_IO, "cannot open '%s'", path);
    char *format = NULL;
    pd_status st = pd_h5_attr_read_string(f, "format", &format);
    if (st != PD_OK) {
        H5Fclose(f);
        return pd_fail(PD_ERR_FORMAT, "%s: no `format` attribute: not a proteindiff file", path);
    }
    if (!strcmp(format, PD_DATASET_FORMAT)) {
        H5Fclose(f);
        free(format);
        return inspect_dataset(path, out);
    }
    fprintf(out, "file        %s\nformat      %s\nattributes:\n", path, format);
    free(format);
    hsize_t idx = 0;
    H5Aiterate2(f, H5_INDEX_NAME, H5_ITER_INC, &idx, list_attr, out);
    fprintf(out, "datasets:\n");
    H5Ovisit(f, H5_INDEX_NAME, H5_ITER_INC, list_object, out);
    H5Fclose(f);
    return PD_OK;
}
