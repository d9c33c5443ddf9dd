#!/bin/sh
# replay_structure.sh — every saved structure fuzz input (regressions, seed corpus) and the
# broken-input corpus go through the structure reader and featurize again without a crash.
. "$top_srcdir/tests/testlib.sh"
inputs=$(ls -d "$top_srcdir"/tests/fuzz/regressions/structure/* "$top_srcdir"/tests/fuzz/corpus-structure/* \
    "$top_srcdir"/tests/data/broken/*.* 2>/dev/null)
"$top_builddir/tests/fuzz/replay-structure" $inputs > "$TMP/out" 2>&1 \
    && pass "structure fuzz regressions replay cleanly ($(tail -1 "$TMP/out"))" \
    || { fail "a structure fuzz regression crashed"; tail -40 "$TMP/out" >&2; }
finish
