# src/models/tokenizer.mk — the structure tokenizer (SPEC §7: hierarchical VQ-VAE over distogram
# images); the classical-MDS structure check its reconstructions are judged by is
# src/features/mds.c.
libproteindiff_a_SOURCES += src/models/tokenizer.c src/models/tokenizer.h src/models/tokenizer_vq.c \
	src/models/tokenizer_image.c src/models/tokenizer_batchnorm.c

# tools/bench/bench-tokenizer: one forward+backward step of the CPU-default model against
# PyTorch's (`make tools/bench/bench-tokenizer`, then tools/bench/bench-tokenizer.sh BUILD_DIR).
EXTRA_PROGRAMS += tools/bench/bench-tokenizer
tools_bench_bench_tokenizer_SOURCES = tools/bench/bench-tokenizer.c
tools_bench_bench_tokenizer_LDADD = libproteindiff.a $(PD_LIBS)
tools_bench_bench_tokenizer_LDFLAGS = $(OPENMP_CFLAGS)
CLEANFILES += tools/bench/bench-tokenizer
EXTRA_DIST += tools/bench/bench-tokenizer.sh tools/bench/bench-tokenizer-torch.py
