/* nccl_collectives.cu — the NCCL backend of parallel/collectives.h: the same operations on
 * device memory, on a communication stream of their own that is ordered after (and, when
 * waited on, before) the caller's compute stream, with device-side timing from CUDA events.
 * Built only with --with-cuda; it compiles here (no GPU), its logic mirrors the MPI backend. */
#include "config.h"

#include <cuda_runtime.h>
#include <nccl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "parallel/collectives.h"

namespace {

/* Start/stop events of one operation, read back when statistics are taken. */
struct timing_pair {
    cudaEvent_t start, stop;
};

struct nccl_state {
    ncclComm_t comm;
    cudaStream_t comm_stream;   /* where the collectives run */
    cudaStream_t compute;       /* the caller's stream (0 = default stream) */
    cudaEvent_t ready;          /* compute work queued so far is done */
    cudaEvent_t done;           /* the last blocking collective is done */
    float *scratch;             /* one device float for the barrier */
    timing_pair *timings;
    int n_timings, cap_timings;
};

nccl_state *state_of(pd_coll *c) { return static_cast<nccl_state *>(c->backend); }

pd_status cuda_check(cudaError_t e, const pd_coll *c, const char *what)
{
    if (e == cudaSuccess) return PD_OK;
    return pd_fail(PD_ERR_MPI, "%s for the %s group (%d ranks) failed: %s", what, c->name, c->size,
                   cudaGetErrorString(e));
}

pd_status nccl_check(ncclResult_t r, const pd_coll *c, const char *what)
{
    if (r == ncclSuccess) return PD_OK;
    return pd_fail(PD_ERR_MPI, "%s on the %s group (%d ranks) failed: %s; NCCL_DEBUG=INFO shows why", what,
                   c->name, c->size, ncclGetErrorString(r));
}

ncclDataType_t nccl_type(pd_coll_dtype t)
{
    switch (t) {
    case PD_DT_F32: return ncclFloat32;
    case PD_DT_F64: return ncclFloat64;
    case PD_DT_I64: return ncclInt64;
    case PD_DT_U8: return ncclUint8;
    }
    return ncclUint8;
}

/* Order the communication stream after the compute work queued so far, and open a timing
 * pair. */
pd_status op_begin(pd_coll *c, timing_pair **pair)
{
    nccl_state *s = state_of(c);
    PD_TRY(cuda_check(cudaEventRecord(s->ready, s->compute), c, "cudaEventRecord"));
    PD_TRY(cuda_check(cudaStreamWaitEvent(s->comm_stream, s->ready, 0), c, "cudaStreamWaitEvent"));
    if (s->n_timings == s->cap_timings) {
        int cap = s->cap_timings ? 2 * s->cap_timings : 64;
        timing_pair *t = static_cast<timing_pair *>(realloc(s->timings, (size_t)cap * sizeof *t));
        if (!t) return pd_fail(PD_ERR_NOMEM, "out of memory for collective timing events");
        s->timings = t;
        s->cap_timings = cap;
    }
    timing_pair *p = &s->timings[s->n_timings];
    PD_TRY(cuda_check(cudaEventCreate(&p->start), c, "cudaEventCreate"));
    if (cudaEventCreate(&p->stop) != cudaSuccess) {
        cudaEventDestroy(p->start);
        return cuda_check(cudaGetLastError(), c, "cudaEventCreate");
    }
    s->n_timings++;
    *pair = p;
    return cuda_check(cudaEventRecord(p->start, s->comm_stream), c, "cudaEventRecord");
}

/* Close the timing pair; blocking: the compute stream waits for the collective; nonblocking:
 * an event in the request marks its completion. */
pd_status op_end(pd_coll *c, timing_pair *pair, pd_coll_request *req)
{
    nccl_state *s = state_of(c);
    PD_TRY(cuda_check(cudaEventRecord(pair->stop, s->comm_stream), c, "cudaEventRecord"));
    if (!req) {
        PD_TRY(cuda_check(cudaEventRecord(s->done, s->comm_stream), c, "cudaEventRecord"));
        return cuda_check(cudaStreamWaitEvent(s->compute, s->done, 0), c, "cudaStreamWaitEvent");
    }
    memset(req, 0, sizeof *req);
    req->coll = c;
    req->active = 1;
    cudaEvent_t ev;
    PD_TRY(cuda_check(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming), c, "cudaEventCreateWithFlags"));
    req->event = (void *)ev;
    return cuda_check(cudaEventRecord(ev, s->comm_stream), c, "cudaEventRecord");
}

