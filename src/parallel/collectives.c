/* collectives.c — the backend-neutral wrappers (statistics, argument checks), the MPI
 * backend with pieces below INT_MAX elements, and the per-strategy set of handles; see
 * collectives.h. */
#include "config.h"

#include "parallel/collectives.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/timer.h"
#include "parallel/comm.h"

static size_t max_count = INT_MAX;

void pd_coll_set_max_count(size_t n) { max_count = n > 0 && n <= INT_MAX ? n : INT_MAX; }
size_t pd_coll_max_count(void) { return max_count; }

size_t pd_coll_dtype_size(pd_coll_dtype t)
{
    switch (t) {
    case PD_DT_F32: return 4;
    case PD_DT_F64: return 8;
    case PD_DT_I64: return 8;
    case PD_DT_U8: return 1;
    }
    return 1;
}

static MPI_Datatype mpi_type(pd_coll_dtype t)
{
    switch (t) {
    case PD_DT_F32: return MPI_FLOAT;
    case PD_DT_F64: return MPI_DOUBLE;
    case PD_DT_I64: return MPI_INT64_T;
    case PD_DT_U8: return MPI_UINT8_T;
    }
    return MPI_BYTE;
}

/* ------------------------------------------------------------------ MPI backend */

static pd_status mpi_check(int rc, const pd_coll *c, const char *what)
{
    if (rc == MPI_SUCCESS) return PD_OK;
    return pd_fail(PD_ERR_MPI, "%s on the %s group (%d ranks) failed: %s", what, c->name, c->size,
                   pd_mpi_error_string(rc));
}

/* Reserve one MPI request per piece in a nonblocking request. */
static pd_status request_reserve(pd_coll *c, pd_coll_request *req, size_t n)
{
    memset(req, 0, sizeof *req);
    req->coll = c;
    req->active = 1;
    if (n == 0) return PD_OK;
    req->mpi = pd_malloc(n * sizeof(MPI_Request));
    if (!req->mpi) return PD_ERR_NOMEM;
    return PD_OK;
}

static size_t pieces(size_t count) { return count == 0 ? 0 : (count + max_count - 1) / max_count; }
static int piece_len(size_t count, size_t off) { return (int)(count - off < max_count ? count - off : max_count); }

static pd_status mpi_allreduce_sum(pd_coll *c, void *buf, size_t count, pd_coll_dtype t, pd_coll_request *req)
{
    const size_t es = pd_coll_dtype_size(t);
    if (req) PD_TRY(request_reserve(c, req, pieces(count)));
    for (size_t off = 0; off < count; off += max_count) {
        char *p = (char *)buf + off * es;
        int n = piece_len(count, off);
        if (req)
            PD_TRY(mpi_check(MPI_Iallreduce(MPI_IN_PLACE, p, n, mpi_type(t), MPI_SUM, c->comm, &req->mpi[req->n_mpi++]),
                             c, "MPI_Iallreduce"));
        else
            PD_TRY(mpi_check(MPI_Allreduce(MPI_IN_PLACE, p, n, mpi_type(t), MPI_SUM, c->comm), c, "MPI_Allreduce"));
    }
    return PD_OK;
}

static pd_status mpi_reduce_scatter_sum(pd_coll *c, const void *send, void *recv, size_t chunk, pd_coll_dtype t,
                                        pd_coll_request *req)
{
    const size_t es = pd_coll_dtype_size(t);
    const int in_place = (const char *)recv == (const char *)send + (size_t)c->rank * chunk * es;
    if (chunk <= max_count) {
        if (req) PD_TRY(request_reserve(c, req, chunk ? 1 : 0));
        if (chunk == 0) return PD_OK;
        /* MPI_IN_PLACE leaves the result at the start of the buffer: move it to the slot. */
        void *full = (void *)send;
        if (req) {
            PD_TRY(mpi_check(MPI_Ireduce_scatter_block(in_place ? MPI_IN_PLACE : send, in_place ? full : recv, (int)chunk,
                                                       mpi_type(t), MPI_SUM, c->comm, &req->mpi[req->n_mpi++]),
                             c, "MPI_Ireduce_scatter_block"));
            if (in_place && c->rank != 0) {
                req->move_dst = recv;
                req->move_src = send;
                req->move_bytes = chunk * es;
            }
        } else {
            PD_TRY(mpi_check(MPI_Reduce_scatter_block(in_place ? MPI_IN_PLACE : send, in_place ? full : recv, (int)chunk,
                                                      mpi_type(t), MPI_SUM, c->comm),
                             c, "MPI_Reduce_scatter_block"));
            if (in_place && c->rank != 0) memmove(recv, send, chunk * es);
        }
        return PD_OK;
    }
    /* A chunk beyond one call: every rank's chunk r is reduced onto rank r, piece by piece. */
    if (req) PD_TRY(request_reserve(c, req, (size_t)c->size * pieces(chunk)));
    for (int root = 0; root < c->size; root++)
        for (size_t off = 0; off < chunk; off += max_count) {
            const char *src = (const char *)send + ((size_t)root * chunk + off) * es;
            char *dst = (char *)recv + off * es;
            const void *sendarg = (root == c->rank && in_place) ? MPI_IN_PLACE : (const void *)src;
            int n = piece_len(chunk, off);
            if (req)
                PD_TRY(mpi_check(MPI_Ireduce(sendarg, dst, n, mpi_type(t), MPI_SUM, root, c->comm, &req->mpi[req->n_mpi++]),
                                 c, "MPI_Ireduce"));
            else
                PD_TRY(mpi_check(MPI_Reduce(sendarg, dst, n, mpi_type(t), MPI_SUM, root, c->comm), c, "MPI_Reduce"));
        }
    return PD_OK;
}

