#!/bin/sh
# writer_ranks.sh — the synthetic writer/reader test on 3 real MPI ranks: scattered slot
# ownership and empty ranks in a round must still give the global input order; and the
# output-file protocol test (test_h5file): collective create, agreed finish, one failing rank
# leaving only NAME.partial.
. "$top_srcdir/tests/testlib.sh"
PD_TEST_TIMEOUT=120; export PD_TEST_TIMEOUT
for t in test_writer test_h5file; do
    if "$MPIRUN_SH" 3 "$top_builddir/tests/dataset/$t" > "$TMP/out" 2>&1; then
        pass "$t on 3 ranks"
    else
        fail "$t on 3 ranks"; sed 's/^/  | /' "$TMP/out" >&2
    fi
done
finish
