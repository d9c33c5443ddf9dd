#!/bin/sh
# replay_runfile.sh — every saved fuzz input (regressions and seed corpus) goes through the
# run-file loader again without a crash.
. "$top_srcdir/tests/testlib.sh"
"$top_builddir/tests/fuzz/replay-runfile" "$top_srcdir"/tests/fuzz/regressions/runfile/* \
    "$top_srcdir"/tests/fuzz/corpus-runfile/* "$top_srcdir"/input/*.cfg > "$TMP/out" 2>&1 \
    && pass "fuzz regressions replay cleanly" || { fail "a fuzz regression crashed"; cat "$TMP/out" >&2; }
finish
