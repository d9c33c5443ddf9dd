# tests/core/local.mk — unit tests of src/core.
check_PROGRAMS += tests/core/test_config tests/core/test_rng
TESTS += tests/core/test_config tests/core/test_rng
tests_core_test_config_SOURCES = tests/core/test_config.c
tests_core_test_config_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_core_test_config_LDADD = $(PD_TEST_LDADD)
tests_core_test_rng_SOURCES = tests/core/test_rng.c
tests_core_test_rng_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_core_test_rng_LDADD = $(PD_TEST_LDADD)
