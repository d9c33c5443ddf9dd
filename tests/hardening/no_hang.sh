#!/bin/sh
# no_hang.sh — a write failure on one rank during featurize (injected with the writer's test
# hook PD_DEBUG_FAIL_WRITE_RANK, src/dataset/writer.h) ends every rank within seconds with that
# rank's message, printed once, and leaves no complete-looking dataset; on 2 ranks, failing
# rank 1 and then rank 0, and on 1 rank.
. "$top_srcdir/tests/testlib.sh"
need_shared
PD_TEST_TIMEOUT=60; export PD_TEST_TIMEOUT
PDB="$PD_SHARED/data/pdb"
cat > "$TMP/run.cfg" <<CFG
data = { inputs = ["$PDB/1CRN.cif", "$PDB/1bpi.pdb", "$PDB/1vii.pdb.gz", "$PDB/1kqe.cif"]; dataset = "$TMP/out/d.h5"; };
featurize = { min_len = 5; voxel_size = 4; files_per_round = 1; };
CFG
for case in "2 1" "2 0" "1 0"; do
    set -- $case
    np=$1 bad=$2
    rm -rf "$TMP/out"
    start=$(date +%s)
    PD_DEBUG_FAIL_WRITE_RANK=$bad "$MPIRUN_SH" $np "$PROTEINDIFF" featurize "$TMP/run.cfg" > "$TMP/log" 2>&1
    rc=$?
    took=$(( $(date +%s) - start ))
    [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -ne 137 ] && pass "$np rank(s), rank $bad fails its write: exit $rc in $took s, no hang" \
        || { fail "$np rank(s), rank $bad: exit $rc after $took s (124/137 = timeout: a hang)"; tail -20 "$TMP/log" >&2; }
    [ $took -le 30 ] && pass "ended within 30 s" || fail "took $took s"
    who="rank $bad: "; [ $np -eq 1 ] && who="error: "
    expect_contains "$TMP/log" "${who}cannot extend /voxels/divergence" "message names the failing rank and the dataset"
    expect_contains "$TMP/log" "PD_DEBUG_FAIL_WRITE_RANK=$bad" "message says the failure was injected"
    n=$(grep -c "failure injected" "$TMP/log")
    [ "$n" -eq 1 ] && pass "message printed once" || fail "message printed $n times"
    [ ! -e "$TMP/out/d.h5" ] && pass "no complete-looking d.h5 left" || fail "d.h5 exists after a failed run"
done
# The same run without the hook completes (the hook is all that failed it).
rm -rf "$TMP/out"
"$MPIRUN_SH" 2 "$PROTEINDIFF" featurize "$TMP/run.cfg" > "$TMP/log" 2>&1 && [ -f "$TMP/out/d.h5" ] \
    && pass "without the hook the run completes" || { fail "run without the hook failed"; tail -20 "$TMP/log" >&2; }
finish
