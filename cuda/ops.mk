# cuda/ops.mk — CUDA kernels of the op set (built only with --with-cuda).
