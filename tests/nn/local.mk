# tests/nn/local.mk — tests of src/nn.
