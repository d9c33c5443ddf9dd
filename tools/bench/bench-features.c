/* bench_features.c — where featurization time goes, single process: structures/s and
 * residues/s for parsing, distograms and voxels over a folder of structures, and for the voxels
 * the achieved GFLOP/s against the arithmetic they need, compared with a tight register-only
 * loop of the same instruction mix (the machine's ceiling for that arithmetic).
 * Usage: bench-features [FOLDER] (default $PD_SHARED/data/pdb, else ../shared/data/pdb). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "core/timer.h"
#include "features/distogram.h"
#include "features/featurize.h"
#include "features/geometry.h"
#include "features/voxels.h"
#include "structure/structure.h"

/* Floating-point operations per atom-cell pair in pd_voxel_field: dz (sub), dz^2 (mul),
 * r^2 (add), sqrt, max(r, cell), r*m*m (2 mul), max(den, FLT_MIN), q/den (div), w*d (3 mul),
 * accumulate (3 add). sqrt and div count as one each. */
#define FLOPS_PER_PAIR 15

static int is_structure_name(const char *name)
{
    static const char *const ext[] = {".pdb", ".ent", ".cif", ".mmcif", ".pdb.gz", ".ent.gz", ".cif.gz", ".mmcif.gz"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t e = strlen(ext[i]);
        if (n > e && strcmp(name + n - e, ext[i]) == 0)
            return 1;
    }
    return 0;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **list_files(const char *dir, int *n_out)
{
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char **files = NULL;
    int n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!is_structure_name(de->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 512;
            files = realloc(files, (size_t)cap * sizeof *files);
        }
        size_t len = strlen(dir) + strlen(de->d_name) + 2;
        files[n] = malloc(len);
        snprintf(files[n], len, "%s/%s", dir, de->d_name);
        n++;
    }
    closedir(d);
    qsort(files, (size_t)n, sizeof *files, compare_strings);
    *n_out = n;
    return files;
}

#ifdef __x86_64__
/* The same per-pair operations with every operand in registers and eight independent chains:
 * no loads, stores, loop bookkeeping per cell or data dependence beyond the accumulators. */
__attribute__((target("avx"))) static double tight_pairs_per_second(long iters)
{
    __m256 z[8], sx[8], sy[8], sz[8];
    const __m256 cell = _mm256_set1_ps(0.75f), tiny = _mm256_set1_ps(1e-37f), step = _mm256_set1_ps(1e-7f);
    const __m256 dxy2 = _mm256_set1_ps(2.5f), q = _mm256_set1_ps(0.3f), dx = _mm256_set1_ps(1.1f),
                 dy = _mm256_set1_ps(-0.7f), az = _mm256_set1_ps(0.2f);
    for (int c = 0; c < 8; c++) {
        z[c] = _mm256_set_ps(0.1f * c, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f);
        sx[c] = sy[c] = sz[c] = _mm256_setzero_ps();
    }
    double t0 = pd_now();
    for (long it = 0; it < iters; it++) {
        for (int c = 0; c < 8; c++) {
            __m256 d = _mm256_sub_ps(z[c], az);
            __m256 r2 = _mm256_add_ps(dxy2, _mm256_mul_ps(d, d));
            __m256 r = _mm256_sqrt_ps(r2);
            __m256 m = _mm256_max_ps(r, cell);
            __m256 den = _mm256_max_ps(_mm256_mul_ps(_mm256_mul_ps(r, m), m), tiny);
            __m256 w = _mm256_div_ps(q, den);
            sx[c] = _mm256_add_ps(sx[c], _mm256_mul_ps(w, dx));
            sy[c] = _mm256_add_ps(sy[c], _mm256_mul_ps(w, dy));
            sz[c] = _mm256_add_ps(sz[c], _mm256_mul_ps(w, d));
            z[c] = _mm256_add_ps(z[c], step);
        }
    }
    double t = pd_now() - t0;
    float sink[8];
    __m256 total = _mm256_setzero_ps();
    for (int c = 0; c < 8; c++)
        total = _mm256_add_ps(total, _mm256_add_ps(sx[c], _mm256_add_ps(sy[c], sz[c])));
    _mm256_storeu_ps(sink, total);
    if (sink[0] == 12345.0f)
        printf("(unlikely)\n");
    return (double)iters * 64.0 / t;
}
#endif

