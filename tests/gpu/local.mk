# tests/gpu/local.mk — GPU tests: they SKIP (exit 77) where no GPU is visible.
