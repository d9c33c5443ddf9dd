#!/bin/sh
# featurize_e2e.sh — `proteindiff featurize` on 20 real structures plus awkward inputs (empty,
# not a structure, truncated), given through a list file: 1, 2 and 4 ranks give identical
# dataset bytes, and so does gzip on 2 ranks; progress under mpirun has no terminal redraws;
# a re-run is a no-op and --force rebuilds; PNG and FASTA export match the
# dataset; inspect summarises it and refuses a corrupted copy; a killed run leaves only the
# .partial file; nothing usable is a non-zero exit; an unwritable output ends all ranks.
. "$top_srcdir/tests/testlib.sh"
need_shared
PD_TEST_TIMEOUT=120; export PD_TEST_TIMEOUT
PY="${PYTHON_REF:-/usr/bin/python3}"
CHECK="$top_srcdir/tests/dataset/check_dataset.py"
PDB="$PD_SHARED/data/pdb"

mkdir -p "$TMP/awkward"
: > "$TMP/awkward/empty.pdb"
printf 'this is not a structure\njust text\n' > "$TMP/awkward/notes.cif"
head -c 3000 "$PDB/1bpi.pdb" > "$TMP/awkward/truncated.pdb"
{
    echo "# 20 real structures (gz, mmCIF, NMR, MSE, altlocs, 4-char chains, no protein, too short)"
    for f in 1AJJ.pdb 1CRN.cif 1A8O.cif 1ah1.cif.gz 1ahsA.pdb.gz 1cbn.cif 1hh0_4char.cif.gz 251c.cif \
             4hhb.pdb.gz 1bpi.pdb d1nj1a1.ent 1ctf.pdb.gz 1vii.pdb.gz 3ddo_raw_noseqres.pdb.gz 1CKB.pdb \
             2O9S_A.pdb 1PTF_A.pdb 3MQI_A.pdb 1cbs.cif.gz 5ta4.cif.gz; do
        echo "$PDB/$f"
    done
    echo "awkward/empty.pdb"
    echo "awkward/notes.cif"
    echo "awkward/truncated.pdb"
} > "$TMP/inputs.txt"
cat > "$TMP/run.cfg" <<CFG
data = { inputs = ["$TMP/inputs.txt"]; dataset = "$TMP/np1/d.h5"; };
featurize = { files_per_round = 3; };
CFG

for np in 1 2 4; do
    "$MPIRUN_SH" $np "$PROTEINDIFF" featurize "$TMP/run.cfg" --set data.dataset="$TMP/np$np/d.h5" > "$TMP/out$np" 2>&1
    rc=$?
    [ $rc -eq 0 ] && pass "featurize on $np rank(s)" || { fail "featurize on $np rank(s) exited $rc"; tail -20 "$TMP/out$np" >&2; }
done
expect_contains "$TMP/out1" "23 structure files" "all 23 inputs of the list file were expanded"
# Under mpirun a rank's stdout is a pty even when the log is a file: no terminal redraws there.
esc=$(printf '\033')
if grep -q "$esc" "$TMP/out2"; then fail "progress redraws (escape sequences) in a 2-rank log file"; else pass "plain progress lines under mpirun"; fi
expect_contains "$TMP/out1" "skipped, by reason" "summary lists failures by reason"
expect_contains "$TMP/out1" "bytes/residue" "summary gives bytes per residue"
[ -f "$TMP/np1/d.h5" ] && [ ! -e "$TMP/np1/d.h5.partial" ] && pass "complete file renamed, no .partial left" || fail "file naming after a run"
for np in 2 4; do
    if "$PY" "$CHECK" compare "$TMP/np1/d.h5" "$TMP/np$np/d.h5" > "$TMP/cmp$np" 2>&1; then
        pass "1 and $np ranks give identical dataset bytes"
    else
        fail "1 and $np ranks differ"; cat "$TMP/cmp$np" >&2
    fi
done
# Collective filtered writes: gzip voxels on 2 ranks (rank boundaries inside chunks, chunks
# spanning rounds) decode to the same bytes as the plain 1-rank file.
"$MPIRUN_SH" 2 "$PROTEINDIFF" featurize "$TMP/run.cfg" --set data.dataset="$TMP/gz2/d.h5" \
    --set featurize.compression=4 > "$TMP/outgz2" 2>&1 && pass "featurize with gzip voxels on 2 ranks" \
    || { fail "featurize with gzip voxels on 2 ranks"; tail -20 "$TMP/outgz2" >&2; }
expect_contains "$TMP/outgz2" "voxels gzip-compressed" "summary says the voxels are compressed"
if "$PY" "$CHECK" compare "$TMP/np1/d.h5" "$TMP/gz2/d.h5" > "$TMP/cmpgz2" 2>&1; then
    pass "gzip file on 2 ranks holds the same bytes as the plain file on 1 rank"
else
    fail "gzip file on 2 ranks differs"; cat "$TMP/cmpgz2" >&2
fi

