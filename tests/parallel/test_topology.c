/* test_topology.c — shard and replica groups on 4 real ranks: S = 1, 2, 4 and 0 (ranks of the
 * node; all 4 share this machine), the clear error for S = 3 and S < 0, the group each strategy
 * partitions over and replicates across, and the collective handles built from the plan. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "parallel/collectives.h"
#include "parallel/comm.h"
#include "parallel/topology.h"
#include "test.h"

static int rank, size;

/* World ranks of the members of `g`, in group-rank order. */
static void members(const pd_group *g, int *out)
{
    MPI_Allgather(&rank, 1, MPI_INT, out, 1, MPI_INT, g->comm);
}

static void test_shard_size(int s)
{
    pd_topology t;
    CHECK_MSG(pd_topology_create(&t, MPI_COMM_WORLD, PD_STRATEGY_HSDP, s) == PD_OK, "S=%d: %s", s, pd_last_error());
    CHECK(t.world.size == 4 && t.world.rank == rank);
    CHECK(t.shard.size == s && t.shard_size == s);
    CHECK(t.replica.size == 4 / s);
    CHECK(t.self.size == 1 && t.self.rank == 0);
    CHECK(t.node.size == 4); /* one machine */
    /* Shard group g = world ranks [g*S, (g+1)*S); replica group = same index within the shard. */
    int m[4];
    members(&t.shard, m);
    for (int i = 0; i < s; i++) CHECK_MSG(m[i] == (rank / s) * s + i, "S=%d shard member %d is %d", s, i, m[i]);
    CHECK(t.shard.rank == rank % s);
    members(&t.replica, m);
    for (int i = 0; i < 4 / s; i++) CHECK_MSG(m[i] == rank % s + i * s, "S=%d replica member %d is %d", s, i, m[i]);
    CHECK(t.shard_index == rank / s);
    /* hsdp: partition over the shard group, replicate across the replica group. */
    CHECK(t.plan.partition == &t.shard && t.plan.replicate == &t.replica);
    CHECK(t.plan.partition->size * t.plan.replicate->size == 4);
    pd_topology_free(&t);
}

static void test_strategies(void)
{
    const char *names[] = {"ddp", "zero1", "zero2", "fsdp", "hsdp"};
    /* Expected (partition size, replicate size, sharded optimizer, gradients, parameters,
     * gather after step) on 4 ranks with S = 2. */
    const int expect[5][6] = {
        {1, 4, 0, 0, 0, 0}, {4, 1, 1, 0, 0, 1}, {4, 1, 1, 1, 0, 1}, {4, 1, 1, 1, 1, 0}, {2, 2, 1, 1, 1, 0},
    };
    for (int i = 0; i < 5; i++) {
        pd_strategy s;
        CHECK(pd_strategy_parse(names[i], &s) == PD_OK && (int)s == i);
        CHECK(!strcmp(pd_strategy_name(s), names[i]));
        pd_topology t;
        CHECK(pd_topology_create(&t, MPI_COMM_WORLD, s, 2) == PD_OK);
        const pd_plan *p = &t.plan;
        CHECK_MSG(p->partition->size == expect[i][0] && p->replicate->size == expect[i][1],
                  "%s: partition %d replicate %d", names[i], p->partition->size, p->replicate->size);
        CHECK(p->shard_optimizer == expect[i][2] && p->shard_gradients == expect[i][3]);
        CHECK(p->shard_parameters == expect[i][4] && p->gather_after_step == expect[i][5]);
        char line[512];
        pd_topology_describe(&t, line, sizeof line);
        CHECK_MSG(strstr(line, names[i]) == line, "description '%s'", line);

        /* The collective handles built from the plan have the plan's sizes. */
        pd_coll_set cs;
        CHECK(pd_coll_set_create(&cs, &t, PD_COLL_MPI, NULL) == PD_OK);
        CHECK(cs.world->size == 4 && cs.partition->size == expect[i][0] && cs.replicate->size == expect[i][1]);
        float x = 1;
        CHECK(pd_coll_allreduce_sum(cs.replicate, &x, 1, PD_DT_F32) == PD_OK);
        CHECK(x == (float)expect[i][1]);
        pd_coll_set_free(&cs);
        pd_topology_free(&t);
    }
    pd_strategy s;
    CHECK(pd_strategy_parse("fsdp2", &s) == PD_ERR_CONFIG);
    CHECK(strstr(pd_last_error(), "ddp, zero1, zero2, fsdp or hsdp") != NULL);
#ifndef PD_HAVE_CUDA
    pd_topology t;
    pd_coll_set cs;
    CHECK(pd_topology_create(&t, MPI_COMM_WORLD, PD_STRATEGY_DDP, 0) == PD_OK);
    CHECK(pd_coll_set_create(&cs, &t, PD_COLL_NCCL, NULL) == PD_ERR_UNSUPPORTED);
    CHECK(strstr(pd_last_error(), "--with-cuda") != NULL);
    CHECK(cs.world == NULL && cs.partition == NULL);
    pd_topology_free(&t);
#endif
}