static pd_status mpi_all_gather(pd_coll *c, const void *send, void *recv, size_t chunk, pd_coll_dtype t,
                                pd_coll_request *req)
{
    const size_t es = pd_coll_dtype_size(t);
    char *mine = (char *)recv + (size_t)c->rank * chunk * es;
    const int in_place = (const char *)send == mine;
    if (chunk <= max_count) {
        if (req) PD_TRY(request_reserve(c, req, chunk ? 1 : 0));
        if (chunk == 0) return PD_OK;
        const void *sendarg = in_place ? MPI_IN_PLACE : send;
        if (req)
            return mpi_check(MPI_Iallgather(sendarg, (int)chunk, mpi_type(t), recv, (int)chunk, mpi_type(t), c->comm,
                                            &req->mpi[req->n_mpi++]),
                             c, "MPI_Iallgather");
        return mpi_check(MPI_Allgather(sendarg, (int)chunk, mpi_type(t), recv, (int)chunk, mpi_type(t), c->comm), c,
                         "MPI_Allgather");
    }
    /* A chunk beyond one call: each rank broadcasts its chunk, piece by piece. */
    if (!in_place) memcpy(mine, send, chunk * es);
    if (req) PD_TRY(request_reserve(c, req, (size_t)c->size * pieces(chunk)));
    for (int root = 0; root < c->size; root++)
        for (size_t off = 0; off < chunk; off += max_count) {
            char *p = (char *)recv + ((size_t)root * chunk + off) * es;
            int n = piece_len(chunk, off);
            if (req)
                PD_TRY(mpi_check(MPI_Ibcast(p, n, mpi_type(t), root, c->comm, &req->mpi[req->n_mpi++]), c, "MPI_Ibcast"));
            else
                PD_TRY(mpi_check(MPI_Bcast(p, n, mpi_type(t), root, c->comm), c, "MPI_Bcast"));
        }
    return PD_OK;
}

static pd_status mpi_broadcast(pd_coll *c, void *buf, size_t count, pd_coll_dtype t, int root)
{
    const size_t es = pd_coll_dtype_size(t);
    for (size_t off = 0; off < count; off += max_count)
        PD_TRY(mpi_check(MPI_Bcast((char *)buf + off * es, piece_len(count, off), mpi_type(t), root, c->comm), c,
                         "MPI_Bcast"));
    return PD_OK;
}

static pd_status mpi_barrier(pd_coll *c) { return mpi_check(MPI_Barrier(c->comm), c, "MPI_Barrier"); }

static void request_finish(pd_coll_request *req)
{
    if (req->move_bytes) memmove(req->move_dst, req->move_src, req->move_bytes);
    free(req->mpi);
    req->mpi = NULL;
    req->n_mpi = 0;
    req->move_bytes = 0;
    req->active = 0;
}

static pd_status mpi_wait(pd_coll_request *req)
{
    int rc = req->n_mpi ? MPI_Waitall(req->n_mpi, req->mpi, MPI_STATUSES_IGNORE) : MPI_SUCCESS;
    pd_status st = mpi_check(rc, req->coll, "MPI_Waitall");
    request_finish(req);
    return st;
}

static pd_status mpi_test(pd_coll_request *req, int *done)
{
    *done = 1;
    if (req->n_mpi == 0) return PD_OK;
    return mpi_check(MPI_Testall(req->n_mpi, req->mpi, done, MPI_STATUSES_IGNORE), req->coll, "MPI_Testall");
}

