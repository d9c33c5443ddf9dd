/* test_sampler.c — the global batch sampler on the residue counts of the real structures in
 * ../shared/data/pdb (MANIFEST.tsv, std_aa per file): budgets respected, every entry once per
 * epoch, the union of the ranks' slices equal to the batch an independent 1-rank sampler
 * draws (here on real ranks and for other rank counts in-process), balanced slices, and a
 * resume from saved state that continues identically. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "parallel/comm.h"
#include "parallel/sampler.h"
#include "test.h"

static int rank, size;

/* std_aa=N of every line of the manifest. */
static int read_lengths(const char *path, int32_t **out)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[8192];
    int n = 0, cap = 0;
    int32_t *len = NULL;
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "std_aa=");
        if (!p) continue;
        int v = atoi(p + 7);
        if (v < 1) continue;
        if (n == cap) len = realloc(len, (cap = cap ? 2 * cap : 256) * sizeof *len);
        len[n++] = v;
    }
    fclose(f);
    *out = len;
    return n;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int same_batch(const pd_batch *a, const pd_batch *b)
{
    return a->n == b->n && a->residues == b->residues && a->epoch == b->epoch && a->step == b->step &&
           (a->n == 0 || !memcmp(a->entries, b->entries, (size_t)a->n * sizeof *a->entries));
}

/* Budget, epoch coverage and maximality over many steps. */
static void test_batches(const int32_t *len, int n, int64_t budget)
{
    pd_sampler s;
    CHECK(pd_sampler_init(&s, len, n, 42, budget, 1) == PD_OK);
    int *seen = calloc((size_t)n, sizeof *seen);
    pd_batch b = {0}, next = {0};
    CHECK(pd_sampler_next(&s, &b) == PD_OK);
    int epochs_done = 0, oversize = 0;
    for (int step = 0; step < 400; step++) {
        CHECK(b.step == step);
        CHECK(b.n >= 1);
        if (b.oversize) {
            oversize++;
            CHECK(b.n == 1 && b.residues > budget);
        } else {
            CHECK_MSG(b.residues <= budget, "step %d: %lld residues > %lld", step, (long long)b.residues, (long long)budget);
        }
        int64_t sum = 0;
        for (int64_t i = 0; i < b.n; i++) {
            seen[b.entries[i]]++;
            sum += len[b.entries[i]];
        }
        CHECK(sum == b.residues);
        CHECK(pd_sampler_next(&s, &next) == PD_OK);
        /* Greedy: within an epoch the next batch's first entry did not fit. */
        if (!b.last_in_epoch) {
            CHECK(next.epoch == b.epoch);
            CHECK(b.oversize || b.residues + len[next.entries[0]] > budget);
        } else {
            CHECK(next.epoch == b.epoch + 1);
            int all_once = 1;
            for (int i = 0; i < n; i++) all_once &= seen[i] == 1;
            CHECK_MSG(all_once, "epoch %lld did not visit every entry exactly once", (long long)b.epoch);
            memset(seen, 0, (size_t)n * sizeof *seen);
            epochs_done++;
        }
        pd_batch t = b;
        b = next;
        next = t;
    }
    CHECK(epochs_done >= 2);
    if (budget < 2000) CHECK(oversize > 0); /* the manifest has structures above 2000 residues */
    /* Two epochs are different permutations. */
    pd_sampler_free(&s);
    pd_batch_free(&b);
    pd_batch_free(&next);
    free(seen);
}

/* Slices on `nranks` (computed here for each rank) are disjoint, cover the global batch and
 * are balanced: max load - min load <= the longest entry. */
