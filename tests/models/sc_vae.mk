# tests/models/sc_vae.mk — tests of the sc_vae model. The model is also compiled with
# pd_real = double (tests/models/libscvae64.a, linked ahead of the double src/nn test library)
# so the finite-difference check and a second PyTorch comparison run the same code in f64.
check_LIBRARIES += tests/models/libscvae64.a
tests_models_libscvae64_a_SOURCES = src/models/sc_vae.c src/models/sc_vae.h
tests_models_libscvae64_a_CPPFLAGS = $(AM_CPPFLAGS) -DPD_REAL_DOUBLE
PD_SCVAE64_LDADD = tests/models/libscvae64.a $(PD_NN64_LDADD)
PD_SCVAE_TEST_SOURCES = tests/models/sc_vae_bundle.c tests/models/sc_vae_bundle.h

# configuration, shapes, inference helpers, determinism, 30-step overfit (float build)
check_PROGRAMS += tests/models/test_sc_vae
TESTS += tests/models/test_sc_vae
tests_models_test_sc_vae_SOURCES = tests/models/test_sc_vae.c
tests_models_test_sc_vae_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_models_test_sc_vae_LDADD = $(PD_TEST_LDADD)

# finite differences of the whole loss w.r.t. every parameter tensor (double build)
check_PROGRAMS += tests/models/test_sc_vae_grad64
TESTS += tests/models/test_sc_vae_grad64
tests_models_test_sc_vae_grad64_SOURCES = tests/models/test_sc_vae_grad64.c
tests_models_test_sc_vae_grad64_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests -DPD_REAL_DOUBLE
tests_models_test_sc_vae_grad64_LDADD = $(PD_SCVAE64_LDADD)

# PyTorch parity (tests/reference/sc_vae_ref.py), float and double builds of one source
check_PROGRAMS += tests/models/test_sc_vae_parity tests/models/test_sc_vae_parity64
TESTS += tests/models/sc_vae_parity.sh
EXTRA_DIST += tests/models/sc_vae_parity.sh
tests_models_test_sc_vae_parity_SOURCES = tests/models/test_sc_vae_parity.c $(PD_SCVAE_TEST_SOURCES)
tests_models_test_sc_vae_parity_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_models_test_sc_vae_parity_LDADD = $(PD_TEST_LDADD)
tests_models_test_sc_vae_parity64_SOURCES = tests/models/test_sc_vae_parity.c $(PD_SCVAE_TEST_SOURCES)
tests_models_test_sc_vae_parity64_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests -DPD_REAL_DOUBLE
tests_models_test_sc_vae_parity64_LDADD = $(PD_SCVAE64_LDADD)
