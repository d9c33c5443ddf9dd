#!/bin/sh
# writer_ranks.sh — the synthetic writer/reader test on 3 real MPI ranks: scattered slot
# ownership and empty ranks in a round must still give the global input order.
. "$top_srcdir/tests/testlib.sh"
PD_TEST_TIMEOUT=120; export PD_TEST_TIMEOUT
if "$MPIRUN_SH" 3 "$top_builddir/tests/dataset/test_writer" > "$TMP/out" 2>&1; then
    pass "test_writer on 3 ranks"
else
    fail "test_writer on 3 ranks"; sed 's/^/  | /' "$TMP/out" >&2
fi
finish
