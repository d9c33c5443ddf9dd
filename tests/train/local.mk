# tests/train/local.mk — tests of the training engine on real ranks and a real (small) dataset:
# 1 vs 4 ranks under ddp/fsdp/hsdp, bitwise resume, resharding 2 -> 4 ranks, SIGTERM and kill -9.
TRAIN_TESTS = tests/train/parity.sh tests/train/resume.sh tests/train/signals.sh
TESTS += $(TRAIN_TESTS)
EXTRA_DIST += $(TRAIN_TESTS) tests/train/trainlib.sh tests/train/compare_runs.py