pd_status nccl_allreduce_sum(pd_coll *c, void *buf, size_t count, pd_coll_dtype t, pd_coll_request *req)
{
    timing_pair *pair;
    PD_TRY(op_begin(c, &pair));
    PD_TRY(nccl_check(ncclAllReduce(buf, buf, count, nccl_type(t), ncclSum, state_of(c)->comm,
                                    state_of(c)->comm_stream), c, "ncclAllReduce"));
    return op_end(c, pair, req);
}

/* NCCL is in place exactly when recv == send + rank*chunk, as the interface defines it. */
pd_status nccl_reduce_scatter_sum(pd_coll *c, const void *send, void *recv, size_t chunk, pd_coll_dtype t,
                                  pd_coll_request *req)
{
    timing_pair *pair;
    PD_TRY(op_begin(c, &pair));
    PD_TRY(nccl_check(ncclReduceScatter(send, recv, chunk, nccl_type(t), ncclSum, state_of(c)->comm,
                                        state_of(c)->comm_stream), c, "ncclReduceScatter"));
    return op_end(c, pair, req);
}

pd_status nccl_all_gather(pd_coll *c, const void *send, void *recv, size_t chunk, pd_coll_dtype t,
                          pd_coll_request *req)
{
    timing_pair *pair;
    PD_TRY(op_begin(c, &pair));
    PD_TRY(nccl_check(ncclAllGather(send, recv, chunk, nccl_type(t), state_of(c)->comm, state_of(c)->comm_stream),
                      c, "ncclAllGather"));
    return op_end(c, pair, req);
}

pd_status nccl_broadcast(pd_coll *c, void *buf, size_t count, pd_coll_dtype t, int root)
{
    timing_pair *pair;
    PD_TRY(op_begin(c, &pair));
    PD_TRY(nccl_check(ncclBroadcast(buf, buf, count, nccl_type(t), root, state_of(c)->comm,
                                    state_of(c)->comm_stream), c, "ncclBroadcast"));
    return op_end(c, pair, NULL);
}

/* Every rank's queued work and a one-element allreduce finished: a barrier in device order
 * that the host also waits for. */
pd_status nccl_barrier(pd_coll *c)
{
    nccl_state *s = state_of(c);
    PD_TRY(cuda_check(cudaMemsetAsync(s->scratch, 0, sizeof(float), s->compute), c, "cudaMemsetAsync"));
    PD_TRY(nccl_allreduce_sum(c, s->scratch, 1, PD_DT_F32, NULL));
    return cuda_check(cudaStreamSynchronize(s->compute), c, "cudaStreamSynchronize");
}

pd_status nccl_wait(pd_coll_request *req)
{
    pd_coll *c = req->coll;
    cudaEvent_t ev = (cudaEvent_t)req->event;
    pd_status st = cuda_check(cudaStreamWaitEvent(state_of(c)->compute, ev, 0), c, "cudaStreamWaitEvent");
    cudaEventDestroy(ev); /* released by CUDA once the wait is satisfied */
    req->event = NULL;
    req->active = 0;
    return st;
}

pd_status nccl_test(pd_coll_request *req, int *done)
{
    cudaError_t e = cudaEventQuery((cudaEvent_t)req->event);
    *done = e == cudaSuccess;
    if (e == cudaErrorNotReady) {
        cudaGetLastError();
        return PD_OK;
    }
    return cuda_check(e, req->coll, "cudaEventQuery");
}

