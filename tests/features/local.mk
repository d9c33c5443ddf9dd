# tests/features/local.mk — tests of src/features.
