#!/bin/sh
# broken_inputs.sh — featurize the whole broken-input corpus (tests/data/broken plus a 100k-atom
# assembly and a 1 MB line made here) in one run on 1 and on 2 ranks: no crash, the run
# completes, every file gives its expected entries or its recorded reason (EXPECTED.tsv), the
# dataset opens (inspect) and exports without writing outside the export folder, nothing
# non-finite is stored for a valid residue, and both rank counts write the same content.
. "$top_srcdir/tests/testlib.sh"
need_shared
PD_TEST_TIMEOUT=180; export PD_TEST_TIMEOUT
PY="${PYTHON_REF:-/usr/bin/python3}"
BROKEN="$top_srcdir/tests/data/broken"

mkdir -p "$TMP/in"
for f in "$BROKEN"/*; do
    case "$f" in *.py|*.tsv) ;; *) cp "$f" "$TMP/in/" ;; esac
done
"$PY" "$top_srcdir/tests/hardening/make_big_inputs.py" "$PD_SHARED" "$TMP/in" > /dev/null || fail "make_big_inputs.py"
cat > "$TMP/run.cfg" <<CFG
data = { inputs = ["$TMP/in"]; dataset = "$TMP/np1/d.h5"; };
featurize = { min_len = 1; voxel_size = 8; files_per_round = 4; };
CFG

for np in 1 2; do
    "$MPIRUN_SH" $np "$PROTEINDIFF" featurize "$TMP/run.cfg" --set data.dataset="$TMP/np$np/d.h5" > "$TMP/out$np" 2>&1
    rc=$?
    [ $rc -eq 0 ] && pass "featurize of the broken corpus on $np rank(s) completes" \
        || { fail "featurize on $np rank(s) exited $rc"; tail -20 "$TMP/out$np" >&2; }
done
expect_contains "$TMP/out1" "29 structure files" "every broken input was taken as an input"

"$PY" "$top_srcdir/tests/hardening/check_broken.py" "$TMP/np1/d.h5" "$BROKEN/EXPECTED.tsv" "$TMP/np2/d.h5" > "$TMP/check" 2>&1 \
    && pass "expected entries and reasons, finite features, same content on 2 ranks ($(grep 'cases checked' "$TMP/check"))" \
    || { fail "check_broken.py"; grep -v '^ok' "$TMP/check" >&2; }

"$PROTEINDIFF" inspect "$TMP/np1/d.h5" > "$TMP/inspect" 2>&1 && pass "inspect opens the dataset" \
    || { fail "inspect refused the dataset"; cat "$TMP/inspect" >&2; }
expect_contains "$TMP/inspect" "complete" "inspect reports a complete dataset"

# An author chain id "../../escape" must not put an image outside the export folder.
mkdir -p "$TMP/export"
"$PROTEINDIFF" export "$TMP/np1/d.h5" --png "$TMP/export/png" --fasta "$TMP/export/seq.fasta" > "$TMP/export.out" 2>&1 \
    && pass "export --png --fasta" || { fail "export failed"; cat "$TMP/export.out" >&2; }
escaped=$(find "$TMP" -name '*.png' ! -path "$TMP/export/png/*" | wc -l)
[ "$escaped" -eq 0 ] && pass "no image written outside the export folder" || fail "$escaped image(s) escaped the export folder"
[ -f "$TMP/export/png/bin_1_39/odd-chain-ids_.._.._escape.png" ] && pass "a path-like chain id becomes a plain file name" \
    || fail "odd-chain-ids_.._.._escape.png missing"

# The assembly as one unit: refused with its reason, the rest of the run goes on.
"$MPIRUN_SH" 1 "$PROTEINDIFF" featurize "$TMP/run.cfg" --set data.dataset="$TMP/asm/d.h5" --set featurize.unit=assembly \
    --set featurize.max_len=1024 > "$TMP/out-asm" 2>&1 && pass "assembly-mode run completes" \
    || { fail "assembly-mode run"; tail -20 "$TMP/out-asm" >&2; }
"$PY" - "$TMP/asm/d.h5" > "$TMP/asm.check" 2>&1 <<'PY' && pass "assembly of 221 chains: '12818 residues > max_len 1024'" || { fail "assembly reason"; cat "$TMP/asm.check" >&2; }
import sys, h5py
f = h5py.File(sys.argv[1], "r")
reasons = [(s.decode().rsplit("/", 1)[-1], r.decode()) for s, r in zip(f["failed/source"][:], f["failed/reason"][:])]
assert ("assembly-100k.cif", "assembly: 12818 residues > max_len 1024") in reasons, reasons
PY
finish
