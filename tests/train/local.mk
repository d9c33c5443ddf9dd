# tests/train/local.mk — tests of the training engine (real ranks, parity, resume).
