# src/models/sc_vae.mk — the sc_vae model (stage 1: side-chain VAE + amino-acid classifier).
libproteindiff_a_SOURCES += src/models/sc_vae.c src/models/sc_vae.h

# tools/bench/bench-sc-vae: one training step of the CPU-default model against PyTorch's
# (`make tools/bench/bench-sc-vae`, then tools/bench/bench-sc-vae.sh BUILD_DIR).
EXTRA_PROGRAMS += tools/bench/bench-sc-vae
tools_bench_bench_sc_vae_SOURCES = tools/bench/bench-sc-vae.c
tools_bench_bench_sc_vae_LDADD = libproteindiff.a $(PD_LIBS)
tools_bench_bench_sc_vae_LDFLAGS = $(OPENMP_CFLAGS)
CLEANFILES += tools/bench/bench-sc-vae
EXTRA_DIST += tools/bench/bench-sc-vae.sh tools/bench/bench-sc-vae-torch.py
