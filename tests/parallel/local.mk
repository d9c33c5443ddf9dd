# tests/parallel/local.mk — tests of src/parallel. The C programs run on real MPI ranks, driven
# by the shell tests (tests/mpirun.sh); check_jobs.sh validates the sbatch templates in jobs/.
PARALLEL_TEST_BINS = tests/parallel/test_collectives tests/parallel/test_topology \
	tests/parallel/test_shard tests/parallel/test_sampler tests/parallel/test_sgd
check_PROGRAMS += $(PARALLEL_TEST_BINS)
PARALLEL_TESTS = tests/parallel/collectives.sh tests/parallel/topology.sh tests/parallel/shard.sh \
	tests/parallel/sampler.sh tests/parallel/sgd.sh tests/parallel/check_jobs.sh
TESTS += $(PARALLEL_TESTS)
EXTRA_DIST += $(PARALLEL_TESTS) tests/parallel/run_ranks.sh
tests_parallel_test_collectives_SOURCES = tests/parallel/test_collectives.c
tests_parallel_test_collectives_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_parallel_test_collectives_LDADD = $(PD_TEST_LDADD)
tests_parallel_test_topology_SOURCES = tests/parallel/test_topology.c
tests_parallel_test_topology_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_parallel_test_topology_LDADD = $(PD_TEST_LDADD)
tests_parallel_test_shard_SOURCES = tests/parallel/test_shard.c
tests_parallel_test_shard_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_parallel_test_shard_LDADD = $(PD_TEST_LDADD)
tests_parallel_test_sampler_SOURCES = tests/parallel/test_sampler.c
tests_parallel_test_sampler_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_parallel_test_sampler_LDADD = $(PD_TEST_LDADD)
tests_parallel_test_sgd_SOURCES = tests/parallel/test_sgd.c
tests_parallel_test_sgd_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_parallel_test_sgd_LDADD = $(PD_TEST_LDADD)
