/* test_shard.c — flat-buffer sharding: padded layouts worked out by hand, owned slices that
 * partition every unit, and on real ranks gather(scatter(x)) = x, reduce-scatter + gather =
 * allreduce (fsdp per unit, zero in place, hsdp with the replica allreduce), ddp buckets, and
 * per-rank memory against the ZeRO formulas. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/rng.h"
#include "parallel/comm.h"
#include "parallel/shard.h"
#include "test.h"

static int rank, size;

static void test_layout_by_hand(void)
{
    /* Units 0, 1, 5, 8, 13 over P = 4: padded 0, 4, 8, 8, 16; slices 0, 1, 2, 2, 4. */
    const size_t len[] = {0, 1, 5, 8, 13};
    pd_shard_layout l;
    CHECK(pd_shard_layout_init(&l, 5, len, 4, 2) == PD_OK);
    const size_t padded[] = {0, 4, 8, 8, 16}, offset[] = {0, 0, 4, 12, 20}, slice[] = {0, 1, 2, 2, 4},
                 soff[] = {0, 0, 1, 3, 5}, doff[] = {0, 0, 1, 6, 14};
    for (int u = 0; u < 5; u++) {
        CHECK(l.units[u].padded == padded[u] && l.units[u].offset == offset[u]);
        CHECK(l.units[u].shard_len == slice[u] && l.units[u].shard_offset == soff[u]);
        CHECK(l.units[u].dense_offset == doff[u]);
    }
    CHECK(l.params == 27 && l.total == 36 && l.shard_total == 9 && l.max_padded == 16);
    /* Unit 2 (5 elements, slices of 2): ranks own [0,2) [2,4) [4,5) and nothing. */
    size_t b, e;
    pd_shard_owned(&l, 2, 0, &b, &e);
    CHECK(b == 0 && e == 2);
    pd_shard_owned(&l, 2, 1, &b, &e);
    CHECK(b == 2 && e == 4);
    pd_shard_owned(&l, 2, 2, &b, &e);
    CHECK(b == 4 && e == 5);
    pd_shard_owned(&l, 2, 3, &b, &e);
    CHECK(b == 5 && e == 5);
    float buf[36];
    CHECK(pd_shard_slot(&l, 4, buf) == buf + 20 + 2 * 4);
    pd_shard_layout_free(&l);
    CHECK(pd_shard_layout_init(&l, 1, len, 4, 4) != PD_OK); /* rank outside the group */
}

static void test_owned_partition(void)
{
    /* For random units and P, the owned ranges of all ranks tile [0, length) in order. */
    pd_rng r;
    pd_rng_init(&r, 7, 0, 0, PD_RNG_INIT);
    for (int trial = 0; trial < 200; trial++) {
        int n = 1 + (int)pd_rng_below(&r, 6), p = 1 + (int)pd_rng_below(&r, 9);
        size_t len[6];
        for (int u = 0; u < n; u++) len[u] = pd_rng_below(&r, 40);
        pd_shard_layout l;
        CHECK(pd_shard_layout_init(&l, n, len, p, 0) == PD_OK);
        CHECK(l.total % (size_t)p == 0 && l.shard_total * (size_t)p == l.total);
        for (int u = 0; u < n; u++) {
            CHECK(l.units[u].padded % (size_t)p == 0 && l.units[u].padded - len[u] < (size_t)p);
            size_t next = 0;
            for (int k = 0; k < p; k++) {
                size_t b, e;
                pd_shard_owned(&l, u, k, &b, &e);
                CHECK(b == next && e >= b && e - b <= l.units[u].shard_len);
                next = e;
            }
            CHECK(next == len[u]);
        }
        pd_shard_layout_free(&l);
    }
}

/* Dense element i of the test model, and rank r's gradient element i. */
static float param(size_t i) { return (float)(0.5 + 0.125 * (double)(i % 37)); }
static float grad(int r, size_t i) { return (float)((r + 1) * 0.25 + (double)(i % 11)); }

static float grad_sum(size_t i, int first, int count)
{
    float s = 0;
    for (int r = first; r < first + count; r++) s += grad(r, i);
    return s;
}

