/* test_inputs.c — input expansion (folders walked recursively with only structure files
 * taken, globs, list files relative to their folder, sorted and de-duplicated) and the
 * per-round longest-processing-time balance, against hand-worked expectations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset/inputs.h"
#include "parallel/comm.h"
#include "test.h"

static char root[] = "/tmp/pd_test_inputs.XXXXXX";

static void touch(const char *rel, int bytes)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    FILE *f = fopen(p, "w");
    for (int i = 0; i < bytes; i++) fputc('x', f);
    fclose(f);
}

static void sub(const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    mkdir(p, 0777);
}

static const char *rel(const pd_input_list *l, int i)
{
    return l->items[i].path + strlen(root) + 1;
}

int main(int argc, char **argv)
{
    pd_mpi_init(&argc, &argv);
    if (!mkdtemp(root)) { perror("mkdtemp"); return 1; }
    sub("set");
    sub("set/deep");
    sub("lists");
    touch("set/b.pdb", 100);
    touch("set/A.CIF", 10);
    touch("set/c.ent.gz", 20);
    touch("set/deep/d.mmcif.GZ", 5);
    touch("set/deep/e.cif", 7);
    touch("set/readme.md", 1);      /* not a structure: skipped inside folders */
    touch("set/f.pdb.bz2", 1);      /* not a supported compression */
    touch("set/.hidden.pdb", 1);    /* hidden */
    touch("other.xyz", 3);          /* named explicitly: taken */
    touch("lists/g.pdb", 4);
    char p[512];
    snprintf(p, sizeof p, "%s/lists/set.txt", root);
    FILE *f = fopen(p, "w");
    fprintf(f, "# a comment\n\ng.pdb\n../set/b.pdb\n  ../set/deep/*.cif  \n");
    fclose(f);

    CHECK(pd_input_is_structure_name("x.PDB") && pd_input_is_structure_name("x.cif.gz") && pd_input_is_structure_name("x.ent"));
    CHECK(!pd_input_is_structure_name("x.pdb.bz2") && !pd_input_is_structure_name("pdb") && !pd_input_is_structure_name("x.gz"));

    char folder[512], list[512], explicit[512];
    snprintf(folder, sizeof folder, "%s/set", root);
    snprintf(list, sizeof list, "%s/lists/set.txt", root);
    snprintf(explicit, sizeof explicit, "%s/other.xyz", root);
    char *patterns[] = {list, folder, explicit};
    pd_input_list l = {0};
    pd_status st = pd_inputs_expand(3, patterns, &l);
    CHECK_MSG(st == PD_OK, "%s", pd_last_error());
    /* Sorted by full path (strcmp: "lists/../set" sorts before "set"), duplicates kept apart
     * only when the paths differ as strings. */
    const char *want[] = {"lists/../set/b.pdb", "lists/../set/deep/e.cif", "lists/g.pdb", "other.xyz", "set/A.CIF",
                          "set/b.pdb", "set/c.ent.gz", "set/deep/d.mmcif.GZ", "set/deep/e.cif"};
    int nwant = (int)(sizeof want / sizeof want[0]);
    CHECK_MSG(l.n == nwant, "%d inputs, expected %d", l.n, nwant);
    for (int i = 0; i < l.n && i < nwant; i++) CHECK_MSG(!strcmp(rel(&l, i), want[i]), "input %d: %s vs %s", i, rel(&l, i), want[i]);
    for (int i = 0; i < l.n; i++) {
        if (!strcmp(rel(&l, i), "set/c.ent.gz")) CHECK(l.items[i].bytes == 20 && l.items[i].work == 20 * PD_GZIP_WORK_FACTOR);
        if (!strcmp(rel(&l, i), "set/b.pdb")) CHECK(l.items[i].bytes == 100 && l.items[i].work == 100);
    }
    /* The same folder twice is de-duplicated. */
    pd_input_list twice = {0};
    char *two[] = {folder, folder};
    CHECK(pd_inputs_expand(2, two, &twice) == PD_OK && twice.n == 5);
    pd_inputs_free(&twice);
    /* A pattern matching nothing is an error naming it. */
    pd_input_list none = {0};
    char missing[600];
    snprintf(missing, sizeof missing, "%s/nothing*.pdb", root);
    char *m[] = {missing};
    CHECK(pd_inputs_expand(1, m, &none) != PD_OK && strstr(pd_last_error(), "nothing*.pdb"));
    pd_inputs_free(&none);

    /* LPT by hand: works 10 9 8 7 6 5 on 2 ranks: 10->r0, 9->r1, 8->r1 (9<10), 7->r0 (10<17),
     * 6->r0 (17 = 17, lower rank), 5->r1 (22 < 23). */
    int64_t work[6] = {10, 9, 8, 7, 6, 5};
    int owner[6];
    pd_inputs_balance(work, 6, 2, owner);
    int want_owner[6] = {0, 1, 1, 0, 0, 1};
    for (int i = 0; i < 6; i++) CHECK_MSG(owner[i] == want_owner[i], "owner[%d] = %d, expected %d", i, owner[i], want_owner[i]);
    /* Unsorted input, 3 ranks: 1 50 2 40 3 -> 50->r0, 40->r1, 3->r2, 2->r2, 1->r2. */
    int64_t w2[5] = {1, 50, 2, 40, 3};
    int o2[5], want2[5] = {2, 0, 2, 1, 2};
    pd_inputs_balance(w2, 5, 3, o2);
    for (int i = 0; i < 5; i++) CHECK_MSG(o2[i] == want2[i], "o2[%d] = %d, expected %d", i, o2[i], want2[i]);

    /* Rounds of 2 files per rank on 2 ranks cut the sorted list in groups of 4, each balanced
     * on its own: every group gives each rank exactly... whatever LPT says for that group. */
    int *own = malloc(l.n * sizeof(int));
    pd_inputs_assign_rounds(&l, 2, 2, own);
    for (int first = 0; first < l.n; first += 4) {
        int n = l.n - first < 4 ? l.n - first : 4;
        int64_t ww[4];
        int oo[4];
        for (int i = 0; i < n; i++) ww[i] = l.items[first + i].work;
        pd_inputs_balance(ww, n, 2, oo);
        for (int i = 0; i < n; i++) CHECK(own[first + i] == oo[i]);
    }
    free(own);
    pd_inputs_free(&l);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    int code = pd_test_finish("test_inputs");
    pd_mpi_finalize();
    return code;
}
