/* topology.c — communicator splits for shard/replica groups and the per-strategy plan; see
 * topology.h and docs/parallel.md. */
#include "parallel/topology.h"

#include <stdio.h>
#include <string.h>

#include "parallel/comm.h"

static const char *const strategy_names[] = {"ddp", "zero1", "zero2", "fsdp", "hsdp"};

pd_status pd_strategy_parse(const char *name, pd_strategy *out)
{
    for (int i = 0; i < (int)(sizeof strategy_names / sizeof strategy_names[0]); i++)
        if (name && !strcmp(name, strategy_names[i])) {
            *out = (pd_strategy)i;
            return PD_OK;
        }
    return pd_fail(PD_ERR_CONFIG, "parallel.strategy = \"%s\" is not a strategy; use ddp, zero1, zero2, fsdp or hsdp",
                   name ? name : "(null)");
}

const char *pd_strategy_name(pd_strategy s)
{
    return (int)s >= 0 && (int)s < 5 ? strategy_names[s] : "unknown";
}

static void group_clear(pd_group *g, const char *name)
{
    g->name = name;
    g->comm = MPI_COMM_NULL;
    g->rank = 0;
    g->size = 0;
}

static pd_status group_set(pd_group *g, MPI_Comm comm)
{
    g->comm = comm;
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm, &g->rank);
    MPI_Comm_size(comm, &g->size);
    return PD_OK;
}

static pd_status split(pd_group *g, MPI_Comm parent, int color, int key)
{
    MPI_Comm c;
    int rc = MPI_Comm_split(parent, color, key, &c);
    if (rc != MPI_SUCCESS)
        return pd_fail(PD_ERR_MPI, "MPI_Comm_split for the %s group failed: %s", g->name, pd_mpi_error_string(rc));
    return group_set(g, c);
}

static pd_status dup(pd_group *g, MPI_Comm parent)
{
    MPI_Comm c;
    int rc = MPI_Comm_dup(parent, &c);
    if (rc != MPI_SUCCESS)
        return pd_fail(PD_ERR_MPI, "MPI_Comm_dup for the %s group failed: %s", g->name, pd_mpi_error_string(rc));
    return group_set(g, c);
}

/* Divisors of n, as "1, 2, 4" for error messages. */
static void list_divisors(int n, char *buf, int len)
{
    int used = 0;
    buf[0] = '\0';
    for (int d = 1; d <= n && used < len - 16; d++)
        if (n % d == 0) used += snprintf(buf + used, len - used, "%s%d", used ? ", " : "", d);
}

static void make_plan(pd_topology *t, pd_strategy s)
{
    pd_plan *p = &t->plan;
    memset(p, 0, sizeof *p);
    p->strategy = s;
    switch (s) {
    case PD_STRATEGY_DDP:
        p->partition = &t->self;
        p->replicate = &t->world;
        break;
    case PD_STRATEGY_ZERO1:
        p->partition = &t->world;
        p->replicate = &t->self;
        p->shard_optimizer = 1;
        p->gather_after_step = 1;
        break;
    case PD_STRATEGY_ZERO2:
        p->partition = &t->world;
        p->replicate = &t->self;
        p->shard_optimizer = p->shard_gradients = 1;
        p->gather_after_step = 1;
        break;
    case PD_STRATEGY_FSDP:
        p->partition = &t->world;
        p->replicate = &t->self;
        p->shard_optimizer = p->shard_gradients = p->shard_parameters = 1;
        break;
    case PD_STRATEGY_HSDP:
        p->partition = &t->shard;
        p->replicate = &t->replica;
        p->shard_optimizer = p->shard_gradients = p->shard_parameters = 1;
        break;
    }
}

