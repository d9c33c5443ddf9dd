# tests/parallel/local.mk — tests of src/parallel.
