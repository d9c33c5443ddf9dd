#!/bin/sh
# h5file_ranks.sh — the output-file protocol test (test_h5file) on 3 real MPI ranks: the
# collective create, the agreed finish and one failing rank leaving only NAME.partial.
. "$top_srcdir/tests/testlib.sh"
PD_TEST_TIMEOUT=120; export PD_TEST_TIMEOUT
if "$MPIRUN_SH" 3 "$top_builddir/tests/dataset/test_h5file" > "$TMP/out" 2>&1; then
    pass "test_h5file on 3 ranks"
else
    fail "test_h5file on 3 ranks"; sed 's/^/  | /' "$TMP/out" >&2
fi
finish
