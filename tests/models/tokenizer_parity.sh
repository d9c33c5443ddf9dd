#!/bin/sh
# tokenizer_parity.sh — the structure tokenizer against its PyTorch reference: the C test writes
# the tiny model's weights, codebooks and images, tests/reference/tokenizer_ref.py computes loss,
# gradients, BatchNorm statistics and one EMA step in float64, and the C model must reproduce them.
. "$top_srcdir/tests/testlib.sh"
"$PYTHON_REF" -c 'import torch' 2>/dev/null || { echo "SKIP: $PYTHON_REF has no torch (Debian: python3-torch)"; exit 77; }
"$top_builddir/tests/models/test_tokenizer_parity" write "$TMP" || { echo "FAIL: writing the inputs"; exit 1; }
OMP_NUM_THREADS=1 "$PYTHON_REF" "$top_srcdir/tests/reference/tokenizer_ref.py" "$TMP/in.bin" "$TMP/out.bin" ||
    { echo "FAIL: reference script"; exit 1; }
"$top_builddir/tests/models/test_tokenizer_parity" check "$TMP" || fail "C tokenizer against torch"
finish
