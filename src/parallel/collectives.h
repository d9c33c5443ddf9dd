/* collectives.h — the few collectives data-parallel and sharded training need, behind one
 * backend-neutral handle: MPI on host memory (collectives.c) or NCCL on device memory
 * (cuda/nccl_collectives.cu). Each handle counts calls, bytes and blocked time, which the
 * training loop reports as comm_ms.
 *
 * Determinism: a sum's rounding depends on the order in which ranks' values are added. For
 * a fixed communicator size, count and algorithm, MPI's (and NCCL's) reduction order is
 * fixed, so a resumed run on the SAME number of ranks reproduces the uninterrupted one bit
 * for bit; every rank receives the same bits, so replicas never drift apart (check with
 * pd_coll_check_identical). A different rank count changes the order: 1 rank and 4 ranks
 * agree to float tolerance (~1e-6 relative), not bitwise. */
#ifndef PD_PARALLEL_COLLECTIVES_H
#define PD_PARALLEL_COLLECTIVES_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The project headers are C; nvcc compiles cuda/nccl_collectives.cu as C++. */
#ifdef __cplusplus
extern "C" {
#endif

#include "core/error.h"
#include "parallel/topology.h"

typedef enum pd_coll_dtype { PD_DT_F32 = 0, PD_DT_F64, PD_DT_I64, PD_DT_U8 } pd_coll_dtype;
size_t pd_coll_dtype_size(pd_coll_dtype t);

typedef struct pd_coll_stats {
    uint64_t calls;
    double seconds;         /* wall time the caller was blocked: blocking calls, waits, tests */
    double device_seconds;  /* NCCL: time the communication stream spent in collectives */
    uint64_t payload_bytes; /* the data the operation is about (n, or S*chunk elements) */
    uint64_t bus_bytes;     /* bytes each rank sends with a ring algorithm (NCCL-tests' "bus"
                             * convention): allreduce 2(P-1)/P*n, reduce-scatter and
                             * all-gather (P-1)*chunk, broadcast n (P > 1) */
} pd_coll_stats;

typedef struct pd_coll pd_coll;

/* A nonblocking collective in flight. Zero-initialise or let the issuing call fill it;
 * finish it with pd_coll_wait (always, also after pd_coll_test reports done). */
typedef struct pd_coll_request {
    pd_coll *coll;
    int active;
    int n_mpi;
    MPI_Request *mpi;        /* MPI backend: one request per piece */
    void *event;             /* NCCL backend: cudaEvent_t recorded after the operation */
    void *move_dst;          /* MPI in-place reduce-scatter: result moved to the rank's slot */
    const void *move_src;    /* when the operation completes */
    size_t move_bytes;
} pd_coll_request;

/* The backend's operations; `req` NULL means blocking. Callers use the pd_coll_* wrappers. */
typedef struct pd_coll_ops {
    const char *backend;
    pd_status (*allreduce_sum)(pd_coll *c, void *buf, size_t count, pd_coll_dtype t, pd_coll_request *req);
    pd_status (*reduce_scatter_sum)(pd_coll *c, const void *send, void *recv, size_t chunk, pd_coll_dtype t,
                                    pd_coll_request *req);
    pd_status (*all_gather)(pd_coll *c, const void *send, void *recv, size_t chunk, pd_coll_dtype t,
                            pd_coll_request *req);
    pd_status (*broadcast)(pd_coll *c, void *buf, size_t count, pd_coll_dtype t, int root);
    pd_status (*barrier)(pd_coll *c);
    pd_status (*wait)(pd_coll_request *req);
    pd_status (*test)(pd_coll_request *req, int *done);
    void (*collect_stats)(pd_coll *c); /* fold device timings into stats (may be NULL) */
    void (*destroy)(pd_coll *c);
} pd_coll_ops;

struct pd_coll {
    const pd_coll_ops *ops;
    char name[32];      /* the group's name, for messages: "world", "shard", ... */
    MPI_Comm comm;      /* this handle's own duplicate of the group's communicator */
    int rank, size;
    void *backend;      /* backend state (NCCL communicator and streams) */
    pd_coll_stats stats;
};

/* MPI collectives over (a duplicate of) `comm`, on host memory. */
pd_status pd_coll_create_mpi(MPI_Comm comm, const char *name, pd_coll **out);
/* NCCL collectives over the ranks of `comm` (unique id broadcast over MPI), on device memory.
 * Defined only in builds configured --with-cuda (cuda/nccl_collectives.cu); elsewhere use
 * pd_coll_set_create, which says so. Operations are ordered after the work already queued on
 * `compute_stream` (a cudaStream_t; NULL = the default stream) and run on a stream of their
 * own; blocking calls make the compute stream wait for them (no host synchronisation), and
 * nonblocking ones do so in pd_coll_wait. pd_coll_test asks whether the operation finished. */
pd_status pd_coll_create_nccl(MPI_Comm comm, const char *name, void *compute_stream, pd_coll **out);
void pd_coll_free(pd_coll *c);

/* Sum `count` elements of `buf` over the group, in place. */
pd_status pd_coll_allreduce_sum(pd_coll *c, void *buf, size_t count, pd_coll_dtype t);
/* `send` holds size*chunk elements; rank r receives the sum of every rank's chunk r in `recv`
 * (chunk elements). In place when recv == send + rank*chunk; the rest of `send` is then
 * undefined afterwards. */
pd_status pd_coll_reduce_scatter_sum(pd_coll *c, const void *send, void *recv, size_t chunk, pd_coll_dtype t);
/* Every rank's `chunk` elements from `send`, concatenated by rank into `recv` (size*chunk).
 * In place when send == recv + rank*chunk. */
pd_status pd_coll_all_gather(pd_coll *c, const void *send, void *recv, size_t chunk, pd_coll_dtype t);
pd_status pd_coll_broadcast(pd_coll *c, void *buf, size_t count, pd_coll_dtype t, int root);
pd_status pd_coll_barrier(pd_coll *c);

/* Nonblocking variants (bucketed gradient reduction overlapping backward, prefetching the next
 * FSDP unit). Buffers must stay untouched until pd_coll_wait returns. */
pd_status pd_coll_iallreduce_sum(pd_coll *c, void *buf, size_t count, pd_coll_dtype t, pd_coll_request *req);
pd_status pd_coll_ireduce_scatter_sum(pd_coll *c, const void *send, void *recv, size_t chunk, pd_coll_dtype t,
                                      pd_coll_request *req);
pd_status pd_coll_iall_gather(pd_coll *c, const void *send, void *recv, size_t chunk, pd_coll_dtype t,
                              pd_coll_request *req);
pd_status pd_coll_wait(pd_coll_request *req);
/* Drives progress (MPI progresses only inside MPI calls); *done = 1 when complete. */
pd_status pd_coll_test(pd_coll_request *req, int *done);

/* Statistics since the last take, then reset (per-step comm_ms). */
pd_coll_stats pd_coll_stats_take(pd_coll *c);
/* Collective: *identical = 1 on every rank when `bytes` bytes of host memory hash the same on
 * every rank of the group (replicas in sync). */
pd_status pd_coll_check_identical(pd_coll *c, const void *buf, size_t bytes, int *identical);

/* Largest element count one MPI call may carry (INT_MAX). Larger buffers are split into
 * pieces; tests lower this to exercise the split paths on small buffers. */
void pd_coll_set_max_count(size_t n);
size_t pd_coll_max_count(void);

/* The handles a training step needs for a strategy (topology.h's plan). */
typedef struct pd_coll_set {
    pd_coll *world;     /* losses, counts, metrics, gradient norms */
    pd_coll *partition; /* reduce-scatter of gradients, all-gather of parameters */
    pd_coll *replicate; /* allreduce of (sharded) gradients across replicas */
} pd_coll_set;

typedef enum pd_coll_backend { PD_COLL_MPI = 0, PD_COLL_NCCL } pd_coll_backend;
/* NCCL needs `compute_stream` and a build with --with-cuda; the world handle is always MPI
 * (host scalars). */
pd_status pd_coll_set_create(pd_coll_set *s, const pd_topology *t, pd_coll_backend backend, void *compute_stream);
void pd_coll_set_free(pd_coll_set *s);
/* Blocked time and bus bytes of every handle of the set since the last take, then reset. */
pd_coll_stats pd_coll_set_stats_take(pd_coll_set *s);

#ifdef __cplusplus
}
#endif
#endif
