/* test_split.c — the SPEC.md section 6 split: FNV-1a-64 against published test vectors, the
 * exact [0, 1) mapping, fractions over many names, and the split-file reader's errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/rng.h"
#include "features/split.h"
#include "test.h"

static void test_hash_mapping(void)
{
    /* FNV-1a-64 test vectors (Fowler/Noll/Vo reference): "" and "a". */
    CHECK(pd_fnv1a64("", 0) == 0xcbf29ce484222325ULL);
    CHECK(pd_fnv1a64("a", 1) == 0xaf63dc4c8601ec8cULL);
    CHECK(pd_split_unit("a") == (double)(0xaf63dc4c8601ec8cULL >> 11) / 9007199254740992.0);
    CHECK(pd_split_unit("a") > 0.68 && pd_split_unit("a") < 0.69); /* 0xaf63.../2^64 = 0.6851 */
    /* u("a") = 0.685: train below 0.9, valid when train ends before it, test when only test is above. */
    CHECK(pd_split_by_hash("a", 0.05, 0.05) == PD_SPLIT_TRAIN);
    CHECK(pd_split_by_hash("a", 0.30, 0.05) == PD_SPLIT_VALID);   /* train = 0.65 <= u < 0.95 */
    CHECK(pd_split_by_hash("a", 0.0, 0.40) == PD_SPLIT_TEST);     /* train = 0.60 */
    CHECK(pd_split_by_hash("a", 0.0, 0.0) == PD_SPLIT_TRAIN);
    CHECK(pd_split_by_hash("a", 1.0, 0.0) == PD_SPLIT_VALID);

    int counts[3] = {0, 0, 0};
    char name[64];
    for (int i = 0; i < 20000; i++) {
        snprintf(name, sizeof name, "%04dX_%c", i, 'A' + i % 7);
        counts[pd_split_by_hash(name, 0.05, 0.05)]++;
    }
    CHECK_MSG(counts[1] > 800 && counts[1] < 1200, "valid %d of 20000", counts[1]);
    CHECK_MSG(counts[2] > 800 && counts[2] < 1200, "test %d of 20000", counts[2]);
}

static const char *write_temp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/pd_split_test_XXXXXX");
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_split_file(void)
{
    pd_split_table t;
    const char *p = write_temp("# explicit split\n1crn_A train\n\n  2abc_B   test  # comment\n1crn_A train\n9xyz_C valid\n");
    CHECK(pd_split_table_load(p, &t) == PD_OK);
    CHECK(t.n == 3);
    CHECK(pd_split_table_find(&t, "1crn_A") == PD_SPLIT_TRAIN);
    CHECK(pd_split_table_find(&t, "2abc_B") == PD_SPLIT_TEST);
    CHECK(pd_split_table_find(&t, "9xyz_C") == PD_SPLIT_VALID);
    CHECK(pd_split_table_find(&t, "nope") == -1);
    CHECK(pd_split_assign(&t, "2abc_B", 0.05, 0.05) == PD_SPLIT_TEST);
    CHECK(pd_split_assign(&t, "a", 0.30, 0.05) == PD_SPLIT_VALID); /* unlisted: hash */
    pd_split_table_free(&t);
    unlink(p);

    p = write_temp("1crn_A train\n1crn_A test\n");
    CHECK(pd_split_table_load(p, &t) == PD_ERR_PARSE);
    CHECK_MSG(strstr(pd_last_error(), ":2:") && strstr(pd_last_error(), "line 1"), "%s", pd_last_error());
    unlink(p);

    p = write_temp("1crn_A train\n2abc_B training\n");
    CHECK(pd_split_table_load(p, &t) == PD_ERR_PARSE);
    CHECK_MSG(strstr(pd_last_error(), ":2:") && strstr(pd_last_error(), "training"), "%s", pd_last_error());
    unlink(p);

    CHECK(pd_split_table_load("/nonexistent/split.txt", &t) == PD_ERR_IO);
}

int main(void)
{
    test_hash_mapping();
    test_split_file();
    return pd_test_finish("test_split");
}
