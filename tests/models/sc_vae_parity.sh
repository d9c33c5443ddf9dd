#!/bin/sh
# sc_vae_parity.sh — the side-chain VAE against its PyTorch reference: the C test writes the tiny
# model's weights and inputs, tests/reference/sc_vae_ref.py computes loss and gradients in
# float64, and the C model (float build, then the double test build) must reproduce them.
. "$top_srcdir/tests/testlib.sh"
"$PYTHON_REF" -c 'import torch' 2>/dev/null || { echo "SKIP: $PYTHON_REF has no torch (Debian: python3-torch)"; exit 77; }
# The spec's loss (classifier on reconstructions only), then with model.sc_vae.classifier_input_weight.
for weight in 0 0.5; do
    dir="$TMP/weight-$weight"
    mkdir -p "$dir"
    "$top_builddir/tests/models/test_sc_vae_parity" write "$dir" "$weight" || { echo "FAIL: writing the inputs"; exit 1; }
    "$PYTHON_REF" "$top_srcdir/tests/reference/sc_vae_ref.py" "$dir/in.bin" "$dir/out.bin" || { echo "FAIL: reference script"; exit 1; }
    "$top_builddir/tests/models/test_sc_vae_parity" check "$dir" || fail "float build against torch (classifier input weight $weight)"
    "$top_builddir/tests/models/test_sc_vae_parity64" check "$dir" || fail "double build against torch (classifier input weight $weight)"
done
finish