static void mpi_destroy(pd_coll *c) { (void)c; }

static const pd_coll_ops mpi_ops = {
    "mpi", mpi_allreduce_sum, mpi_reduce_scatter_sum, mpi_all_gather, mpi_broadcast, mpi_barrier,
    mpi_wait, mpi_test, NULL, mpi_destroy,
};

pd_status pd_coll_create_mpi(MPI_Comm comm, const char *name, pd_coll **out)
{
    *out = NULL;
    pd_coll *c = pd_calloc(1, sizeof *c);
    if (!c) return PD_ERR_NOMEM;
    int rc = MPI_Comm_dup(comm, &c->comm);
    if (rc != MPI_SUCCESS) {
        free(c);
        return pd_fail(PD_ERR_MPI, "MPI_Comm_dup for the %s collectives failed: %s", name, pd_mpi_error_string(rc));
    }
    MPI_Comm_set_errhandler(c->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(c->comm, &c->rank);
    MPI_Comm_size(c->comm, &c->size);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->ops = &mpi_ops;
    *out = c;
    return PD_OK;
}

void pd_coll_free(pd_coll *c)
{
    if (!c) return;
    c->ops->destroy(c);
    if (c->comm != MPI_COMM_NULL) MPI_Comm_free(&c->comm);
    free(c);
}

/* ------------------------------------------------------------------ wrappers */

static void count_op(pd_coll *c, double t0, uint64_t payload, uint64_t bus)
{
    c->stats.calls++;
    c->stats.seconds += pd_now() - t0;
    c->stats.payload_bytes += payload;
    c->stats.bus_bytes += bus;
}

static uint64_t allreduce_bus(const pd_coll *c, uint64_t bytes)
{
    return c->size > 1 ? 2 * (uint64_t)(c->size - 1) * bytes / (uint64_t)c->size : 0;
}

pd_status pd_coll_allreduce_sum(pd_coll *c, void *buf, size_t count, pd_coll_dtype t)
{
    double t0 = pd_now();
    pd_status st = c->ops->allreduce_sum(c, buf, count, t, NULL);
    uint64_t bytes = (uint64_t)count * pd_coll_dtype_size(t);
    count_op(c, t0, bytes, allreduce_bus(c, bytes));
    return st;
}

pd_status pd_coll_reduce_scatter_sum(pd_coll *c, const void *send, void *recv, size_t chunk, pd_coll_dtype t)
{
    double t0 = pd_now();
    pd_status st = c->ops->reduce_scatter_sum(c, send, recv, chunk, t, NULL);
    uint64_t bytes = (uint64_t)chunk * pd_coll_dtype_size(t);
    count_op(c, t0, bytes * (uint64_t)c->size, bytes * (uint64_t)(c->size - 1));
    return st;
}

pd_status pd_coll_all_gather(pd_coll *c, const void *send, void *recv, size_t chunk, pd_coll_dtype t)
{
    double t0 = pd_now();
    pd_status st = c->ops->all_gather(c, send, recv, chunk, t, NULL);
    uint64_t bytes = (uint64_t)chunk * pd_coll_dtype_size(t);
    count_op(c, t0, bytes * (uint64_t)c->size, bytes * (uint64_t)(c->size - 1));
    return st;
}

pd_status pd_coll_broadcast(pd_coll *c, void *buf, size_t count, pd_coll_dtype t, int root)
{
    if (root < 0 || root >= c->size)
        return pd_fail(PD_ERR, "broadcast root %d is not a rank of the %s group (%d ranks)", root, c->name, c->size);
    double t0 = pd_now();
    pd_status st = c->ops->broadcast(c, buf, count, t, root);
    uint64_t bytes = (uint64_t)count * pd_coll_dtype_size(t);
    count_op(c, t0, bytes, c->size > 1 ? bytes : 0);
    return st;
}

pd_status pd_coll_barrier(pd_coll *c)
{
    double t0 = pd_now();
    pd_status st = c->ops->barrier(c);
    count_op(c, t0, 0, 0);
    return st;
}

pd_status pd_coll_iallreduce_sum(pd_coll *c, void *buf, size_t count, pd_coll_dtype t, pd_coll_request *req)
{
    double t0 = pd_now();
    pd_status st = c->ops->allreduce_sum(c, buf, count, t, req);
    uint64_t bytes = (uint64_t)count * pd_coll_dtype_size(t);
    count_op(c, t0, bytes, allreduce_bus(c, bytes));
    return st;
}

pd_status pd_coll_ireduce_scatter_sum(pd_coll *c, const void *send, void *recv, size_t chunk, pd_coll_dtype t,
                                      pd_coll_request *req)
{
    double t0 = pd_now();
    pd_status st = c->ops->reduce_scatter_sum(c, send, recv, chunk, t, req);
    uint64_t bytes = (uint64_t)chunk * pd_coll_dtype_size(t);
    count_op(c, t0, bytes * (uint64_t)c->size, bytes * (uint64_t)(c->size - 1));
    return st;
}

pd_status pd_coll_iall_gather(pd_coll *c, const void *send, void *recv, size_t chunk, pd_coll_dtype t,
                              pd_coll_request *req)
{
    double t0 = pd_now();
    pd_status st = c->ops->all_gather(c, send, recv, chunk, t, req);
    uint64_t bytes = (uint64_t)chunk * pd_coll_dtype_size(t);
    count_op(c, t0, bytes * (uint64_t)c->size, bytes * (uint64_t)(c->size - 1));
    return st;
}

pd_status pd_coll_wait(pd_coll_request *req)
{
    if (!req->active) return PD_OK;
    pd_coll *c = req->coll;
    double t0 = pd_now();
    pd_status st = c->ops->wait(req);
    c->stats.seconds += pd_now() - t0;
    return st;
}

pd_status pd_coll_test(pd_coll_request *req, int *done)
{
    if (!req->active) {
        *done = 1;
        return PD_OK;
    }
    pd_coll *c = req->coll;
    double t0 = pd_now();
    pd_status st = c->ops->test(req, done);
    c->stats.seconds += pd_now() - t0;
    return st;
}

pd_coll_stats pd_coll_stats_take(pd_coll *c)
{
    if (c->ops->collect_stats) c->ops->collect_stats(c);
    pd_coll_stats s = c->stats;
    memset(&c->stats, 0, sizeof c->stats);
    return s;
}

pd_status pd_coll_check_identical(pd_coll *c, const void *buf, size_t bytes, int *identical)
{
    /* Equal hashes on every rank <=> min == max of (hash, length). */
    uint64_t h = pd_fnv1a64(buf, bytes), mine[2] = {h, (uint64_t)bytes}, lo[2], hi[2];
    PD_TRY(mpi_check(MPI_Allreduce(mine, lo, 2, MPI_UINT64_T, MPI_MIN, c->comm), c, "MPI_Allreduce (replica check)"));
    PD_TRY(mpi_check(MPI_Allreduce(mine, hi, 2, MPI_UINT64_T, MPI_MAX, c->comm), c, "MPI_Allreduce (replica check)"));
    *identical = lo[0] == hi[0] && lo[1] == hi[1];
    return PD_OK;
}

/* ------------------------------------------------------------------ per-strategy set */

static pd_status create_one(const pd_group *g, pd_coll_backend backend, void *stream, pd_coll **out)
{
    if (backend == PD_COLL_NCCL) {
#ifdef PD_HAVE_CUDA
        return pd_coll_create_nccl(g->comm, g->name, stream, out);
#else
        (void)stream;
        return pd_fail(PD_ERR_UNSUPPORTED, "NCCL collectives need a build configured with --with-cuda; "
                       "this proteindiff was built for CPUs only (use run.device = \"cpu\")");
#endif
    }
    return pd_coll_create_mpi(g->comm, g->name, out);
}

pd_status pd_coll_set_create(pd_coll_set *s, const pd_topology *t, pd_coll_backend backend, void *compute_stream)
{
    memset(s, 0, sizeof *s);
    pd_status st = pd_coll_create_mpi(t->world.comm, "world", &s->world);
    if (st == PD_OK) st = create_one(t->plan.partition, backend, compute_stream, &s->partition);
    if (st == PD_OK) st = create_one(t->plan.replicate, backend, compute_stream, &s->replicate);
    if (st != PD_OK) pd_coll_set_free(s);
    return st;
}

void pd_coll_set_free(pd_coll_set *s)
{
    pd_coll_free(s->replicate);
    pd_coll_free(s->partition);
    pd_coll_free(s->world);
    memset(s, 0, sizeof *s);
}

pd_coll_stats pd_coll_set_stats_take(pd_coll_set *s)
{
    pd_coll_stats sum = {0}, one;
    pd_coll *all[3] = {s->world, s->partition, s->replicate};
    for (int i = 0; i < 3; i++) {
        if (!all[i]) continue;
        one = pd_coll_stats_take(all[i]);
        sum.calls += one.calls;
        sum.seconds += one.seconds;
        sum.device_seconds += one.device_seconds;
        sum.payload_bytes += one.payload_bytes;
        sum.bus_bytes += one.bus_bytes;
    }
    return sum;
}
