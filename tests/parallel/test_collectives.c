/* test_collectives.c — every MPI collective of parallel/collectives.h against a serial
 * computation of the same result, on whatever number of ranks mpirun gives (1..4 in make
 * check): odd and empty sizes, in place and not, blocking and nonblocking, and the split
 * paths for counts beyond one MPI call (forced by lowering the per-call limit). */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "parallel/collectives.h"
#include "parallel/comm.h"
#include "test.h"

static int rank, size;

/* Rank r's element i: exact in float and double sums for the sizes used here. */
static double value(int r, size_t i) { return (double)((r + 1) * 3 + (int)(i % 97)) * 0.25; }

static void fill(void *buf, pd_coll_dtype t, int r, size_t n, size_t first)
{
    for (size_t i = 0; i < n; i++) {
        if (t == PD_DT_F32) ((float *)buf)[i] = (float)value(r, first + i);
        else ((double *)buf)[i] = value(r, first + i);
    }
}

static double get(const void *buf, pd_coll_dtype t, size_t i)
{
    return t == PD_DT_F32 ? ((const float *)buf)[i] : ((const double *)buf)[i];
}

static double serial_sum(size_t i)
{
    double s = 0;
    for (int r = 0; r < size; r++) s += value(r, i);
    return s;
}

static void test_allreduce(pd_coll *c, pd_coll_dtype t, size_t n, int nonblocking)
{
    size_t es = pd_coll_dtype_size(t);
    void *buf = malloc(n * es + 1);
    fill(buf, t, rank, n, 0);
    if (nonblocking) {
        pd_coll_request req;
        CHECK(pd_coll_iallreduce_sum(c, buf, n, t, &req) == PD_OK);
        int done = 0;
        for (int spins = 0; !done && spins < 1000000; spins++) CHECK(pd_coll_test(&req, &done) == PD_OK);
        CHECK(pd_coll_wait(&req) == PD_OK);
    } else {
        CHECK(pd_coll_allreduce_sum(c, buf, n, t) == PD_OK);
    }
    int bad = 0;
    for (size_t i = 0; i < n; i++) bad += get(buf, t, i) != serial_sum(i);
    CHECK_MSG(bad == 0, "allreduce n=%zu dtype=%d nonblocking=%d: %d wrong elements", n, (int)t, nonblocking, bad);
    free(buf);
}

static void test_reduce_scatter(pd_coll *c, pd_coll_dtype t, size_t chunk, int in_place, int nonblocking)
{
    size_t es = pd_coll_dtype_size(t);
    char *send = malloc(size * chunk * es + 1), *own = malloc(chunk * es + 1);
    fill(send, t, rank, size * chunk, 0);
    void *recv = in_place ? send + (size_t)rank * chunk * es : own;
    if (nonblocking) {
        pd_coll_request req;
        CHECK(pd_coll_ireduce_scatter_sum(c, send, recv, chunk, t, &req) == PD_OK);
        CHECK(pd_coll_wait(&req) == PD_OK);
    } else {
        CHECK(pd_coll_reduce_scatter_sum(c, send, recv, chunk, t) == PD_OK);
    }
    int bad = 0;
    for (size_t i = 0; i < chunk; i++) bad += get(recv, t, i) != serial_sum((size_t)rank * chunk + i);
    CHECK_MSG(bad == 0, "reduce_scatter chunk=%zu in_place=%d nonblocking=%d: %d wrong", chunk, in_place, nonblocking, bad);
    free(send);
    free(own);
}

static void test_all_gather(pd_coll *c, pd_coll_dtype t, size_t chunk, int in_place, int nonblocking)
{
    size_t es = pd_coll_dtype_size(t);
    char *recv = malloc(size * chunk * es + 1), *own = malloc(chunk * es + 1);
    memset(recv, 0xff, size * chunk * es);
    /* Rank r contributes value(r, r*chunk + i): the gathered buffer is checkable. */
    void *send = in_place ? recv + (size_t)rank * chunk * es : own;
    fill(send, t, rank, chunk, (size_t)rank * chunk);
    if (nonblocking) {
        pd_coll_request req;
        CHECK(pd_coll_iall_gather(c, send, recv, chunk, t, &req) == PD_OK);
        CHECK(pd_coll_wait(&req) == PD_OK);
    } else {
        CHECK(pd_coll_all_gather(c, send, recv, chunk, t) == PD_OK);
    }
    int bad = 0;
    for (int r = 0; r < size; r++)
        for (size_t i = 0; i < chunk; i++)
            bad += get(recv, t, (size_t)r * chunk + i) != value(r, (size_t)r * chunk + i);
    CHECK_MSG(bad == 0, "all_gather chunk=%zu in_place=%d nonblocking=%d: %d wrong", chunk, in_place, nonblocking, bad);
    free(recv);
    free(own);
}

