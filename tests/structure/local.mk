# tests/structure/local.mk — tests of src/structure: the charge table and the reader on the
# awkward inputs of shared/data/pdb (and made-up broken files).
check_PROGRAMS += tests/structure/test_charges tests/structure/test_structure
TESTS += tests/structure/test_charges tests/structure/test_structure
tests_structure_test_charges_SOURCES = tests/structure/test_charges.c
tests_structure_test_charges_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_structure_test_charges_LDADD = $(PD_TEST_LDADD)
tests_structure_test_structure_SOURCES = tests/structure/test_structure.c
tests_structure_test_structure_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_structure_test_structure_LDADD = $(PD_TEST_LDADD)
