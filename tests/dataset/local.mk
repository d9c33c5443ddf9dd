# tests/dataset/local.mk — tests of src/dataset: inputs, writer/reader (synthetic entries, on
# 1 and 3 ranks), the output-file protocol (test_h5file, 1 and 3 ranks), featurize end to end on
# 1/2/4 ranks, h5py schema checks, export, inspect.
check_PROGRAMS += tests/dataset/test_inputs tests/dataset/test_writer tests/dataset/test_h5file
DATASET_TESTS = tests/dataset/test_inputs tests/dataset/test_writer tests/dataset/writer_ranks.sh \
	tests/dataset/featurize_e2e.sh tests/dataset/h5py_schema.py tests/dataset/test_h5file
TESTS += $(DATASET_TESTS)
EXTRA_DIST += tests/dataset/h5py_schema.py tests/dataset/writer_ranks.sh tests/dataset/featurize_e2e.sh tests/dataset/check_dataset.py
tests_dataset_test_inputs_SOURCES = tests/dataset/test_inputs.c
tests_dataset_test_inputs_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_dataset_test_inputs_LDADD = $(PD_TEST_LDADD)
tests_dataset_test_writer_SOURCES = tests/dataset/test_writer.c
tests_dataset_test_writer_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_dataset_test_writer_LDADD = $(PD_TEST_LDADD)
tests_dataset_test_h5file_SOURCES = tests/dataset/test_h5file.c
tests_dataset_test_h5file_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_dataset_test_h5file_LDADD = $(PD_TEST_LDADD)
