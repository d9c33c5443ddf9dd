/* test_gpu_nccl.c — on 2 MPI ranks with one GPU each: allreduce, reduce-scatter, all-gather
 * and broadcast through NCCL (device memory) give the same bits as through MPI (host memory).
 * With two ranks a sum is a + b in either order, so the comparison is exact. `--probe` (no
 * MPI) exits 77 saying why when the build has no CUDA or fewer than 2 GPUs are visible. */
#include "config.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parallel/collectives.h"
#include "test.h"

#ifdef PD_HAVE_CUDA
#include "cuda/device.h"
#include "cuda/ops.h"

enum { N = 4098 };   /* 2 chunks of 2049: odd sizes */

static void rank_values(int rank, float *v, int n)
{
    for (int i = 0; i < n; i++) v[i] = (float)((i % 97) * 0.37 + rank * 1.25 - i * 1e-4);
}

/* Same bits on the host (MPI result) and on the device (NCCL result). */
static void same(const char *what, const float *host, const float *dev, int n)
{
    float *back = malloc((size_t)n * sizeof *back);
    CHECK_MSG(pd_cuda_download(back, dev, (size_t)n * sizeof(float)) == PD_OK, "%s: %s", what, pd_last_error());
    CHECK_MSG(memcmp(back, host, (size_t)n * sizeof(float)) == 0, "%s: NCCL and MPI results differ", what);
    free(back);
}

static void run(int rank)
{
    pd_cuda_arena arena;
    CHECK_MSG(pd_cuda_arena_create(&arena, (size_t)4 << 20) == PD_OK, "%s", pd_last_error());
    pd_coll *mpi = NULL, *nccl = NULL;
    CHECK_MSG(pd_coll_create_mpi(MPI_COMM_WORLD, "world", &mpi) == PD_OK, "%s", pd_last_error());
    CHECK_MSG(pd_coll_create_nccl(MPI_COMM_WORLD, "world", pd_cuda_compute_stream(), &nccl) == PD_OK, "%s",
              pd_last_error());
    if (!mpi || !nccl) return;
    float *host = malloc(N * sizeof(float)), *recv = malloc(N * sizeof(float));
    float *dev = pd_cuda_arena_alloc(&arena, N * sizeof(float)), *dev_recv = pd_cuda_arena_alloc(&arena, N * sizeof(float));

    rank_values(rank, host, N);
    CHECK(pd_cuda_upload(dev, host, N * sizeof(float)) == PD_OK);
    CHECK(pd_coll_allreduce_sum(mpi, host, N, PD_DT_F32) == PD_OK);
    CHECK_MSG(pd_coll_allreduce_sum(nccl, dev, N, PD_DT_F32) == PD_OK, "%s", pd_last_error());
    same("allreduce", host, dev, N);

    rank_values(rank, host, N);
    CHECK(pd_cuda_upload(dev, host, N * sizeof(float)) == PD_OK);
    CHECK(pd_coll_reduce_scatter_sum(mpi, host, recv, N / 2, PD_DT_F32) == PD_OK);
    CHECK_MSG(pd_coll_reduce_scatter_sum(nccl, dev, dev_recv, N / 2, PD_DT_F32) == PD_OK, "%s", pd_last_error());
    same("reduce-scatter", recv, dev_recv, N / 2);

    rank_values(rank, host, N / 2);
    CHECK(pd_cuda_upload(dev, host, N / 2 * sizeof(float)) == PD_OK);
    CHECK(pd_coll_all_gather(mpi, host, recv, N / 2, PD_DT_F32) == PD_OK);
    CHECK_MSG(pd_coll_all_gather(nccl, dev, dev_recv, N / 2, PD_DT_F32) == PD_OK, "%s", pd_last_error());
    same("all-gather", recv, dev_recv, N);

    rank_values(rank, host, N);
    CHECK(pd_cuda_upload(dev, host, N * sizeof(float)) == PD_OK);
    CHECK(pd_coll_broadcast(mpi, host, N, PD_DT_F32, 1) == PD_OK);
    CHECK_MSG(pd_coll_broadcast(nccl, dev, N, PD_DT_F32, 1) == PD_OK, "%s", pd_last_error());
    same("broadcast", host, dev, N);

    free(host);
    free(recv);
    pd_coll_free(nccl);
    pd_coll_free(mpi);
    pd_cuda_arena_destroy(&arena);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--probe") == 0) {
        int n = pd_cuda_device_count();
        if (n < 2) {
            printf("SKIP: %d GPU(s) visible; the NCCL-vs-MPI test needs 2 (one per rank)\n", n);
            return 77;
        }
        return 0;
    }
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    char err[256];
    if (size != 2 || pd_cuda_init(rank, err, sizeof err) != 0) {
        fprintf(stderr, "rank %d: %s\n", rank, size != 2 ? "run on exactly 2 ranks" : err);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    run(rank);
    pd_cuda_finalize();
    int failures = pd_test_failures, total = 0;
    MPI_Allreduce(&failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Finalize();
    int rc = pd_test_finish("NCCL vs MPI collectives");
    return rc ? rc : (total ? 1 : 0);
}
#else
int main(void)
{
    printf("SKIP: this build has no CUDA backend, so no NCCL collectives (./configure --with-cuda)\n");
    return 77;
}
#endif