static void check_split(const pd_batch *g, const int32_t *len, int nranks)
{
    int64_t *all = malloc((size_t)(g->n + 1) * sizeof *all), *ref = malloc((size_t)(g->n + 1) * sizeof *ref);
    int64_t got = 0, lo = INT64_MAX, hi = 0, longest = 0;
    for (int r = 0; r < nranks; r++) {
        pd_batch mine = {0};
        CHECK(pd_batch_split(g, len, nranks, r, &mine) == PD_OK);
        CHECK(mine.step == g->step && mine.epoch == g->epoch);
        for (int64_t i = 0; i < mine.n && got < g->n; i++) all[got++] = mine.entries[i];
        if (mine.residues < lo) lo = mine.residues;
        if (mine.residues > hi) hi = mine.residues;
        pd_batch_free(&mine);
    }
    for (int64_t i = 0; i < g->n; i++) {
        ref[i] = g->entries[i];
        if (len[ref[i]] > longest) longest = len[ref[i]];
    }
    CHECK(got == g->n);
    qsort(all, (size_t)got, sizeof *all, cmp_i64);
    qsort(ref, (size_t)g->n, sizeof *ref, cmp_i64);
    CHECK(got == g->n && !memcmp(all, ref, (size_t)got * sizeof *all));
    CHECK_MSG(hi - lo <= longest, "%d ranks: loads %lld..%lld, longest entry %lld", nranks, (long long)lo,
              (long long)hi, (long long)longest);
    free(all);
    free(ref);
}

/* On the real ranks: every rank draws, takes its slice, and rank 0 compares the union with
 * the batch of its own independent sampler. */
static void test_real_ranks(const int32_t *len, int n, int64_t budget)
{
    pd_sampler mine_s, ref_s;
    CHECK(pd_sampler_init(&mine_s, len, n, 2024, budget, 1) == PD_OK);
    CHECK(pd_sampler_init(&ref_s, len, n, 2024, budget, 1) == PD_OK);
    pd_batch g = {0}, ref = {0}, mine = {0};
    int *counts = malloc((size_t)size * sizeof *counts), *displs = malloc((size_t)size * sizeof *displs);
    int64_t *gathered = malloc(((size_t)n + 1) * sizeof *gathered);
    for (int step = 0; step < 150; step++) {
        CHECK(pd_sampler_next(&mine_s, &g) == PD_OK);
        CHECK(pd_batch_split(&g, len, size, rank, &mine) == PD_OK);
        int cnt = (int)mine.n;
        MPI_Allgather(&cnt, 1, MPI_INT, counts, 1, MPI_INT, MPI_COMM_WORLD);
        int total = 0;
        for (int r = 0; r < size; r++) {
            displs[r] = total;
            total += counts[r];
        }
        MPI_Allgatherv(mine.entries, cnt, MPI_INT64_T, gathered, counts, displs, MPI_INT64_T, MPI_COMM_WORLD);
        CHECK(pd_sampler_next(&ref_s, &ref) == PD_OK);
        qsort(gathered, (size_t)total, sizeof *gathered, cmp_i64);
        qsort(ref.entries, (size_t)ref.n, sizeof *ref.entries, cmp_i64);
        CHECK_MSG(total == ref.n && !memcmp(gathered, ref.entries, (size_t)total * sizeof *gathered),
                  "step %d: union of %d slices differs from the 1-rank batch", step, size);
        if (step < 60)
            for (int p = 1; p <= 8; p++) check_split(&g, len, p);
    }
    pd_batch_free(&g);
    pd_batch_free(&ref);
    pd_batch_free(&mine);
    pd_sampler_free(&mine_s);
    pd_sampler_free(&ref_s);
    free(counts);
    free(displs);
    free(gathered);
}

static void test_resume(const int32_t *len, int n, int64_t budget)
{
    pd_sampler a, b;
    CHECK(pd_sampler_init(&a, len, n, 99, budget, 1) == PD_OK);
    pd_batch x = {0}, y = {0};
    for (int i = 0; i < 37; i++) CHECK(pd_sampler_next(&a, &x) == PD_OK);
    pd_sampler_state saved = pd_sampler_get_state(&a);
    CHECK(saved.step == 37 && saved.seed == 99);
    /* A fresh sampler (as after a restart) continues identically, across epoch ends. */
    CHECK(pd_sampler_init(&b, len, n, 99, budget, 1) == PD_OK);
    CHECK(pd_sampler_set_state(&b, &saved) == PD_OK);
    int64_t epoch0 = saved.epoch, same = 1;
    for (int i = 0; i < 200; i++) {
        CHECK(pd_sampler_next(&a, &x) == PD_OK);
        CHECK(pd_sampler_next(&b, &y) == PD_OK);
        same &= same_batch(&x, &y);
    }
    CHECK(same);
    CHECK(x.epoch > epoch0);
    pd_sampler_free(&b);
    /* Wrong seed, other lengths, damaged state: refused with a message. */
    CHECK(pd_sampler_init(&b, len, n, 98, budget, 1) == PD_OK);
    CHECK(pd_sampler_set_state(&b, &saved) == PD_ERR_CONFIG && strstr(pd_last_error(), "train.seed"));
    pd_sampler_free(&b);
    CHECK(pd_sampler_init(&b, len, n - 1, 99, budget, 1) == PD_OK);
    CHECK(pd_sampler_set_state(&b, &saved) == PD_ERR_CONFIG && strstr(pd_last_error(), "different split"));
    pd_sampler_free(&b);
    CHECK(pd_sampler_init(&b, len, n, 99, budget, 1) == PD_OK);
    pd_sampler_state bad = saved;
    bad.position = n + 5;
    CHECK(pd_sampler_set_state(&b, &bad) == PD_ERR_FORMAT);
    pd_sampler_free(&b);
    pd_sampler_free(&a);
    pd_batch_free(&x);
    pd_batch_free(&y);
}