/* fsdp over `part` (P ranks), replicated across `rep`: scatter, gather per unit, reduce. */
static void test_roundtrip(pd_coll *part, pd_coll *rep)
{
    const size_t len[] = {0, 1, 5, 8, 13, 30};
    const int n = 6;
    pd_shard_layout l;
    CHECK(pd_shard_layout_init(&l, n, len, part->size, part->rank) == PD_OK);
    float *dense = malloc(l.params * sizeof(float)), *shard = malloc((l.shard_total + 1) * sizeof(float));
    float *work = malloc(l.max_padded * sizeof(float)), *back = calloc(l.params, sizeof(float));
    for (size_t i = 0; i < l.params; i++) dense[i] = param(i);
    pd_shard_dense_to_shard(&l, dense, shard);
    /* gather(scatter(x)) = x for every unit, padding zero. */
    for (int u = 0; u < n; u++) {
        memset(work, 0xff, l.max_padded * sizeof(float));
        CHECK(pd_shard_gather_unit(part, &l, u, shard, work) == PD_OK);
        const pd_unit_layout *x = &l.units[u];
        int bad = 0;
        for (size_t i = 0; i < x->length; i++) bad += work[i] != dense[x->dense_offset + i];
        for (size_t i = x->length; i < x->padded; i++) bad += work[i] != 0;
        CHECK_MSG(bad == 0, "unit %d gathered with %d wrong elements", u, bad);
    }
    /* Each rank's owned parts written back, summed over the group: the whole model. */
    pd_shard_shard_to_dense(&l, shard, back);
    CHECK(pd_coll_allreduce_sum(part, back, l.params, PD_DT_F32) == PD_OK);
    CHECK(memcmp(back, dense, l.params * sizeof(float)) == 0);

    /* Gradients: unit-wise reduce-scatter (+ replica allreduce) equals the sum over all ranks. */
    float *shard_grad = calloc(l.shard_total + 1, sizeof(float));
    for (int u = 0; u < n; u++) {
        const pd_unit_layout *x = &l.units[u];
        for (size_t i = 0; i < x->padded; i++) work[i] = i < x->length ? grad(rank, x->dense_offset + i) : 123.f;
        CHECK(pd_shard_reduce_unit_grads(part, rep, &l, u, work, shard_grad) == PD_OK);
        size_t b, e;
        pd_shard_owned(&l, u, l.rank, &b, &e);
        int bad = 0;
        for (size_t i = b; i < e; i++) bad += shard_grad[x->shard_offset + i - b] != grad_sum(x->dense_offset + i, 0, size);
        for (size_t i = e - b; i < x->shard_len; i++) bad += shard_grad[x->shard_offset + i] != 0; /* padding */
        CHECK_MSG(bad == 0, "unit %d reduced gradient: %d wrong", u, bad);
    }

    /* zero1/zero2 in place on a padded buffer: reduce, then gather back = allreduce. */
    float *padded = malloc(l.total * sizeof(float) + 1);
    for (int u = 0; u < n; u++)
        for (size_t i = 0; i < l.units[u].padded; i++)
            padded[l.units[u].offset + i] = i < l.units[u].length ? grad(rank, l.units[u].dense_offset + i) : 99.f;
    CHECK(pd_shard_reduce_grads_in_place(part, rep, &l, padded) == PD_OK);
    CHECK(pd_shard_gather_params_in_place(part, &l, padded) == PD_OK);
    pd_shard_padded_to_dense(&l, padded, back);
    int bad = 0;
    for (size_t i = 0; i < l.params; i++) bad += back[i] != grad_sum(i, 0, size);
    CHECK_MSG(bad == 0, "in-place reduce + gather: %d wrong", bad);
    pd_shard_dense_to_padded(&l, dense, padded);
    for (int u = 0; u < n; u++)
        for (size_t i = l.units[u].length; i < l.units[u].padded; i++) CHECK(padded[l.units[u].offset + i] == 0);

    free(padded);
    free(shard_grad);
    free(dense);
    free(shard);
    free(work);
    free(back);
    pd_shard_layout_free(&l);
}

static void test_buckets(void)
{
    const size_t len[] = {10, 20, 30, 5, 50};
    pd_shard_layout l;
    CHECK(pd_shard_layout_init(&l, 5, len, 1, 0) == PD_OK);
    pd_bucket *b;
    int n;
    /* Last unit first: {4} (50 > 35 alone), {2,3} (5 + 30), {0,1} (20 + 10). */
    CHECK(pd_shard_buckets(&l, 35, &b, &n) == PD_OK);
    CHECK(n == 3);
    if (n == 3) {
        CHECK(b[0].first_unit == 4 && b[0].last_unit == 4 && b[0].offset == 65 && b[0].count == 50);
        CHECK(b[1].first_unit == 2 && b[1].last_unit == 3 && b[1].offset == 30 && b[1].count == 35);
        CHECK(b[2].first_unit == 0 && b[2].last_unit == 1 && b[2].offset == 0 && b[2].count == 30);
    }
    free(b);
    CHECK(pd_shard_buckets(&l, 1000, &b, &n) == PD_OK && n == 1 && b[0].count == 115 && b[0].offset == 0);
    free(b);
    CHECK(pd_shard_buckets(&l, 0, &b, &n) == PD_ERR_CONFIG);
    pd_shard_layout_free(&l);
}

