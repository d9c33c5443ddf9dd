# tests/models/diffusion.mk — tests of the diffusion model: schedule against NumPy, samplers with
# analytic denoisers, PyTorch parity of the DiT (loss, predictions, every gradient), and the
# model's behaviour (configuration, rank-count independence, overfitting). The Python reference
# is run by the C tests themselves through $PYTHON_REF.
check_LIBRARIES += tests/models/libdiffusiontest.a
tests_models_libdiffusiontest_a_SOURCES = tests/models/test_diffusion_util.c tests/models/test_diffusion_util.h
tests_models_libdiffusiontest_a_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests -DPD_TOP_SRCDIR='"$(abs_top_srcdir)"'
PD_DIFFUSION_TEST_LDADD = tests/models/libdiffusiontest.a tests/nn/libpdnntest.a $(PD_TEST_LDADD)
EXTRA_DIST += tests/reference/diffusion_ref.py

check_PROGRAMS += tests/models/test_schedule
TESTS += tests/models/test_schedule
tests_models_test_schedule_SOURCES = tests/models/test_schedule.c
tests_models_test_schedule_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_models_test_schedule_LDADD = $(PD_DIFFUSION_TEST_LDADD)

check_PROGRAMS += tests/models/test_diffusion_sampler
TESTS += tests/models/test_diffusion_sampler
tests_models_test_diffusion_sampler_SOURCES = tests/models/test_diffusion_sampler.c
tests_models_test_diffusion_sampler_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_models_test_diffusion_sampler_LDADD = $(PD_TEST_LDADD)

check_PROGRAMS += tests/models/test_diffusion_parity
TESTS += tests/models/test_diffusion_parity
tests_models_test_diffusion_parity_SOURCES = tests/models/test_diffusion_parity.c
tests_models_test_diffusion_parity_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_models_test_diffusion_parity_LDADD = $(PD_DIFFUSION_TEST_LDADD)

check_PROGRAMS += tests/models/test_diffusion
TESTS += tests/models/test_diffusion
tests_models_test_diffusion_SOURCES = tests/models/test_diffusion.c
tests_models_test_diffusion_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_models_test_diffusion_LDADD = $(PD_DIFFUSION_TEST_LDADD)
