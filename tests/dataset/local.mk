# tests/dataset/local.mk — tests of src/dataset.
