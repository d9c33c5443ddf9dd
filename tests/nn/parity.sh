#!/bin/sh
# parity.sh — runs the PyTorch reference (tests/reference/nn_reference.py) to write a tensor
# bundle into a scratch folder, then checks the C op set against it (tests/nn/test_parity).
. "$top_srcdir/tests/testlib.sh"
rm -f "$top_builddir/tests/nn/test_parity.ops"   # a skipped run leaves no op list for test_op_coverage
"$PYTHON_REF" -c 'import torch' 2>/dev/null || { echo "SKIP: $PYTHON_REF has no torch (Debian: python3-torch)"; exit 77; }
"$PYTHON_REF" "$top_srcdir/tests/reference/nn_reference.py" "$TMP/nn_reference.bin" || { echo "FAIL: reference script"; exit 1; }
"$top_builddir/tests/nn/test_parity" "$TMP/nn_reference.bin"
