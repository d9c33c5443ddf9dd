#!/bin/sh
# replay_dataset.sh — every saved dataset fuzz input (regressions, seed corpus) is applied again
# to a fresh small dataset (make_dataset_base.sh) and read back through the reader, no crash.
. "$top_srcdir/tests/testlib.sh"
need_shared
sh "$top_srcdir/tests/fuzz/make_dataset_base.sh" "$TMP/base.h5" || { fail "cannot make the base dataset"; finish; }
inputs=$(ls -d "$top_srcdir"/tests/fuzz/regressions/dataset/* "$top_srcdir"/tests/fuzz/corpus-dataset/* 2>/dev/null)
PD_FUZZ_DATASET_BASE="$TMP/base.h5" "$top_builddir/tests/fuzz/replay-dataset" $inputs > "$TMP/out" 2>&1 \
    && pass "dataset fuzz regressions replay cleanly ($(tail -1 "$TMP/out"))" \
    || { fail "a dataset fuzz regression crashed"; tail -40 "$TMP/out" >&2; }
finish