/* Device time of every collective since the last call; waits for the pending ones. */
void nccl_collect_stats(pd_coll *c)
{
    nccl_state *s = state_of(c);
    for (int i = 0; i < s->n_timings; i++) {
        float ms = 0;
        if (cudaEventSynchronize(s->timings[i].stop) == cudaSuccess &&
            cudaEventElapsedTime(&ms, s->timings[i].start, s->timings[i].stop) == cudaSuccess)
            c->stats.device_seconds += ms * 1e-3;
        cudaEventDestroy(s->timings[i].start);
        cudaEventDestroy(s->timings[i].stop);
    }
    s->n_timings = 0;
}

void nccl_destroy(pd_coll *c)
{
    nccl_state *s = state_of(c);
    if (!s) return;
    if (s->comm_stream) cudaStreamSynchronize(s->comm_stream);
    nccl_collect_stats(c);
    free(s->timings);
    if (s->scratch) cudaFree(s->scratch);
    if (s->ready) cudaEventDestroy(s->ready);
    if (s->done) cudaEventDestroy(s->done);
    if (s->comm_stream) cudaStreamDestroy(s->comm_stream);
    if (s->comm) pd_nccl_comm_destroy((void *)s->comm);
    free(s);
    c->backend = NULL;
}

const pd_coll_ops nccl_ops = {
    "nccl", nccl_allreduce_sum, nccl_reduce_scatter_sum, nccl_all_gather, nccl_broadcast, nccl_barrier,
    nccl_wait, nccl_test, nccl_collect_stats, nccl_destroy,
};

} // namespace

extern "C" pd_status pd_coll_create_nccl(MPI_Comm comm, const char *name, void *compute_stream, pd_coll **out)
{
    *out = NULL;
    pd_coll *c = static_cast<pd_coll *>(calloc(1, sizeof(pd_coll)));
    nccl_state *s = static_cast<nccl_state *>(calloc(1, sizeof(nccl_state)));
    if (!c || !s) {
        free(c);
        free(s);
        return pd_fail(PD_ERR_NOMEM, "out of memory creating the %s NCCL communicator", name);
    }
    snprintf(c->name, sizeof c->name, "%s", name);
    c->ops = &nccl_ops;
    c->backend = s;
    s->compute = static_cast<cudaStream_t>(compute_stream);
    if (MPI_Comm_dup(comm, &c->comm) != MPI_SUCCESS) {
        c->comm = MPI_COMM_NULL;
        pd_coll_free(c);
        return pd_fail(PD_ERR_MPI, "MPI_Comm_dup for the %s NCCL communicator failed", name);
    }
    MPI_Comm_rank(c->comm, &c->rank);
    MPI_Comm_size(c->comm, &c->size);
    char err[256] = "";
    void *nc = NULL;
    pd_status st = PD_OK;
    if (pd_nccl_comm_create(c->comm, &nc, err, sizeof err) != 0)
        st = pd_fail(PD_ERR_MPI, "creating the NCCL communicator of the %s group (%d ranks): %s", name, c->size, err);
    else
        s->comm = static_cast<ncclComm_t>(nc);
    if (st == PD_OK) st = cuda_check(cudaStreamCreateWithFlags(&s->comm_stream, cudaStreamNonBlocking), c, "cudaStreamCreate");
    if (st == PD_OK) st = cuda_check(cudaEventCreateWithFlags(&s->ready, cudaEventDisableTiming), c, "cudaEventCreate");
    if (st == PD_OK) st = cuda_check(cudaEventCreateWithFlags(&s->done, cudaEventDisableTiming), c, "cudaEventCreate");
    if (st == PD_OK) st = cuda_check(cudaMalloc(reinterpret_cast<void **>(&s->scratch), sizeof(float)), c, "cudaMalloc");
    if (st != PD_OK) {
        pd_coll_free(c);
        return st;
    }
    *out = c;
    return PD_OK;
}
