# src/nn/conv.mk — convolution, normalisation, upsampling and vector-quantisation ops of src/nn.