static void test_memory(void)
{
    /* Psi = 1000 in units divisible by N = 4, so padding adds nothing. Mixed precision must
     * equal the ZeRO formulas, worked out by hand: 16000, 4000 + 3000, 2000 + 3500, 4000. */
    const size_t len[] = {400, 100, 500};
    pd_shard_layout l1, l4;
    CHECK(pd_shard_layout_init(&l1, 3, len, 1, 0) == PD_OK);
    CHECK(pd_shard_layout_init(&l4, 3, len, 4, 1) == PD_OK);
    const double by_hand[4] = {16000, 7000, 5500, 4000};
    const pd_strategy s[4] = {PD_STRATEGY_DDP, PD_STRATEGY_ZERO1, PD_STRATEGY_ZERO2, PD_STRATEGY_FSDP};
    /* Our fp32 engine: params 4, grads 4, Adam m+v 8 bytes: 16000, 8000 + 2000, 4000 + 3000, 4000. */
    const double fp32_by_hand[4] = {16000, 10000, 7000, 4000};
    for (int i = 0; i < 4; i++) {
        const pd_shard_layout *l = s[i] == PD_STRATEGY_DDP ? &l1 : &l4;
        CHECK(pd_zero_formula_bytes(s[i], 1000, 4) == by_hand[i]);
        pd_memory m = pd_shard_memory(s[i], l, PD_PRECISION_MIXED, 64);
        CHECK_MSG((double)m.state == by_hand[i], "%s mixed: %llu", pd_strategy_name(s[i]), (unsigned long long)m.state);
        CHECK(m.state == m.params + m.grads + m.optimizer);
        m = pd_shard_memory(s[i], l, PD_PRECISION_FP32, 64);
        CHECK_MSG((double)m.state == fp32_by_hand[i], "%s fp32: %llu", pd_strategy_name(s[i]), (unsigned long long)m.state);
    }
    /* fsdp's transient work: the largest unit's parameters and gradients (fp32: 8 * 500). */
    CHECK(pd_shard_memory(PD_STRATEGY_FSDP, &l4, PD_PRECISION_FP32, 64).work == 4000);
    CHECK(pd_shard_memory(PD_STRATEGY_ZERO2, &l4, PD_PRECISION_FP32, 64).work == 256);
    /* Padding is counted: 3 units of 5 over 4 ranks pad to 24 elements, 6 per rank. */
    const size_t odd[] = {5, 5, 5};
    pd_shard_layout lo;
    CHECK(pd_shard_layout_init(&lo, 3, odd, 4, 0) == PD_OK);
    CHECK(pd_shard_memory(PD_STRATEGY_FSDP, &lo, PD_PRECISION_FP32, 0).state == 16 * 6);
    pd_shard_layout_free(&lo);
    pd_shard_layout_free(&l1);
    pd_shard_layout_free(&l4);
}

int main(int argc, char **argv)
{
    if (pd_mpi_init(&argc, &argv) != PD_OK) return 1;
    rank = pd_world_rank();
    size = pd_world_size();
    pd_log_init(rank, size, 0);
    test_layout_by_hand();
    test_owned_partition();
    test_buckets();
    test_memory();

    /* fsdp over the world, nothing to replicate across. */
    pd_coll *world, *self;
    CHECK(pd_coll_create_mpi(MPI_COMM_WORLD, "world", &world) == PD_OK);
    CHECK(pd_coll_create_mpi(MPI_COMM_SELF, "self", &self) == PD_OK);
    test_roundtrip(world, self);
    /* ddp-like: partition over self, replicate across the world. */
    test_roundtrip(self, world);
    /* hsdp with shard groups of 2 when the world is even. */
    if (size % 2 == 0 && size > 2) {
        pd_topology t;
        CHECK(pd_topology_create(&t, MPI_COMM_WORLD, PD_STRATEGY_HSDP, 2) == PD_OK);
        pd_coll_set cs;
        CHECK(pd_coll_set_create(&cs, &t, PD_COLL_MPI, NULL) == PD_OK);
        test_roundtrip(cs.partition, cs.replicate);
        pd_coll_set_free(&cs);
        pd_topology_free(&t);
    }
    pd_coll_free(self);
    pd_coll_free(world);
    int rc = pd_test_finish("test_shard");
    pd_mpi_finalize();
    return rc;
}
