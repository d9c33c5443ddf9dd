/* dump_target.c — prints what `design` reads from a structure file (pd_design_target_read, the
 * design input): chains, then per residue its selector label, file amino acid and the N, CA, C,
 * O coordinates, then the number of heavy atoms the reader found. The shell tests compare the
 * dumps of twin files (tests/data/design-input) and read back --pdb-out files with it.
 *   dump_target FILE [--chains A,B] [--no-coords] [--atoms] */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "design/selection.h"
#include "design/target.h"
#include "structure/residues.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: dump_target FILE [--chains A,B] [--no-coords] [--atoms]\n");
        return 2;
    }
    pd_design_target_opts o = {0};
    int coords = 1, atoms = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--chains") && i + 1 < argc) o.chains = argv[++i];
        else if (!strcmp(argv[i], "--no-coords")) coords = 0;
        else if (!strcmp(argv[i], "--atoms")) atoms = 1;
    }
    pd_design_target t;
    if (pd_design_target_read(argv[1], &o, &t) != PD_OK) {
        fprintf(stderr, "dump_target: %s: %s\n", argv[1], pd_last_error());
        return 1;
    }
    printf("chains");
    for (int c = 0; c < t.n_chains; c++) printf(" %s:%d", t.chain_ids[c], t.chain_len[c]);
    printf("\n");
    for (int64_t i = 0; i < t.length; i++) {
        char label[64];
        pd_residue_label(&t, i, label, sizeof label);
        printf("%s %c", label, pd_aa_letters[t.native[i] <= 20 ? t.native[i] : 20]);
        const float *x = t.atom14 + i * PD_SLOTS * 3;
        for (int s = 0; coords && s < 4; s++) {
            if (isfinite(x[s * 3])) printf(" %.3f,%.3f,%.3f", x[s * 3], x[s * 3 + 1], x[s * 3 + 2]);
            else printf(" -");
        }
        if (atoms) {
            int n = 0;
            for (int s = 0; s < PD_SLOTS; s++) n += isfinite(x[s * 3]) != 0;
            printf(" atoms=%d", n);
        }
        printf("\n");
    }
    pd_design_target_free(&t);
    return 0;
}
