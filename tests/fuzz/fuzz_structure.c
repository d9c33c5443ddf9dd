/* fuzz_structure.c — libFuzzer target for the structure reader: any bytes, as a file (PDB,
 * mmCIF, gzip, garbage), go through pd_featurize_file exactly as featurize reads an input
 * (gemmi shim, masks, virtual CB, distogram, voxels) and must give entries or a recorded
 * reason, never a crash, a leak, undefined behaviour or a non-finite value in a valid residue. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "features/featurize.h"

/* The input lives in an anonymous in-memory file (memfd), reopened by path like any input. */
static int memfd = -1;
static char memfd_path[64];

static void check_entry(const pd_entry *e)
{
    int L = e->length;
    for (int i = 0; i < L; i++) {
        if (!(e->mask[i] & PD_MASK_BACKBONE)) continue;
        /* A valid residue has finite backbone and CB (every later stage relies on it). */
        for (int k = 0; k < 9; k++)
            if (!isfinite(e->atom14[(size_t)i * PD_ATOM14 * 3 + k])) abort();
        for (int k = 0; k < 3; k++)
            if (!isfinite(e->cb[(size_t)i * 3 + k])) abort();
    }
    /* Every voxel is a finite float16 (exponent bits not all ones). */
    size_t cells = (size_t)L * e->voxel_size * e->voxel_size * e->voxel_size;
    for (size_t c = 0; c < cells; c++)
        if ((e->voxels[c] & 0x7C00) == 0x7C00) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memfd < 0) {
        memfd = memfd_create("fuzz-structure", 0);
        if (memfd < 0) { perror("memfd_create"); abort(); }
        snprintf(memfd_path, sizeof memfd_path, "/proc/self/fd/%d", memfd);
    }
    if (ftruncate(memfd, 0) != 0 || pwrite(memfd, data, size, 0) != (ssize_t)size) { perror("memfd write"); abort(); }

    pd_featurize_opts opts;
    pd_featurize_opts_default(&opts);
    opts.min_len = 1;       /* featurize every chain the reader finds, however short */
    opts.max_len = 600;     /* bounds the L^2 distogram per input */
    opts.voxel_size = 4;    /* voxels still computed, cheaply */
    for (int unit = 0; unit < 2; unit++) {
        opts.unit = unit == 0 ? PD_UNIT_CHAIN : PD_UNIT_ASSEMBLY;
        pd_entry_list entries = {0};
        pd_failure_list failures = {0};
        pd_status st = pd_featurize_file(memfd_path, &opts, &entries, &failures);
        if (st != PD_OK && st != PD_ERR_NOMEM) {
            fprintf(stderr, "pd_featurize_file returned %d without recording a failure: %s\n", (int)st, pd_last_error());
            abort();
        }
        for (int i = 0; i < entries.n; i++) check_entry(&entries.items[i]);
        for (int i = 0; i < failures.n; i++)
            if (!failures.items[i].reason || !failures.items[i].reason[0]) abort();
        pd_entry_list_clear(&entries);
        pd_failure_list_clear(&failures);
        free(entries.items);
        free(failures.items);
        pd_clear_error();
    }
    return 0;
}
