#!/bin/sh
# resume.sh — `design` over a folder of real structures on 2 real ranks is killed (kill -9 on
# both ranks) after some structures are journaled in OUT.parts/ (PD_DEBUG_DESIGN_STALL pauses
# after each one); running the same command again designs only the rest, and its FASTA and
# --probs equal those of an uninterrupted run byte for byte (the HDF5 arrays value for value).
# A journal written with other settings is refused instead of mixed in.
# a hang guard only; a loaded 2-core machine needs more than the usual 120 s
: "${PD_TEST_TIMEOUT:=300}"; export PD_TEST_TIMEOUT
. "$top_srcdir/tests/design/designlib.sh"
write_run_file
if run_pipeline 1 pipeline.log; then pass "tiny models trained by proteindiff run"; else
    fail "proteindiff run"; sed 's/^/  | /' "$TMP/pipeline.log" >&2; finish; fi
mkdir -p "$TMP/structs"
for f in 1bpi.pdb 1CRN.cif 1tap.pdb 1UCS_A.pdb 1LCD.cif 1FAS.cif 1vfy.pdb 6MRR.pdb; do cp "$PDB/$f" "$TMP/structs/"; done
# design NAME OUT ARGS...: 2 ranks, log in $TMP/NAME.log
design() {
    name=$1; out=$2; shift 2
    (cd "$TMP" && "$MPIRUN_SH" 2 "$PROTEINDIFF" design run.cfg --structure "$TMP/structs" --out "$out" --probs "$out.h5" \
        --temperatures "0 0.5" "$@") > "$TMP/$name.log" 2>&1
}
if design whole "$TMP/whole.fasta"; then pass "uninterrupted design of 8 structures"; else
    fail "uninterrupted design"; sed 's/^/  | /' "$TMP/whole.log" >&2; fi

ranks_of() {
    for child in $(pgrep -P "$1"); do
        [ "$(ps -o comm= -p "$child")" = proteindiff ] && echo "$child"
        ranks_of "$child"
    done
}
PD_DEBUG_DESIGN_STALL=600 design killed "$TMP/resumed.fasta" &
job=$!
# wait until both ranks have journaled a structure (each then pauses), then kill -9
i=0
while [ "$(grep -c "PD_DEBUG_DESIGN_STALL" "$TMP/killed.log" 2>/dev/null)" -lt 2 ] && [ $i -lt 2400 ]; do i=$((i + 1)); sleep 0.1; done
pids=$(ranks_of $job)
[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
wait $job
if [ ! -f "$TMP/resumed.fasta" ] && [ "$(ls "$TMP/resumed.fasta.parts" | wc -l)" -ge 2 ]; then
    pass "killed run: no FASTA, journal files in OUT.parts/"; else fail "after the kill: $(ls "$TMP"/resumed.fasta* 2>&1)"; fi

# other settings: refused, naming the folder
if design other "$TMP/resumed.fasta" --seed 99; then fail "a journal of other settings was used"; else
    expect_contains "$TMP/other.log" "holds designs made with other settings" "a journal of other settings is refused"; fi

if design resumed "$TMP/resumed.fasta"; then pass "the same command again"; else fail "resume"; sed 's/^/  | /' "$TMP/resumed.log" >&2; fi
# normally 2 (one per rank); fewer if the hang guard ended the killed run first
n=$(sed -n 's/.*design: resuming: \([0-9]*\) of 8 structure(s) already designed.*/\1/p' "$TMP/resumed.log")
if [ -n "$n" ] && [ "$n" -ge 1 ] && [ "$n" -le 7 ]; then pass "the rerun skips the $n journaled structures"; else
    fail "the rerun did not resume"; sed 's/^/  | /' "$TMP/resumed.log" >&2; n=0; fi
expect_contains "$TMP/resumed.log" "structures $((8 - n))/$((8 - n)) (100.0%)" "the rerun designs only the other $((8 - n))"
if cmp -s "$TMP/whole.fasta" "$TMP/resumed.fasta"; then pass "resumed FASTA = uninterrupted FASTA (bytes)"; else
    fail "resumed FASTA differs"; diff "$TMP/whole.fasta" "$TMP/resumed.fasta" | head -5 >&2; fi
if [ ! -e "$TMP/resumed.fasta.parts" ]; then pass "the journal is removed when the FASTA is written"; else fail "OUT.parts left behind"; fi
"$PY" - "$TMP/whole.fasta.h5" "$TMP/resumed.fasta.h5" <<'PYEOF' && pass "resumed --probs = uninterrupted --probs" || fail "--probs differ"
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:])
for k in ("probs", "valid", "resnum", "chain", "icode", "entries/name", "entries/residue_offset", "entries/length"):
    assert np.array_equal(a[k][()], b[k][()]), k
assert len(a["entries/name"]) == 8
PYEOF
finish
