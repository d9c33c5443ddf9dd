# tests/nn/local.mk — tests of src/nn. Gradient checks link PD_NN64_LDADD: the same src/nn
# sources compiled with pd_real = double (tests/nn/libpdnn64.a) ahead of libproteindiff.a.
check_LIBRARIES += tests/nn/libpdnn64.a
tests_nn_libpdnn64_a_SOURCES = $(PD_NN_SOURCES)
tests_nn_libpdnn64_a_CPPFLAGS = $(AM_CPPFLAGS) -DPD_REAL_DOUBLE
PD_NN64_LDADD = tests/libpdtest.a tests/nn/libpdnn64.a libproteindiff.a $(PD_LIBS)

check_PROGRAMS += tests/nn/test_gradcheck
TESTS += tests/nn/test_gradcheck
tests_nn_test_gradcheck_SOURCES = tests/nn/test_gradcheck.c tests/nn/op_seen.c tests/nn/op_seen.h
tests_nn_test_gradcheck_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests -DPD_REAL_DOUBLE
tests_nn_test_gradcheck_LDADD = $(PD_NN64_LDADD)

# PyTorch parity: helpers shared by the parity, training and bench programs.
check_LIBRARIES += tests/nn/libpdnntest.a
tests_nn_libpdnntest_a_SOURCES = tests/nn/bundle.c tests/nn/bundle.h tests/nn/blocks.c tests/nn/blocks.h
tests_nn_libpdnntest_a_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
PD_NNTEST_LDADD = tests/nn/libpdnntest.a $(PD_TEST_LDADD)

check_PROGRAMS += tests/nn/test_parity
TESTS += tests/nn/parity.sh
tests_nn_test_parity_SOURCES = tests/nn/test_parity.c tests/nn/op_seen.c tests/nn/op_seen.h
tests_nn_test_parity_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_nn_test_parity_LDADD = $(PD_NNTEST_LDADD)
EXTRA_DIST += tests/nn/parity.sh

check_PROGRAMS += tests/nn/test_train
TESTS += tests/nn/train.sh
tests_nn_test_train_SOURCES = tests/nn/test_train.c
tests_nn_test_train_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_nn_test_train_LDADD = $(PD_NNTEST_LDADD)
EXTRA_DIST += tests/nn/train.sh

check_PROGRAMS += tests/nn/test_nn_core
TESTS += tests/nn/test_nn_core
tests_nn_test_nn_core_SOURCES = tests/nn/test_nn_core.c
tests_nn_test_nn_core_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_nn_test_nn_core_LDADD = $(PD_TEST_LDADD)

# Coverage from the op enum: every op has a CPU kernel, a finite-difference check and a
# PyTorch parity case. It reads the op lists the four check programs leave (tests/nn/op_seen.h),
# so it runs after them.
check_PROGRAMS += tests/nn/test_op_coverage
TESTS += tests/nn/op_coverage.sh
EXTRA_DIST += tests/nn/op_coverage.sh
tests_nn_test_op_coverage_SOURCES = tests/nn/test_op_coverage.c
tests_nn_test_op_coverage_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_nn_test_op_coverage_LDADD = $(PD_TEST_LDADD)
tests/nn/op_coverage.log: tests/nn/test_gradcheck.log tests/nn/test_conv_ops.log tests/nn/parity.log \
	tests/nn/test_conv_parity.log
CLEANFILES += tests/nn/test_gradcheck.ops tests/nn/test_conv_ops.ops tests/nn/test_parity.ops tests/nn/test_conv_parity.ops
