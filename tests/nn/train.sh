#!/bin/sh
# train.sh — ten AdamW steps against PyTorch (tests/reference/nn_train_reference.py) and a
# bitwise save/load/continue check (tests/nn/test_train).
. "$top_srcdir/tests/testlib.sh"
"$PYTHON_REF" -c 'import torch' 2>/dev/null || { echo "SKIP: $PYTHON_REF has no torch (Debian: python3-torch)"; exit 77; }
"$PYTHON_REF" "$top_srcdir/tests/reference/nn_train_reference.py" "$TMP/nn_train.bin" || { echo "FAIL: reference script"; exit 1; }
"$top_builddir/tests/nn/test_train" "$TMP/nn_train.bin" "$TMP"
