#!/bin/sh
# test_conv_parity.sh — generates the PyTorch reference (tests/reference/nn_conv_reference.py)
# into a temporary folder and runs the C comparison (tests/nn/test_conv_parity) on it.
# Skips (77) only when PyTorch is not importable.
set -u
: "${PYTHON_REF:=/usr/bin/python3}"
rm -f "${top_builddir:-.}/tests/nn/test_conv_parity.ops"   # a skipped run leaves no op list for test_op_coverage
if ! "$PYTHON_REF" -c 'import torch' 2>/dev/null; then
    echo "SKIP: $PYTHON_REF cannot import torch (Debian: apt-get install python3-torch)"
    exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nn_conv_parity.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
"$PYTHON_REF" "$top_srcdir/tests/reference/nn_conv_reference.py" "$tmp/conv_ref.bin" || exit 1
"$top_builddir/tests/nn/test_conv_parity" "$tmp/conv_ref.bin"
