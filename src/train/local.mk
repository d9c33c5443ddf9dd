# src/train/local.mk — the training engine shared by every stage: stage interface and adapters,
# strategy state and unit hooks, the loop, validation, metrics, checkpoints, signals, and the
# latents file (writer, reader, `proteindiff encode`).
libproteindiff_a_SOURCES += \
	src/train/stage.h src/train/stages.c src/train/stage_memory.c \
	src/train/voxel_batch.c src/train/voxel_batch.h \
	src/train/stage_sc_vae.c src/train/stage_probe.c \
	src/train/latents.c src/train/latents.h src/train/latents_read.c src/train/latents_encode.c \
	src/train/engine.c src/train/engine.h src/train/engine_hooks.c src/train/engine_update.c \
	src/train/checkpoint.h src/train/checkpoint_h5.c src/train/checkpoint_h5.h \
	src/train/checkpoint_params.c src/train/checkpoint_params.h \
	src/train/checkpoint_optim.c src/train/checkpoint_optim.h \
	src/train/checkpoint_write.c src/train/checkpoint_read.c src/train/checkpoint_files.c \
	src/train/checkpoint_open.c \
	src/train/metrics.c src/train/metrics.h src/train/signals.c src/train/signals.h \
	src/train/train.h src/train/trainer.h src/train/train_step.c src/train/validate.c src/train/loop.c
libproteindiff_a_SOURCES += src/train/stage_bb_vae.c src/train/stage_diffusion.c
libproteindiff_a_SOURCES += src/train/stage_tokenizer.c src/train/stage_tokenizer.h \
	src/train/tokenizer_state.c src/train/tokenizer_state.h
# `proteindiff tokenize`: the run, a rank's encode loop, the tokens file.
libproteindiff_a_SOURCES += src/train/tokenize.c src/train/tokenize.h src/train/tokenize_plan.h \
	src/train/tokenize_encode.c src/train/tokens_file.c
