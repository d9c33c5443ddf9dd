#!/bin/sh
# help.sh — `proteindiff --help` lists every command and each command explains itself;
# unknown commands get a suggestion; version runs as an MPI singleton (no mpirun).
. "$top_srcdir/tests/testlib.sh"
"$PROTEINDIFF" --help > "$TMP/help" 2>&1 || fail "--help exits 0"
for c in featurize train encode design tokenize evaluate export inspect run version config; do
    expect_contains "$TMP/help" "  $c" "--help lists $c"
    "$PROTEINDIFF" "$c" --help > "$TMP/h_$c" 2>&1 || fail "$c --help exits 0"
    expect_contains "$TMP/h_$c" "usage: proteindiff $c" "$c --help shows its usage"
done
"$PROTEINDIFF" featurise > "$TMP/unk" 2>&1 && fail "unknown command exits non-zero"
expect_contains "$TMP/unk" "did you mean 'featurize'" "unknown command suggests the nearest"
"$PROTEINDIFF" > "$TMP/none" 2>&1 && fail "no command exits non-zero"
"$PROTEINDIFF" version > "$TMP/ver" 2>&1 || fail "version exits 0"
expect_contains "$TMP/ver" "proteindiff 0." "version prints the version"
expect_contains "$TMP/ver" "HDF5" "version names the HDF5 library"
finish
