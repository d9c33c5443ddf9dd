# tests/nn/conv.mk — tests of the convolution/normalisation/upsampling/VQ ops. Raw-kernel and
# gradient tests link PD_NN64_LDADD (src/nn compiled with pd_real = double).
PD_CONV_TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests -DPD_REAL_DOUBLE
check_PROGRAMS += tests/nn/test_conv_kernels
TESTS += tests/nn/test_conv_kernels
tests_nn_test_conv_kernels_SOURCES = tests/nn/test_conv_kernels.c tests/nn/conv_fd.c tests/nn/conv_fd.h
tests_nn_test_conv_kernels_CPPFLAGS = $(PD_CONV_TEST_CPPFLAGS)
tests_nn_test_conv_kernels_LDADD = $(PD_NN64_LDADD)
check_PROGRAMS += tests/nn/test_norm_kernels
TESTS += tests/nn/test_norm_kernels
tests_nn_test_norm_kernels_SOURCES = tests/nn/test_norm_kernels.c tests/nn/conv_fd.c tests/nn/conv_fd.h
tests_nn_test_norm_kernels_CPPFLAGS = $(PD_CONV_TEST_CPPFLAGS)
tests_nn_test_norm_kernels_LDADD = $(PD_NN64_LDADD)
check_PROGRAMS += tests/nn/test_vq_kernels
TESTS += tests/nn/test_vq_kernels
tests_nn_test_vq_kernels_SOURCES = tests/nn/test_vq_kernels.c tests/nn/conv_fd.c tests/nn/conv_fd.h
tests_nn_test_vq_kernels_CPPFLAGS = $(PD_CONV_TEST_CPPFLAGS)
tests_nn_test_vq_kernels_LDADD = $(PD_NN64_LDADD)
check_PROGRAMS += tests/nn/test_conv_ops
TESTS += tests/nn/test_conv_ops
tests_nn_test_conv_ops_SOURCES = tests/nn/test_conv_ops.c tests/nn/op_seen.c tests/nn/op_seen.h
tests_nn_test_conv_ops_CPPFLAGS = $(PD_CONV_TEST_CPPFLAGS)
tests_nn_test_conv_ops_LDADD = $(PD_NN64_LDADD)
# PyTorch parity: the shell test writes the reference data at test time, the C program (f32
# build) compares against it.
check_PROGRAMS += tests/nn/test_conv_parity
TESTS += tests/nn/test_conv_parity.sh
EXTRA_DIST += tests/nn/test_conv_parity.sh
tests_nn_test_conv_parity_SOURCES = tests/nn/test_conv_parity.c tests/nn/op_seen.c tests/nn/op_seen.h tests/nn/conv_refdata.c tests/nn/conv_refdata.h
tests_nn_test_conv_parity_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_nn_test_conv_parity_LDADD = $(PD_TEST_LDADD)
