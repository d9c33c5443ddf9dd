# tests/gpu/local.mk — GPU tests: they SKIP (exit 77) where no GPU is visible or the build has
# no CUDA. test_shared_formulas and test_bf16_emulation run on the CPU in every build: they
# check the gather forms and index maps the CUDA kernels use, and the cost of BF16 mode.
# gpu_check.sh checks tools/gpu-check (shellcheck, --dry-run) everywhere.
check_PROGRAMS += tests/gpu/test_shared_formulas tests/gpu/test_bf16_emulation tests/gpu/test_gpu_ops \
	tests/gpu/test_gpu_nccl tests/gpu/test_placement tests/gpu/test_gpu_step
TESTS += tests/gpu/test_shared_formulas tests/gpu/test_bf16_emulation tests/gpu/test_gpu_ops tests/gpu/nccl.sh tests/gpu/gpu_check.sh \
	tests/gpu/test_placement tests/gpu/test_gpu_step
EXTRA_DIST += tests/gpu/nccl.sh tests/gpu/gpu_check.sh
tests_gpu_test_shared_formulas_SOURCES = tests/gpu/test_shared_formulas.c
tests_gpu_test_shared_formulas_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_gpu_test_shared_formulas_LDADD = $(PD_TEST_LDADD)
tests_gpu_test_bf16_emulation_SOURCES = tests/gpu/test_bf16_emulation.c
tests_gpu_test_bf16_emulation_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_gpu_test_bf16_emulation_LDADD = $(PD_TEST_LDADD)
tests_gpu_test_gpu_ops_SOURCES = tests/gpu/test_gpu_ops.c
tests_gpu_test_gpu_ops_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests -I$(top_srcdir)
tests_gpu_test_gpu_ops_LDADD = $(PD_TEST_LDADD)
tests_gpu_test_gpu_nccl_SOURCES = tests/gpu/test_gpu_nccl.c
tests_gpu_test_gpu_nccl_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests -I$(top_srcdir)
tests_gpu_test_gpu_nccl_LDADD = $(PD_TEST_LDADD)
# test_placement runs everywhere (run-file keys, the CPU-build refusal of run.device = cuda);
# test_gpu_step is one training step through the op set's dispatch, cpu vs cuda (SKIP here).
tests_gpu_test_placement_SOURCES = tests/gpu/test_placement.c
tests_gpu_test_placement_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_gpu_test_placement_LDADD = $(PD_TEST_LDADD)
tests_gpu_test_gpu_step_SOURCES = tests/gpu/test_gpu_step.c
tests_gpu_test_gpu_step_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_gpu_test_gpu_step_LDADD = $(PD_TEST_LDADD)
