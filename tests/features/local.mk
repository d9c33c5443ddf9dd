# tests/features/local.mk — tests of src/features: geometry by hand, voxel invariance, split,
# the numpy reference comparison (through dump_features) and every file of shared/data/pdb.
check_PROGRAMS += tests/features/dump_features
tests_features_dump_features_SOURCES = tests/features/dump_features.c
tests_features_dump_features_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_features_dump_features_LDADD = $(PD_TEST_LDADD)

check_PROGRAMS += tests/features/test_geometry tests/features/test_voxels tests/features/test_split
TESTS += tests/features/test_geometry tests/features/test_voxels tests/features/test_split
tests_features_test_geometry_SOURCES = tests/features/test_geometry.c
tests_features_test_geometry_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_features_test_geometry_LDADD = $(PD_TEST_LDADD)
tests_features_test_voxels_SOURCES = tests/features/test_voxels.c
tests_features_test_voxels_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_features_test_voxels_LDADD = $(PD_TEST_LDADD)
tests_features_test_split_SOURCES = tests/features/test_split.c
tests_features_test_split_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_features_test_split_LDADD = $(PD_TEST_LDADD)

# The independent numpy reference (reads the structures itself) and every shared/data/pdb file.
TESTS += tests/reference/features_ref.py tests/features/all_pdb.sh
EXTRA_DIST += tests/features/all_pdb.sh
