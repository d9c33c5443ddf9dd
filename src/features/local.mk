# src/features/local.mk — sources of src/features: geometry, distograms, voxels, the featurize
# entry point, entry lists, the dataset split, the residue graph (bb_vae's input) and classical
# MDS (the tokenizer's structure check).
libproteindiff_a_SOURCES += \
	src/features/entry.h src/features/entry.c \
	src/features/geometry.h src/features/geometry.c \
	src/features/distogram.h src/features/distogram.c \
	src/features/half.h src/features/half.c \
	src/features/voxels.h src/features/voxels.c \
	src/features/featurize.h src/features/featurize.c \
	src/features/split.h src/features/split.c \
	src/features/graph.h src/features/graph.c \
	src/features/mds.h src/features/mds.c

# tools/bench/bench-features: parse / distogram / voxel throughput over a folder of structures.
# Built with everything else; run it by hand or through `make bench`.
noinst_PROGRAMS += tools/bench/bench-features
tools_bench_bench_features_SOURCES = tools/bench/bench-features.c
tools_bench_bench_features_LDADD = libproteindiff.a $(PD_LIBS)
CLEANFILES += tools/bench/bench-features