static void test_unshuffled_and_seeds(const int32_t *len, int n)
{
    /* shuffle = 0 (validation): consecutive entries in split order, one pass per epoch. */
    pd_sampler s;
    CHECK(pd_sampler_init(&s, len, n, 1, 3000, 0) == PD_OK);
    pd_batch b = {0};
    int64_t next = 0;
    do {
        CHECK(pd_sampler_next(&s, &b) == PD_OK);
        for (int64_t i = 0; i < b.n; i++) CHECK(b.entries[i] == next++);
    } while (!b.last_in_epoch);
    CHECK(next == n);
    pd_sampler_free(&s);
    /* Different seeds, different first batches; the same seed, the same. */
    pd_sampler s1, s2, s3;
    pd_batch b1 = {0}, b2 = {0}, b3 = {0};
    CHECK(pd_sampler_init(&s1, len, n, 5, 3000, 1) == PD_OK);
    CHECK(pd_sampler_init(&s2, len, n, 5, 3000, 1) == PD_OK);
    CHECK(pd_sampler_init(&s3, len, n, 6, 3000, 1) == PD_OK);
    pd_sampler_next(&s1, &b1);
    pd_sampler_next(&s2, &b2);
    pd_sampler_next(&s3, &b3);
    CHECK(same_batch(&b1, &b2));
    CHECK(!same_batch(&b1, &b3));
    pd_sampler_free(&s1);
    pd_sampler_free(&s2);
    pd_sampler_free(&s3);
    pd_batch_free(&b);
    pd_batch_free(&b1);
    pd_batch_free(&b2);
    pd_batch_free(&b3);
    int32_t zero[2] = {5, 0};
    CHECK(pd_sampler_init(&s, zero, 2, 1, 10, 1) == PD_ERR_FORMAT);
    CHECK(pd_sampler_init(&s, len, 0, 1, 10, 1) == PD_ERR_CONFIG);
    /* More ranks than entries: some ranks get an empty slice, the union is still the batch. */
    pd_batch one = {0}, mine = {0};
    int64_t e = 3;
    one.entries = &e;
    one.n = 1;
    one.residues = len[3];
    CHECK(pd_batch_split(&one, len, 4, 0, &mine) == PD_OK && mine.n == 1);
    CHECK(pd_batch_split(&one, len, 4, 3, &mine) == PD_OK && mine.n == 0 && mine.residues == 0);
    pd_batch_free(&mine);
}

int main(int argc, char **argv)
{
    if (pd_mpi_init(&argc, &argv) != PD_OK) return 1;
    rank = pd_world_rank();
    size = pd_world_size();
    pd_log_init(rank, size, 0);
    const char *manifest = argc > 1 ? argv[1] : "../shared/data/pdb/MANIFEST.tsv";
    int32_t *len = NULL;
    int n = read_lengths(manifest, &len);
    if (n < 50) {
        if (rank == 0) printf("SKIP: no residue counts in %s\n", manifest);
        pd_mpi_finalize();
        return 77;
    }
    if (rank == 0) printf("test_sampler: %d entries from %s\n", n, manifest);
    test_batches(len, n, 4096);
    test_batches(len, n, 1500);
    test_real_ranks(len, n, 4096);
    test_real_ranks(len, n, 1200);
    test_resume(len, n, 3000);
    test_unshuffled_and_seeds(len, n);
    free(len);
    int rc = pd_test_finish("test_sampler");
    pd_mpi_finalize();
    return rc;
}
