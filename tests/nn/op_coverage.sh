#!/bin/sh
# op_coverage.sh — runs tests/nn/test_op_coverage (every op of the enum has a CPU kernel, a
# finite-difference check and a PyTorch parity case) from the build directory, after the four
# programs whose op lists it reads (the ordering is in tests/nn/local.mk).
cd "$top_builddir" && exec "$top_builddir/tests/nn/test_op_coverage"
