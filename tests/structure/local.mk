# tests/structure/local.mk — tests of src/structure.
