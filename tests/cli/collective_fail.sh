#!/bin/sh
# collective_fail.sh — an error on rank 1 of 4 ends every rank cleanly with that rank's
# message, within seconds, never a hang; a config error is reported once, not four times.
. "$top_srcdir/tests/testlib.sh"
PD_TEST_TIMEOUT=60; export PD_TEST_TIMEOUT
start=$(date +%s)
"$MPIRUN_SH" 4 "$PROTEINDIFF" config "$top_srcdir/input/quickstart.cfg" --set debug.fail_rank=1 > "$TMP/out" 2>&1
rc=$?
end=$(date +%s)
[ "$rc" -ne 0 ] && pass "forced failure exits non-zero ($rc)" || fail "forced failure exited 0"
[ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] && pass "no hang ($((end - start)) s)" || fail "timed out: hang"
expect_contains "$TMP/out" "rank 1: forced failure on rank 1" "message names the failing rank"
n=$(grep -c "forced failure" "$TMP/out")
[ "$n" -eq 1 ] && pass "message printed once" || fail "message printed $n times"

printf 'featurize = { min_lenn = 3; };\n' > "$TMP/bad.cfg"
"$MPIRUN_SH" 4 "$PROTEINDIFF" config "$TMP/bad.cfg" > "$TMP/out2" 2>&1 && fail "bad run file under 4 ranks exits non-zero"
n=$(grep -c "unknown key" "$TMP/out2")
[ "$n" -eq 1 ] && pass "config error printed once under 4 ranks" || fail "config error printed $n times"
finish
