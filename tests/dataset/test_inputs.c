/* test_inputs.c — input expansion (folders walked recursively with only structure files
 * taken, globs, list files relative to their folder, sorted and de-duplicated) and the
 * per-round contiguous partition by expected work, against hand-worked expectations and a
 * brute-force search over cuts. */
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

    /* Contiguous partition by hand: works 10 9 8 7 6 5 on 2 ranks. Cuts give max loads
     * 10|35, 19|26, 27|18, 34|11, 40|5: the best is 26, so 10 9 go to r0 and the rest to r1. */
    int64_t work[6] = {10, 9, 8, 7, 6, 5};
    int owner[6];
    pd_inputs_partition(work, 6, 2, owner);
    int want_owner[6] = {0, 0, 1, 1, 1, 1};
    for (int i = 0; i < 6; i++) CHECK_MSG(owner[i] == want_owner[i], "owner[%d] = %d, expected %d", i, owner[i], want_owner[i]);
    /* 3 ranks, 1 50 2 40 3: no run can be below the 50 item; filling up to 50 from the left
     * gives [1] [50] [2 40 3]. */
    int64_t w2[5] = {1, 50, 2, 40, 3};
    int o2[5], want2[5] = {0, 1, 2, 2, 2};
    pd_inputs_partition(w2, 5, 3, o2);
    for (int i = 0; i < 5; i++) CHECK_MSG(o2[i] == want2[i], "o2[%d] = %d, expected %d", i, o2[i], want2[i]);
    /* One heavy file: 1 1 1 1 100 1 1 1 on 2 ranks -> [1 1 1 1] [100 1 1 1] (max 103; cutting
     * after 100 would give 104). Empty files count 1; more ranks than files leaves ranks idle. */
    int64_t w3[8] = {1, 1, 1, 1, 100, 1, 1, 1};
    int o3[8], want3[8] = {0, 0, 0, 0, 1, 1, 1, 1};
    pd_inputs_partition(w3, 8, 2, o3);
    for (int i = 0; i < 8; i++) CHECK_MSG(o3[i] == want3[i], "o3[%d] = %d, expected %d", i, o3[i], want3[i]);
    int64_t w4[4] = {0, 0, 0, 0}, w5[2] = {5, 5};
    int o4[4], o5[2];
    pd_inputs_partition(w4, 4, 2, o4);
    CHECK(o4[0] == 0 && o4[1] == 0 && o4[2] == 1 && o4[3] == 1);
    pd_inputs_partition(w5, 2, 4, o5);
    CHECK(o5[0] == 0 && o5[1] == 1);
    /* Against brute force over every cut on 2 ranks, pseudo-random works: owners are
     * non-decreasing and the larger run is the smallest any cut achieves. */
    uint32_t seed = 12345;
    for (int trial = 0; trial < 200; trial++) {
        int n = 1 + trial % 17;
        int64_t w[17], sum = 0;
        int o[17];
        for (int i = 0; i < n; i++) {
            seed = seed * 1664525u + 1013904223u;
            w[i] = (seed >> 8) % 1000;
            sum += w[i] > 0 ? w[i] : 1;
        }
        pd_inputs_partition(w, n, 2, o);
        int64_t best = sum, left = 0, got[2] = {0, 0};
        for (int cut = 0; cut <= n; cut++) {
            int64_t worst = left > sum - left ? left : sum - left;
            if (worst < best) best = worst;
            if (cut < n) left += w[cut] > 0 ? w[cut] : 1;
        }
        int ordered = 1;
        for (int i = 0; i < n; i++) {
            got[o[i]] += w[i] > 0 ? w[i] : 1;
            if (i > 0 && o[i] < o[i - 1]) ordered = 0;
        }
        CHECK_MSG(ordered, "trial %d: owners not contiguous", trial);
        int64_t worst = got[0] > got[1] ? got[0] : got[1];
        CHECK_MSG(worst == best, "trial %d: largest run %lld, best cut gives %lld", trial, (long long)worst, (long long)best);
    }

    /* Rounds of 2 files per rank on 2 ranks cut the sorted list in groups of 4, each
     * partitioned on its own. */
    int *own = malloc(l.n * sizeof(int));
    pd_inputs_assign_rounds(&l, 2, 2, own);
    for (int first = 0; first < l.n; first += 4) {
        int n = l.n - first < 4 ? l.n - first : 4;
        int64_t ww[4];
        int oo[4];
        for (int i = 0; i < n; i++) ww[i] = l.items[first + i].work;
        pd_inputs_partition(ww, n, 2, oo);
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