pd_status pd_topology_create(pd_topology *t, MPI_Comm world, pd_strategy strategy, int shard_group)
{
    memset(t, 0, sizeof *t);
    group_clear(&t->world, "world");
    group_clear(&t->node, "node");
    group_clear(&t->shard, "shard");
    group_clear(&t->replica, "replica");
    group_clear(&t->self, "self");
    pd_status st = dup(&t->world, world);
    if (st == PD_OK) st = dup(&t->self, MPI_COMM_SELF);
    if (st == PD_OK) {
        MPI_Comm node;
        int rc = MPI_Comm_split_type(t->world.comm, MPI_COMM_TYPE_SHARED, t->world.rank, MPI_INFO_NULL, &node);
        if (rc != MPI_SUCCESS)
            st = pd_fail(PD_ERR_MPI, "MPI_Comm_split_type(MPI_COMM_TYPE_SHARED) failed: %s", pd_mpi_error_string(rc));
        else
            st = group_set(&t->node, node);
    }
    if (st != PD_OK) {
        pd_topology_free(t);
        return st;
    }
    const int n = t->world.size;
    char divisors[256];
    list_divisors(n, divisors, sizeof divisors);
    if (shard_group < 0) {
        st = pd_fail(PD_ERR_CONFIG, "parallel.shard_group = %d is negative; use 0 (ranks per node) or one of %s",
                     shard_group, divisors);
    } else if (shard_group == 0) {
        /* Ranks per node, which must be the same on every node. Every rank computes the
         * same min/max, so every rank takes the same branch. */
        int mine = t->node.size, lo = 0, hi = 0;
        MPI_Allreduce(&mine, &lo, 1, MPI_INT, MPI_MIN, t->world.comm);
        MPI_Allreduce(&mine, &hi, 1, MPI_INT, MPI_MAX, t->world.comm);
        if (lo != hi)
            st = pd_fail(PD_ERR_CONFIG, "parallel.shard_group = 0 means ranks per node, but nodes run between %d and %d "
                         "ranks; launch the same number of ranks on every node or set parallel.shard_group to one "
                         "of %s", lo, hi, divisors);
        else {
            t->shard_size = lo;
            st = dup(&t->shard, t->node.comm);
        }
    } else if (n % shard_group != 0) {
        st = pd_fail(PD_ERR_CONFIG, "parallel.shard_group = %d does not divide the %d ranks of this job; "
                     "use one of %s, or 0 for the ranks of one node", shard_group, n, divisors);
    } else {
        t->shard_size = shard_group;
        st = split(&t->shard, t->world.comm, t->world.rank / shard_group, t->world.rank);
    }
    /* Replica group: one rank from every shard group, the ones with the same shard rank. */
    if (st == PD_OK) st = split(&t->replica, t->world.comm, t->shard.rank, t->world.rank);
    if (st != PD_OK) {
        pd_topology_free(t);
        return st;
    }
    t->shard_index = t->replica.rank;
    make_plan(t, strategy);
    return PD_OK;
}

pd_status pd_topology_from_config(pd_topology *t, MPI_Comm world, const pd_config *cfg)
{
    pd_strategy s;
    PD_TRY(pd_strategy_parse(pd_cfg_str(cfg, "parallel.strategy"), &s));
    return pd_topology_create(t, world, s, (int)pd_cfg_int(cfg, "parallel.shard_group"));
}

static void group_free(pd_group *g)
{
    if (g->comm != MPI_COMM_NULL) MPI_Comm_free(&g->comm);
    g->comm = MPI_COMM_NULL;
}

void pd_topology_free(pd_topology *t)
{
    group_free(&t->replica);
    group_free(&t->shard);
    group_free(&t->node);
    group_free(&t->self);
    group_free(&t->world);
    t->plan.partition = t->plan.replicate = NULL;
}

void pd_topology_describe(const pd_topology *t, char *buf, int len)
{
    const pd_plan *p = &t->plan;
    snprintf(buf, len, "%s: %d ranks, shard groups of %d; state partitioned over %s (%d ranks), "
             "replicated over %s (%d); sharded: optimizer %s, gradients %s, parameters %s",
             pd_strategy_name(p->strategy), t->world.size, t->shard_size, p->partition->name, p->partition->size,
             p->replicate->name, p->replicate->size, p->shard_optimizer ? "yes" : "no",
             p->shard_gradients ? "yes" : "no", p->shard_parameters ? "yes" : "no");
}