static void test_broadcast(pd_coll *c, size_t n)
{
    for (int root = 0; root < size; root++) {
        double *buf = malloc(n * sizeof *buf + 1);
        fill(buf, PD_DT_F64, rank, n, 0);
        CHECK(pd_coll_broadcast(c, buf, n, PD_DT_F64, root) == PD_OK);
        int bad = 0;
        for (size_t i = 0; i < n; i++) bad += buf[i] != value(root, i);
        CHECK_MSG(bad == 0, "broadcast n=%zu root=%d: %d wrong", n, root, bad);
        free(buf);
    }
    CHECK(pd_coll_broadcast(c, NULL, 0, PD_DT_F64, size) != PD_OK); /* root out of range */
}

static void run_all(pd_coll *c, const size_t *sizes, int n_sizes)
{
    for (int k = 0; k < n_sizes; k++) {
        size_t n = sizes[k];
        for (int t = PD_DT_F32; t <= PD_DT_F64; t++)
            for (int nb = 0; nb <= 1; nb++) {
                test_allreduce(c, (pd_coll_dtype)t, n, nb);
                for (int ip = 0; ip <= 1; ip++) {
                    test_reduce_scatter(c, (pd_coll_dtype)t, n, ip, nb);
                    test_all_gather(c, (pd_coll_dtype)t, n, ip, nb);
                }
            }
        test_broadcast(c, n);
    }
    CHECK(pd_coll_barrier(c) == PD_OK);
}

static void test_stats(pd_coll *c)
{
    pd_coll_stats_take(c);
    float buf[100] = {0};
    CHECK(pd_coll_allreduce_sum(c, buf, 100, PD_DT_F32) == PD_OK);
    pd_coll_stats s = pd_coll_stats_take(c);
    CHECK(s.calls == 1);
    CHECK(s.payload_bytes == 400);
    /* Ring allreduce: each rank sends 2(P-1)/P of the buffer. */
    CHECK(s.bus_bytes == (uint64_t)(2 * (size - 1) * 400 / size));
    CHECK(s.seconds >= 0);
    float *rs = calloc((size_t)size * 10, sizeof *rs), own[10];
    CHECK(pd_coll_reduce_scatter_sum(c, rs, own, 10, PD_DT_F32) == PD_OK);
    s = pd_coll_stats_take(c);
    CHECK(s.calls == 1 && s.payload_bytes == (uint64_t)size * 40 && s.bus_bytes == (uint64_t)(size - 1) * 40);
    free(rs);
    s = pd_coll_stats_take(c);
    CHECK(s.calls == 0 && s.bus_bytes == 0);
}

static void test_identical(pd_coll *c)
{
    double same[5] = {1, 2, 3, 4, 5}, differ[5] = {1, 2, 3, 4, 5 + rank};
    int ok = -1;
    CHECK(pd_coll_check_identical(c, same, sizeof same, &ok) == PD_OK);
    CHECK(ok == 1);
    CHECK(pd_coll_check_identical(c, differ, sizeof differ, &ok) == PD_OK);
    CHECK(ok == (size == 1));
}

int main(int argc, char **argv)
{
    if (pd_mpi_init(&argc, &argv) != PD_OK) return 1;
    rank = pd_world_rank();
    size = pd_world_size();
    pd_log_init(rank, size, 0);
    pd_coll *world = NULL;
    CHECK(pd_coll_create_mpi(MPI_COMM_WORLD, "world", &world) == PD_OK);
    CHECK(world->rank == rank && world->size == size);
    CHECK(pd_coll_max_count() == 2147483647u);

    const size_t sizes[] = {0, 1, 2, 7, 1000, 4099};
    run_all(world, sizes, 6);
    test_stats(world);
    test_identical(world);

    /* Pieces: at most 3 elements per MPI call, so 7 and 10 need several calls (and the
     * reduce-scatter/all-gather fallbacks by root). */
    pd_coll_set_max_count(3);
    CHECK(pd_coll_max_count() == 3);
    const size_t piece_sizes[] = {0, 3, 7, 10};
    run_all(world, piece_sizes, 4);
    pd_coll_set_max_count(0);
    CHECK(pd_coll_max_count() == 2147483647u);

    pd_coll_free(world);
    int rc = pd_test_finish("test_collectives");
    pd_mpi_finalize();
    return rc;
}
