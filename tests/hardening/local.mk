# tests/hardening/local.mk — hardening tests (issue 12): the broken-input corpus
# (tests/data/broken) featurized on 1 and 2 ranks, HDF5 files that lie refused by every reader,
# valgrind-clean featurize and training steps, and one rank's write failure ending every rank without a hang.
check_PROGRAMS += tests/hardening/open_dataset
tests_hardening_open_dataset_SOURCES = tests/hardening/open_dataset.c
tests_hardening_open_dataset_LDADD = $(PD_TEST_LDADD)
HARDENING_TESTS = tests/hardening/broken_inputs.sh tests/hardening/lying_h5.py tests/hardening/no_hang.sh \
	tests/hardening/valgrind_featurize.sh tests/hardening/valgrind_train.sh
TESTS += $(HARDENING_TESTS)
EXTRA_DIST += tests/hardening
