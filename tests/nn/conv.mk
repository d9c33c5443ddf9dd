# tests/nn/conv.mk — tests of the convolution/normalisation/VQ ops.
