# cuda/ops.mk — CUDA kernels of the op set (built only with --with-cuda): device memory,
# cuBLAS GEMM, and one file per op family; the C interface is cuda/ops.h, and cuda/backend.cu
# is the backend table src/nn dispatches through (src/nn/backend.h). The .cuh headers
# are included by the .cu files (the nvcc rule in cuda/local.mk tracks only the .cu, so
# touch the .cu files after changing a header).
CUDA_OPS_CU_FILES = cuda/memory.cu cuda/managed.cu cuda/gemm.cu cuda/ops_elementwise.cu cuda/ops_rows.cu cuda/ops_shape.cu \
	cuda/ops_gemm.cu cuda/ops_attention.cu cuda/ops_norm.cu cuda/ops_conv.cu cuda/ops_vq.cu cuda/optim.cu cuda/backend.cu
CUDA_SRC_FILES += $(CUDA_OPS_CU_FILES) cuda/ops.h cuda/kernel_common.cuh cuda/reduce.cuh cuda/operand.cuh
if HAVE_CUDA
CUDA_OBJECTS += cuda/memory.$(OBJEXT) cuda/managed.$(OBJEXT) cuda/gemm.$(OBJEXT) cuda/ops_elementwise.$(OBJEXT) cuda/ops_rows.$(OBJEXT) \
	cuda/ops_shape.$(OBJEXT) cuda/ops_gemm.$(OBJEXT) cuda/ops_attention.$(OBJEXT) cuda/ops_norm.$(OBJEXT) \
	cuda/ops_conv.$(OBJEXT) cuda/ops_vq.$(OBJEXT) cuda/optim.$(OBJEXT) cuda/backend.$(OBJEXT)
endif
