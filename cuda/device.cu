/* device.cu — GPU selection, cuBLAS handle and NCCL communicator set-up for the CUDA
 * backend; see device.h. */
#include "device.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <nccl.h>
#include <stdio.h>
#include <string.h>

static cublasHandle_t pd_cublas = NULL;
static cudaStream_t pd_compute_stream = NULL, pd_comm_stream = NULL;

extern "C" int pd_cuda_device_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError(); /* clear the sticky "no driver" error */
        return 0;
    }
    return n;
}

extern "C" int pd_cuda_init(int local_rank, char *err, int errlen)
{
    int n = pd_cuda_device_count();
    if (n == 0) {
        snprintf(err, errlen, "run.device = \"cuda\" but no GPU is visible (check CUDA_VISIBLE_DEVICES and the driver)");
        return 1;
    }
    cudaError_t ce = cudaSetDevice(local_rank % n);
    if (ce != cudaSuccess) {
        snprintf(err, errlen, "cudaSetDevice(%d): %s", local_rank % n, cudaGetErrorString(ce));
        return 1;
    }
    if (cublasCreate(&pd_cublas) != CUBLAS_STATUS_SUCCESS) {
        snprintf(err, errlen, "cublasCreate failed on device %d", local_rank % n);
        return 1;
    }
    if (cudaStreamCreateWithFlags(&pd_compute_stream, cudaStreamNonBlocking) != cudaSuccess ||
        cudaStreamCreateWithFlags(&pd_comm_stream, cudaStreamNonBlocking) != cudaSuccess) {
        snprintf(err, errlen, "cudaStreamCreate on device %d: %s", local_rank % n, cudaGetErrorString(cudaGetLastError()));
        return 1;
    }
    /* Tensor-op math is allowed for bf16 inputs; fp32 GEMMs keep full fp32 (no TF32). */
    if (cublasSetStream(pd_cublas, pd_compute_stream) != CUBLAS_STATUS_SUCCESS ||
        cublasSetMathMode(pd_cublas, CUBLAS_DEFAULT_MATH) != CUBLAS_STATUS_SUCCESS) {
        snprintf(err, errlen, "binding cuBLAS to the compute stream failed on device %d", local_rank % n);
        return 1;
    }
    return 0;
}

extern "C" void pd_cuda_finalize(void)
{
    if (pd_cublas) cublasDestroy(pd_cublas);
    if (pd_compute_stream) cudaStreamDestroy(pd_compute_stream);
    if (pd_comm_stream) cudaStreamDestroy(pd_comm_stream);
    pd_cublas = NULL;
    pd_compute_stream = pd_comm_stream = NULL;
}

extern "C" void *pd_cuda_compute_stream(void) { return (void *)pd_compute_stream; }
extern "C" void *pd_cuda_comm_stream(void) { return (void *)pd_comm_stream; }
extern "C" void *pd_cuda_cublas_handle(void) { return (void *)pd_cublas; }

extern "C" int pd_nccl_comm_create(MPI_Comm comm, void **nccl_comm, char *err, int errlen)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    ncclUniqueId id;
    memset(&id, 0, sizeof id);
    /* Rank 0 says whether it got an id, so a failure there ends every rank, not just rank 0. */
    int have_id = 1;
    if (rank == 0 && ncclGetUniqueId(&id) != ncclSuccess) have_id = 0;
    MPI_Bcast(&have_id, 1, MPI_INT, 0, comm);
    if (!have_id) {
        snprintf(err, errlen, "ncclGetUniqueId failed on rank 0 of the communicator");
        return 1;
    }
    MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, comm);
    ncclComm_t c;
    ncclResult_t r = ncclCommInitRank(&c, size, id, rank);
    if (r != ncclSuccess) {
        snprintf(err, errlen, "ncclCommInitRank: %s", ncclGetErrorString(r));
        return 1;
    }
    *nccl_comm = (void *)c;
    return 0;
}

extern "C" void pd_nccl_comm_destroy(void *nccl_comm)
{
    if (nccl_comm) ncclCommDestroy((ncclComm_t)nccl_comm);
}
