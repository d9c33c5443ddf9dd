# src/nn/conv.mk — convolution, normalisation, upsampling and vector-quantisation ops of src/nn.
# They use pd_real, so they join PD_NN_SOURCES (float in libproteindiff.a, double in the
# test-only tests/nn/libpdnn64.a for the finite-difference checks).
PD_NN_SOURCES += \
	src/nn/conv_patch.c src/nn/conv_patch.h \
	src/nn/conv_kernels.h src/nn/conv_shape.c src/nn/conv_gemm.c src/nn/conv_transpose_gemm.c \
	src/nn/conv.h src/nn/conv_ops.c \
	src/nn/norm_kernels.h src/nn/norm_group.c src/nn/norm_batch.c src/nn/norm.h src/nn/norm_ops.c \
	src/nn/upsample_kernels.h src/nn/upsample_bilinear.c src/nn/upsample.h src/nn/upsample_ops.c \
	src/nn/vq_kernels.h src/nn/vq_nearest.c src/nn/vq_ema.c src/nn/vq.h src/nn/vq_ops.c

# tools/bench/bench-conv: conv3d / conv-transpose GFLOP/s against raw sgemm (run it by hand:
# tools/bench/bench-conv [BATCH]).
noinst_PROGRAMS += tools/bench/bench-conv
tools_bench_bench_conv_SOURCES = tools/bench/bench-conv.c
tools_bench_bench_conv_LDADD = libproteindiff.a $(PD_LIBS)
tools_bench_bench_conv_LDFLAGS = $(OPENMP_CFLAGS)