int main(int argc, char **argv)
{
    char default_dir[4096];
    const char *shared = getenv("PD_SHARED");
    snprintf(default_dir, sizeof default_dir, "%s/data/pdb", shared ? shared : "../shared");
    const char *dir = argc > 1 ? argv[1] : default_dir;
    int n_files = 0;
    char **files = list_files(dir, &n_files);
    if (!files || n_files == 0) {
        fprintf(stderr, "bench-features: no structure files in %s (give a folder or set PD_SHARED)\n", dir);
        return 1;
    }

    /* 1. Parsing alone. */
    long parsed_residues = 0;
    double t0 = pd_now();
    for (int f = 0; f < n_files; f++) {
        pd_structure s;
        if (pd_structure_read(files[f], &s) == PD_OK)
            for (int c = 0; c < s.n_chains; c++)
                parsed_residues += s.chains[c].n;
        pd_structure_free(&s);
    }
    double parse_s = pd_now() - t0;

    /* 2. Whole featurization, with the per-phase clock inside pd_featurize_file. */
    pd_featurize_opts opts;
    pd_featurize_opts_default(&opts);
    pd_featurize_stats stats = {0};
    opts.stats = &stats;
    pd_entry_list entries = {0};
    pd_failure_list failures = {0};
    long pairs = 0, voxel_residues = 0;
    double field_only_s = 0.0;
    int V = opts.voxel_size;
    long cells = (long)V * V * V;
    float *ex = malloc((size_t)cells * 3 * sizeof(float));
    t0 = pd_now();
    for (int f = 0; f < n_files; f++) {
        if (pd_featurize_file(files[f], &opts, &entries, &failures) != PD_OK) {
            fprintf(stderr, "bench-features: fatal: %s\n", pd_last_error());
            return 1;
        }
        /* 3. The field kernel alone on the same residues, and the pair count. */
        const pd_charge_table *charges = pd_charges_builtin();
        for (int e = 0; e < entries.n; e++) {
            const pd_entry *en = &entries.items[e];
            for (int i = 0; i < en->length; i++) {
                if (!(en->mask[i] & PD_MASK_BACKBONE))
                    continue;
                voxel_residues++;
                int aa = en->aa[i], n = 0;
                const float *a = en->atom14 + (size_t)i * 42, *cb = en->cb + (size_t)i * 3;
                float frame[9], ax[14], ay[14], az[14], q[14];
                pd_residue_frame(a, a + 3, a + 6, cb, frame);
                for (int s = 0; aa < 20 && s < pd_atom14_count(aa); s++) {
                    if (isnan(a[s * 3]) || charges->q[aa][s] == 0.0f)
                        continue;
                    float d[3] = {a[s * 3] - cb[0], a[s * 3 + 1] - cb[1], a[s * 3 + 2] - cb[2]};
                    ax[n] = pd_dot3(frame, d);
                    ay[n] = pd_dot3(frame + 3, d);
                    az[n] = pd_dot3(frame + 6, d);
                    q[n++] = charges->q[aa][s];
                }
                pairs += (long)n * cells;
                double k0 = pd_now();
                pd_voxel_field(V, opts.voxel_cell, n, ax, ay, az, q, ex, ex + cells, ex + 2 * cells);
                field_only_s += pd_now() - k0;
            }
        }
        pd_entry_list_clear(&entries);
        pd_failure_list_clear(&failures);
    }
    double total_s = pd_now() - t0 - field_only_s;

    printf("bench-features: %d files in %s, single process, voxels V=%d cell=%.2f (%s field path)\n", n_files, dir, V,
           (double)opts.voxel_cell, pd_voxel_field_simd(V) ? "AVX" : "scalar");
    printf("  entries %ld, residues featurized %ld, failures recorded %ld\n", stats.entries, stats.residues,
           stats.failures);
    printf("  %-22s %8.3f s  %9.1f structures/s  %11.0f residues/s (protein residues read: %ld)\n", "parse only",
           parse_s, n_files / parse_s, parsed_residues / parse_s, parsed_residues);
    printf("  %-22s %8.3f s  %9.1f structures/s  %11.0f residues/s\n", "parse (in featurize)", stats.parse_s,
           n_files / stats.parse_s, stats.residues / stats.parse_s);
    printf("  %-22s %8.3f s  %9.1f structures/s  %11.0f residues/s\n", "distogram", stats.distogram_s,
           stats.entries / stats.distogram_s, stats.residues / stats.distogram_s);
    printf("  %-22s %8.3f s  %9.1f structures/s  %11.0f residues/s\n", "voxels", stats.voxels_s,
           stats.entries / stats.voxels_s, stats.residues / stats.voxels_s);
    printf("  %-22s %8.3f s  %9.1f structures/s  %11.0f residues/s\n", "featurize total", total_s,
           n_files / total_s, stats.residues / total_s);
    double gflop = (double)pairs * FLOPS_PER_PAIR / 1e9;
    printf("  voxel arithmetic: %ld atom-cell pairs x %d flops = %.2f GFLOP over %ld residues\n", pairs,
           FLOPS_PER_PAIR, gflop, voxel_residues);
    printf("  voxels (field + normalise + divergence + float16): %.2f GFLOP/s\n", gflop / stats.voxels_s);
    printf("  field kernel alone:                                %.2f GFLOP/s (%.3f s)\n", gflop / field_only_s,
           field_only_s);
#ifdef __x86_64__
    if (__builtin_cpu_supports("avx")) {
        double peak_pairs = tight_pairs_per_second(4000000);
        double ideal_s = (double)pairs / peak_pairs;
        printf("  tight register-only loop, same ops (AVX, no FMA):  %.2f GFLOP/s\n",
               peak_pairs * FLOPS_PER_PAIR / 1e9);
        printf("  voxel time / arithmetic time at that rate: %.2fx (field kernel alone: %.2fx)\n",
               stats.voxels_s / ideal_s, field_only_s / ideal_s);
    }
#endif
    for (int f = 0; f < n_files; f++)
        free(files[f]);
    free(files);
    free(ex);
    free(entries.items);
    free(failures.items);
    return 0;
}
