# tests/local.mk — shared test helpers. Tests follow the automake protocol: exit 0 pass,
# 77 skip, anything else fail. tests/mpirun.sh runs a command on N real MPI ranks.
EXTRA_DIST += tests/mpirun.sh tests/testlib.sh tests/test.h
check_LIBRARIES = tests/libpdtest.a
tests_libpdtest_a_SOURCES = tests/test.c tests/test.h
PD_TEST_LDADD = tests/libpdtest.a libproteindiff.a $(PD_LIBS)
# The include rule of docs/architecture.md (which room of src/ may include which).
TESTS += tests/check-includes.sh
EXTRA_DIST += tests/check-includes.sh
