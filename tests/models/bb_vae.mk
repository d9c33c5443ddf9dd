# tests/models/bb_vae.mk — tests of the bb_vae model: graph invariance / kNN / numpy parity,
# PyTorch loss-and-gradient parity, and a short overfit run on a real chain.
PD_BB_VAE_TEST_HELPERS = tests/models/test_bb_vae_bundle.c tests/models/test_bb_vae_bundle.h \
	tests/models/test_bb_vae_data.c tests/models/test_bb_vae_data.h
check_PROGRAMS += tests/models/test_graph tests/models/test_bb_vae_parity tests/models/test_bb_vae_overfit
TESTS += tests/models/test_graph tests/models/test_bb_vae_parity tests/models/test_bb_vae_overfit
tests_models_test_graph_SOURCES = tests/models/test_graph.c $(PD_BB_VAE_TEST_HELPERS)
tests_models_test_graph_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_models_test_graph_LDADD = $(PD_TEST_LDADD)
tests_models_test_bb_vae_parity_SOURCES = tests/models/test_bb_vae_parity.c $(PD_BB_VAE_TEST_HELPERS)
tests_models_test_bb_vae_parity_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_models_test_bb_vae_parity_LDADD = $(PD_TEST_LDADD)
tests_models_test_bb_vae_overfit_SOURCES = tests/models/test_bb_vae_overfit.c $(PD_BB_VAE_TEST_HELPERS)
tests_models_test_bb_vae_overfit_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_models_test_bb_vae_overfit_LDADD = $(PD_TEST_LDADD)
EXTRA_DIST += tests/reference/bb_vae_ref.py