static void test_errors(void)
{
    pd_topology t;
    pd_status st = pd_topology_create(&t, MPI_COMM_WORLD, PD_STRATEGY_HSDP, 3);
    CHECK(st == PD_ERR_CONFIG);
    CHECK_MSG(strstr(pd_last_error(), "parallel.shard_group = 3 does not divide the 4 ranks") != NULL, "%s",
              pd_last_error());
    CHECK_MSG(strstr(pd_last_error(), "1, 2, 4") != NULL, "%s", pd_last_error());
    CHECK(t.world.comm == MPI_COMM_NULL && t.shard.comm == MPI_COMM_NULL);
    /* Every rank got the same error: agreeing on it finds rank 0 failing first. */
    CHECK(pd_agree(MPI_COMM_WORLD, st) == PD_ERR_CONFIG);
    st = pd_topology_create(&t, MPI_COMM_WORLD, PD_STRATEGY_HSDP, -2);
    CHECK(st == PD_ERR_CONFIG && strstr(pd_last_error(), "negative") != NULL);
    st = pd_topology_create(&t, MPI_COMM_WORLD, PD_STRATEGY_HSDP, 8);
    CHECK(st == PD_ERR_CONFIG);
}

static void test_from_config(void)
{
    char *sets[] = {"parallel.strategy=hsdp", "parallel.shard_group=2"};
    pd_config cfg;
    CHECK(pd_config_defaults(&cfg, 2, sets) == PD_OK);
    pd_topology t;
    CHECK(pd_topology_from_config(&t, MPI_COMM_WORLD, &cfg) == PD_OK);
    CHECK(t.plan.strategy == PD_STRATEGY_HSDP && t.shard.size == 2 && t.replica.size == 2);
    pd_topology_free(&t);
    pd_config_free(&cfg);
    /* Defaults: ddp, shard group = the node. */
    CHECK(pd_config_defaults(&cfg, 0, NULL) == PD_OK);
    CHECK(pd_topology_from_config(&t, MPI_COMM_WORLD, &cfg) == PD_OK);
    CHECK(t.plan.strategy == PD_STRATEGY_DDP && t.shard.size == 4 && t.shard_size == 4);
    CHECK(t.plan.partition->size == 1 && t.plan.replicate->size == 4);
    pd_topology_free(&t);
    pd_config_free(&cfg);
}

int main(int argc, char **argv)
{
    if (pd_mpi_init(&argc, &argv) != PD_OK) return 1;
    rank = pd_world_rank();
    size = pd_world_size();
    pd_log_init(rank, size, 0);
    if (size != 4) {
        if (rank == 0) printf("SKIP: test_topology needs 4 ranks, got %d\n", size);
        pd_mpi_finalize();
        return 77;
    }
    test_shard_size(1);
    test_shard_size(2);
    test_shard_size(4);
    test_strategies();
    test_errors();
    test_from_config();
    int rc = pd_test_finish("test_topology");
    pd_mpi_finalize();
    return rc;
}
