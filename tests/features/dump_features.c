/* dump_features.c — test helper: featurizes structure files with pd_featurize_file and prints
 * one line per entry and per failure; with --out it also writes every array raw, so the
 * independent numpy reference (tests/reference/features_ref.py) can compare values.
 * Usage: dump_features [--unit chain|assembly] [--min-len N] [--max-len N] [--voxel-size V]
 *                      [--cell A] [--out FILE] PATH...
 * --out layout: "PDFEATS1\n", then per entry a line "ENTRY <name> <L> <V>\n" followed by
 * aa u8[L], chain u8[L], resnum i32[L], icode u8[L], mask u8[L], atom14 f32[L*14*3],
 * cb f32[L*3], distogram u8[L*L*3], voxels u16[L*V^3] (native little-endian). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/featurize.h"

static int write_entry(FILE *f, const pd_entry *e)
{
    size_t L = (size_t)e->length, V = (size_t)e->voxel_size;
    fprintf(f, "ENTRY %s %d %d\n", e->name, e->length, e->voxel_size);
    int ok = fwrite(e->aa, 1, L, f) == L && fwrite(e->chain, 1, L, f) == L &&
             fwrite(e->resnum, 4, L, f) == L && fwrite(e->icode, 1, L, f) == L &&
             fwrite(e->mask, 1, L, f) == L && fwrite(e->atom14, 4, L * 42, f) == L * 42 &&
             fwrite(e->cb, 4, L * 3, f) == L * 3 && fwrite(e->distogram, 1, L * L * 3, f) == L * L * 3 &&
             fwrite(e->voxels, 2, L * V * V * V, f) == L * V * V * V;
    return ok;
}

int main(int argc, char **argv)
{
    pd_featurize_opts opts;
    pd_featurize_opts_default(&opts);
    const char *out_path = NULL;
    int first = 1;
    for (; first < argc && strncmp(argv[first], "--", 2) == 0; first += 2) {
        if (first + 1 >= argc) {
            fprintf(stderr, "dump_features: %s needs a value\n", argv[first]);
            return 2;
        }
        const char *opt = argv[first], *val = argv[first + 1];
        if (strcmp(opt, "--unit") == 0) opts.unit = strcmp(val, "assembly") == 0 ? PD_UNIT_ASSEMBLY : PD_UNIT_CHAIN;
        else if (strcmp(opt, "--min-len") == 0) opts.min_len = atoi(val);
        else if (strcmp(opt, "--max-len") == 0) opts.max_len = atoi(val);
        else if (strcmp(opt, "--voxel-size") == 0) opts.voxel_size = atoi(val);
        else if (strcmp(opt, "--cell") == 0) opts.voxel_cell = (float)atof(val);
        else if (strcmp(opt, "--out") == 0) out_path = val;
        else {
            fprintf(stderr, "dump_features: unknown option %s\n", opt);
            return 2;
        }
    }
    FILE *out = NULL;
    if (out_path) {
        out = fopen(out_path, "wb");
        if (!out) {
            perror(out_path);
            return 1;
        }
        fputs("PDFEATS1\n", out);
    }
    pd_entry_list entries = {0};
    pd_failure_list failures = {0};
    int rc = 0;
    for (int a = first; a < argc; a++) {
        pd_status st = pd_featurize_file(argv[a], &opts, &entries, &failures);
        if (st != PD_OK) {
            fprintf(stderr, "dump_features: fatal on %s: %s\n", argv[a], pd_last_error());
            rc = 1;
            break;
        }
        for (int i = 0; i < entries.n; i++) {
            const pd_entry *e = &entries.items[i];
            int valid = 0;
            for (int r = 0; r < e->length; r++)
                valid += e->mask[r] & PD_MASK_BACKBONE;
            printf("entry %s length=%d valid=%d\n", e->name, e->length, valid);
            if (out && !write_entry(out, e)) {
                perror(out_path);
                rc = 1;
            }
        }
        for (int i = 0; i < failures.n; i++)
            printf("failure %s: %s\n", failures.items[i].source, failures.items[i].reason);
        pd_entry_list_clear(&entries);
        pd_failure_list_clear(&failures);
    }
    free(entries.items);
    free(failures.items);
    if (out && fclose(out) != 0)
        rc = 1;
    return rc;
}
