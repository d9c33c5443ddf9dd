# src/models/diffusion.mk — stage 3: the latent diffusion DiT, its cosine noise schedule and the
# DDIM / ancestral DDPM samplers (docs/models/diffusion.md).
libproteindiff_a_SOURCES += src/models/diffusion.c src/models/diffusion.h \
	src/models/diffusion_backbone.c src/models/diffusion_backbone.h \
	src/models/diffusion_geometry.c src/models/diffusion_geometry.h \
	src/models/diffusion_environment.c src/models/diffusion_environment.h \
	src/models/schedule.c src/models/schedule.h \
	src/models/samplers.c src/models/samplers.h

# tools/bench/bench-diffusion: one training step of the CPU-default DiT and the DDIM sampler time
# (compare with tools/bench/bench-diffusion-torch.py; see docs/models/diffusion.md).
noinst_PROGRAMS += tools/bench/bench-diffusion
tools_bench_bench_diffusion_SOURCES = tools/bench/bench-diffusion.c
tools_bench_bench_diffusion_LDADD = libproteindiff.a $(PD_LIBS)
tools_bench_bench_diffusion_LDFLAGS = $(OPENMP_CFLAGS)
CLEANFILES += tools/bench/bench-diffusion
EXTRA_DIST += tools/bench/bench-diffusion-torch.py
