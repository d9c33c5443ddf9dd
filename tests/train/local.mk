# tests/train/local.mk — tests of the training engine on real ranks and a real (small) dataset:
# 1 vs 4 ranks under ddp/fsdp/hsdp, bitwise resume, resharding 2 -> 4 ranks, SIGTERM and kill -9.
TRAIN_TESTS = tests/train/parity.sh tests/train/resume.sh tests/train/signals.sh
TESTS += $(TRAIN_TESTS)
EXTRA_DIST += $(TRAIN_TESTS) tests/train/trainlib.sh tests/train/compare_runs.py
TESTS += tests/train/bb_vae_stage.sh
EXTRA_DIST += tests/train/bb_vae_stage.sh
# `proteindiff encode` (latents file, 1 vs 2 ranks, kill -9, errors) and the sc_vae validation
# metrics against PyTorch on the same checkpoint.
TESTS += tests/train/encode.sh
EXTRA_DIST += tests/train/encode.sh tests/train/encode_check.py
# The latent diffusion stage on frozen encoded latents: 1 vs 2 ranks, missing/foreign latents.
TESTS += tests/train/diffusion_stage.sh
EXTRA_DIST += tests/train/diffusion_stage.sh
TESTS += tests/train/tokenizer_stage.sh
EXTRA_DIST += tests/train/tokenizer_stage.sh
# Micro-batches (gradient accumulation) against whole batches; the memory plan's estimate against
# the arena's measured peak per stage; a budget too small for one entry stops every rank.
TESTS += tests/train/micro_batch.sh tests/train/memory_plan.sh tests/train/memory_budget.sh
EXTRA_DIST += tests/train/micro_batch.sh tests/train/memory_plan.sh tests/train/memory_budget.sh
