# src/nn/local.mk — sources of src/nn: tensors, arena, tape, the core op set, parameter store,
# optimizer, gradient checker. Every source that uses pd_real goes into PD_NN_SOURCES: it is
# compiled into libproteindiff.a as float AND into tests/nn/libpdnn64.a as double (-DPD_REAL_DOUBLE)
# for the finite-difference checks. Other src/nn fragments (conv.mk) add their files with
# `PD_NN_SOURCES += ...` (not to the library's source list directly).
PD_NN_SOURCES = \
	src/nn/real.h src/nn/pointwise.h src/nn/pointwise_ops.h src/nn/pointwise_norm.h \
	src/nn/pointwise_optim.h src/nn/pointwise_index.h src/nn/blas.c \
	src/nn/pointwise_simd.h src/nn/pointwise_kernels.h src/nn/pointwise_kernels.c \
	src/nn/arena.c src/nn/arena.h src/nn/device.c src/nn/device.h \
	src/nn/tensor.c src/nn/tensor.h \
	src/nn/tape.c src/nn/tape.h \
	src/nn/op.c src/nn/op.h src/nn/op_run.c src/nn/op_run.h src/nn/kernel_desc.h \
	src/nn/backend.c src/nn/backend.h src/nn/backend_cpu.c src/nn/backend_cpu.h \
	src/nn/ops.h src/nn/ops_internal.h \
	src/nn/ops_gemm.c src/nn/ops_elementwise.c src/nn/ops_activation.c \
	src/nn/ops_reduce.c src/nn/ops_shape.c src/nn/ops_index.c \
	src/nn/ops_layernorm.c src/nn/ops_attention.c src/nn/ops_vae.c src/nn/ops_loss.c \
	src/nn/row_loss.c src/nn/row_loss.h \
	src/nn/params.c src/nn/params.h src/nn/layers.c src/nn/layers.h \
	src/nn/optim.c src/nn/optim.h \
	src/nn/gradcheck.c src/nn/gradcheck.h
libproteindiff_a_SOURCES += $(PD_NN_SOURCES)

# tools/bench/bench-nn: op GFLOP/s against bare sgemm, block step times (`make tools/bench/bench-nn`;
# compare the step times with tools/bench/bench-nn-torch.py).
noinst_PROGRAMS += tools/bench/bench-nn
tools_bench_bench_nn_SOURCES = tools/bench/bench-nn.c tests/nn/blocks.c tests/nn/blocks.h
tools_bench_bench_nn_LDADD = libproteindiff.a $(PD_LIBS)
tools_bench_bench_nn_LDFLAGS = $(OPENMP_CFLAGS)
CLEANFILES += tools/bench/bench-nn
EXTRA_DIST += tools/bench/bench-nn-torch.py
