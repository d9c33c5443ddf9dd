# src/design/local.mk — sources of src/design (see ../shared/DESIGN.md for what belongs here):
# the latents reader, the diffusion stage adapter, design (inverse folding), evaluate and the
# whole-pipeline `run`.
libproteindiff_a_SOURCES += \
	src/design/latent_file.c src/design/latent_file.h \
	src/train/stage_diffusion.c
libproteindiff_a_SOURCES += \
	src/design/models.c src/design/models.h \
	src/design/designer.c src/design/designer.h \
	src/design/sequence.c src/design/sequence.h \
	src/design/target.c src/design/target.h \
	src/design/design_run.c src/design/design_run.h \
	src/design/evaluate.c src/design/evaluate.h \
	src/design/diagnose.c src/design/diagnose.h \
	src/design/pipeline.c src/design/pipeline.h
