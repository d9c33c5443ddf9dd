/* device.h — the CUDA backend's C interface: device selection (one GPU per rank, by local
 * rank), cuBLAS handle, NCCL communicators created from an MPI-broadcast unique id. Only
 * compiled with --with-cuda; callers guard with PD_HAVE_CUDA. */
#ifndef PD_CUDA_DEVICE_H
#define PD_CUDA_DEVICE_H

#include <mpi.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Number of visible GPUs (0 when there is no driver or no device). */
int pd_cuda_device_count(void);
/* Select the GPU for this rank (local rank modulo device count) and create its cuBLAS
 * handle. Returns 0 on success, non-zero with a message in `err` otherwise. */
int pd_cuda_init(int local_rank, char *err, int errlen);
void pd_cuda_finalize(void);
/* The rank's streams (cudaStream_t) and cuBLAS handle (cublasHandle_t, bound to the compute
 * stream), created by pd_cuda_init; NULL before it. Kernels of cuda/ops.h run on the compute
 * stream; collectives (parallel/collectives.h, NCCL) take it as the stream to order after. */
void *pd_cuda_compute_stream(void);
void *pd_cuda_comm_stream(void);
void *pd_cuda_cublas_handle(void);
/* An NCCL communicator over the ranks of `comm` (unique id broadcast from rank 0 of comm).
 * *nccl_comm receives an ncclComm_t. Returns 0 on success. */
int pd_nccl_comm_create(MPI_Comm comm, void **nccl_comm, char *err, int errlen);
void pd_nccl_comm_destroy(void *nccl_comm);

#ifdef __cplusplus
}
#endif
#endif
