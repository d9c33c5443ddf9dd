# src/models/bb_vae.mk — the bb_vae model (bb_vae.c) and its fused pairwise head (bb_vae_pair.c,
# one row block of it in bb_vae_pair_block.c)
# over the section 5 graph (src/features/graph.c); plus its benchmark program.
libproteindiff_a_SOURCES += src/models/bb_vae.c src/models/bb_vae.h \
	src/models/bb_vae_pair.c src/models/bb_vae_pair_block.c src/models/bb_vae_pair_block.h \
	src/models/bb_vae_pair_eval.c src/models/bb_vae_pair_eval.h

# tools/bench/bench-bb-vae: one forward+backward step of the CPU-default model and graph
# construction time (`make tools/bench/bench-bb-vae`; compare with tools/bench/bench-bb-vae-torch.py).
EXTRA_PROGRAMS += tools/bench/bench-bb-vae
tools_bench_bench_bb_vae_SOURCES = tools/bench/bench-bb-vae.c tests/models/test_bb_vae_bundle.c \
	tests/models/test_bb_vae_data.c
tools_bench_bench_bb_vae_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/models
tools_bench_bench_bb_vae_LDADD = libproteindiff.a $(PD_LIBS)
tools_bench_bench_bb_vae_LDFLAGS = $(OPENMP_CFLAGS)
CLEANFILES += tools/bench/bench-bb-vae
EXTRA_DIST += tools/bench/bench-bb-vae-torch.py
