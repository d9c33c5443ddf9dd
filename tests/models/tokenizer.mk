# tests/models/tokenizer.mk — tests of the structure tokenizer (src/models/tokenizer*.c) and of
# the MDS structure check (src/features/mds.c).

# configuration, shapes, masking, encode/decode consistency, codebook update and re-seeding
check_PROGRAMS += tests/models/test_tokenizer
TESTS += tests/models/test_tokenizer
tests_models_test_tokenizer_SOURCES = tests/models/test_tokenizer.c
tests_models_test_tokenizer_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_models_test_tokenizer_LDADD = $(PD_TEST_LDADD)

# PyTorch parity (tests/reference/tokenizer_ref.py): loss, every gradient, BN stats, EMA step
check_PROGRAMS += tests/models/test_tokenizer_parity
TESTS += tests/models/tokenizer_parity.sh
EXTRA_DIST += tests/models/tokenizer_parity.sh
tests_models_test_tokenizer_parity_SOURCES = tests/models/test_tokenizer_parity.c
tests_models_test_tokenizer_parity_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_models_test_tokenizer_parity_LDADD = $(PD_NNTEST_LDADD)

# classical MDS + Kabsch on real chains of $PD_SHARED/data/pdb, exact and noisy distances
check_PROGRAMS += tests/models/test_tokenizer_mds
TESTS += tests/models/test_tokenizer_mds
tests_models_test_tokenizer_mds_SOURCES = tests/models/test_tokenizer_mds.c tests/models/tokenizer_chains.c \
	tests/models/tokenizer_chains.h
tests_models_test_tokenizer_mds_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_models_test_tokenizer_mds_LDADD = $(PD_TEST_LDADD)

# 40 AdamW steps on 4 real distogram crops beat the mean-image baseline
check_PROGRAMS += tests/models/test_tokenizer_overfit
TESTS += tests/models/test_tokenizer_overfit
tests_models_test_tokenizer_overfit_SOURCES = tests/models/test_tokenizer_overfit.c tests/models/tokenizer_chains.c \
	tests/models/tokenizer_chains.h
tests_models_test_tokenizer_overfit_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_models_test_tokenizer_overfit_LDADD = $(PD_TEST_LDADD)