# Re-run: no-op; --force: rebuilt.
before=$(stat -c %Y.%s "$TMP/np1/d.h5")
sleep 1
"$PROTEINDIFF" featurize "$TMP/run.cfg" > "$TMP/again" 2>&1 && pass "re-run exits 0" || fail "re-run failed"
expect_contains "$TMP/again" "nothing to do" "re-run over a complete dataset is a no-op"
[ "$(stat -c %Y.%s "$TMP/np1/d.h5")" = "$before" ] && pass "no-op left the file untouched" || fail "no-op rewrote the file"
"$PROTEINDIFF" featurize "$TMP/run.cfg" --force > "$TMP/force" 2>&1 && pass "--force exits 0" || fail "--force failed"
expect_contains "$TMP/force" "featurize: done" "--force rebuilds"
"$PY" "$CHECK" compare "$TMP/np1/d.h5" "$TMP/np2/d.h5" > /dev/null && pass "rebuilt file has the same content" || fail "rebuilt file differs"

# Export.
"$PROTEINDIFF" export "$TMP/np1/d.h5" --png "$TMP/png" --fasta "$TMP/seqs.fasta" > "$TMP/export" 2>&1 && pass "export exits 0" || { fail "export failed"; cat "$TMP/export" >&2; }
"$PY" "$CHECK" png "$TMP/png" "$TMP/np1/d.h5" > "$TMP/pngcheck" 2>&1 && pass "PNGs decode to the stored distograms" || { fail "PNG check"; cat "$TMP/pngcheck" >&2; }
"$PY" "$CHECK" fasta "$TMP/seqs.fasta" "$TMP/np1/d.h5" > "$TMP/fastacheck" 2>&1 && pass "FASTA matches the dataset" || { fail "FASTA check"; cat "$TMP/fastacheck" >&2; }

# Inspect, and a corrupted copy refused.
"$PROTEINDIFF" inspect "$TMP/np1/d.h5" > "$TMP/inspect" 2>&1 && pass "inspect exits 0" || fail "inspect failed"
expect_contains "$TMP/inspect" "splits      train" "inspect prints splits"
expect_contains "$TMP/inspect" "bin_129_192" "inspect prints the length histogram"
expect_contains "$TMP/inspect" "residues < min_len" "inspect prints failure reasons"
"$PY" "$CHECK" corrupt "$TMP/np1/d.h5" "$TMP/bad.h5" || fail "could not corrupt a copy"
"$PROTEINDIFF" inspect "$TMP/bad.h5" > "$TMP/badout" 2>&1 && fail "inspect accepted a corrupted file" || pass "inspect refuses a corrupted file"
expect_contains "$TMP/badout" "$TMP/bad.h5" "refusal names the file"
expect_contains "$TMP/badout" "residue_offset" "refusal names the bad offset"
"$PROTEINDIFF" export "$TMP/bad.h5" --fasta "$TMP/bad.fasta" > "$TMP/badexp" 2>&1 && fail "export accepted a corrupted file" || pass "export refuses a corrupted file"

# Kill -9 of mpirun mid-run: the ranks die with it, and there is no complete-looking file,
# only the .partial.
mkdir -p "$TMP/kill"
# (the whole folder, so the run lasts long enough to be killed in the middle)
"$MPIRUN_SH" 2 "$PROTEINDIFF" featurize "$TMP/run.cfg" --set data.dataset="$TMP/kill/d.h5" \
    --set data.inputs='["'"$PDB"'"]' --set featurize.files_per_round=1 > "$TMP/killout" 2>&1 &
pid=$!
i=0
while [ ! -e "$TMP/kill/d.h5.partial" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
sleep 0.5
mpirun_pid=$(pgrep -P "$pid")
ranks=$(pgrep -P "$mpirun_pid")
kill -9 "$mpirun_pid"
wait "$pid" 2>/dev/null
i=0
while [ $i -lt 100 ]; do
    alive=""
    for r in $ranks; do kill -0 "$r" 2>/dev/null && alive="$alive $r"; done
    [ -z "$alive" ] && break
    sleep 0.1; i=$((i + 1))
done
if [ -n "$alive" ]; then fail "ranks$alive outlived mpirun by 10 s"; for r in $alive; do kill -9 "$r"; done
else pass "ranks ended with mpirun"; fi
[ -e "$TMP/kill/d.h5.partial" ] && pass "killed run left its .partial file" || fail "no .partial after kill"
[ ! -e "$TMP/kill/d.h5" ] && pass "killed run left no complete-looking dataset" || fail "killed run produced $TMP/kill/d.h5"
"$PROTEINDIFF" inspect "$TMP/kill/d.h5.partial" > "$TMP/partial" 2>&1 && fail "inspect accepted a partial file" || pass "inspect refuses the partial file"
expect_contains "$TMP/partial" "incomplete" "partial file is reported incomplete"

# Nothing usable: non-zero exit, with the reason; the file still records the failures.
printf '%s\n' "$TMP/awkward/empty.pdb" "$TMP/awkward/notes.cif" > "$TMP/bad.txt"
"$PROTEINDIFF" featurize "$TMP/run.cfg" --set data.inputs='["'"$TMP/bad.txt"'"]' --set data.dataset="$TMP/none/d.h5" > "$TMP/none.out" 2>&1 \
    && fail "no usable entry exits 0" || pass "no usable entry exits non-zero"
expect_contains "$TMP/none.out" "no usable entry" "says nothing usable came out"

# An output nobody can write ends every rank with one message, quickly.
"$MPIRUN_SH" 2 "$PROTEINDIFF" featurize "$TMP/run.cfg" --set data.dataset=/proc/no/such/d.h5 > "$TMP/unwritable" 2>&1
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -ne 137 ] && pass "unwritable output fails cleanly ($rc)" || fail "unwritable output: exit $rc"
expect_contains "$TMP/unwritable" "/proc/no" "message names the output folder"
finish
