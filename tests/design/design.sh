#!/bin/sh
# design.sh — `proteindiff design` with tiny models trained by `proteindiff run` in the test, on
# real structures: the FASTA layout (native record, then one record per sample and temperature
# with T, sample, seed, NLLs and a recovery that the test recomputes from the sequences), fixed
# positions kept, --omit-aa respected, --sequence-prefill, temperature 0 reproducible, 1 vs 2
# ranks byte-identical on a folder, and a backbone-only file whose residues are all renamed GLY
# designing exactly what the full-atom file designs (the model never reads residue names).
. "$top_srcdir/tests/design/designlib.sh"
write_run_file
if run_pipeline 1 pipeline.log; then pass "tiny models trained by proteindiff run"; else
    fail "proteindiff run"; sed 's/^/  | /' "$TMP/pipeline.log" >&2; finish; fi

# design ARGS...: exit status; output in $TMP/design.log
design() { (cd "$TMP" && "$MPIRUN_SH" 1 "$PROTEINDIFF" design run.cfg "$@") > "$TMP/design.log" 2>&1; }
design_ok() {
    what=$1; shift
    if design "$@"; then pass "$what"; else fail "$what"; sed 's/^/  | /' "$TMP/design.log" >&2; fi
}

# Fixed A1-10 (author numbers 1..10 of 1bpi), only W and Y allowed elsewhere, two temperatures.
design_ok "design 1bpi" --structure "$PDB/1bpi.pdb" --fixed "A1-10" --omit-aa "ACDEFGHIKLMNPQRSTV" \
    --samples 2 --temperatures "0 0.5" --seed 7 --out "$TMP/a.fasta"
"$PY" - "$TMP/a.fasta" <<'PYEOF' && pass "FASTA layout, fixed positions, omit-aa, recovery" || fail "FASTA content"
import sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == "", "no final newline"
recs = [(lines[i][1:], lines[i + 1]) for i in range(0, len(lines) - 1, 2)]
assert len(recs) == 5, f"{len(recs)} records, expected native + 2 samples x 2 temperatures"
head, native = recs[0]
f = [x.strip() for x in head.split(",")]
assert f[0] == "1bpi" and f[1] == "native", head
meta = dict(x.split("=", 1) for x in f[2:])
assert meta["chains"] == "A" and meta["length"] == "58" and meta["fixed"] == "10" and meta["designed"] == "48", meta
assert native.startswith("RPDFCLEPPYTGPC") and len(native) == 58, native
seen = []
for head, seq in recs[1:]:
    f = [x.strip() for x in head.split(",")]
    assert f[0] == "1bpi", head
    kv = dict(x.split("=", 1) for x in f[1:])
    assert set(kv) == {"T", "sample", "seed", "nll_designed", "nll_all", "recovery"}, head
    assert kv["seed"] == "7", head
    seen.append((float(kv["T"]), int(kv["sample"])))
    assert len(seq) == 58, seq
    assert seq[:10] == native[:10], f"fixed positions changed: {seq[:10]} vs {native[:10]}"
    assert set(seq[10:]) <= set("WY"), f"omitted letters used: {seq}"
    rec = sum(a == b for a, b in zip(seq[10:], native[10:])) / 48
    assert abs(rec - float(kv["recovery"])) < 1e-4, (rec, kv["recovery"])
    assert float(kv["nll_designed"]) > 0 and float(kv["nll_all"]) > 0, head
assert seen == [(0.0, 1), (0.0, 2), (0.5, 1), (0.5, 2)], seen
PYEOF

# Temperature 0 (and 0.5) are reproducible: the same command gives the same bytes.
design_ok "design 1bpi again" --structure "$PDB/1bpi.pdb" --fixed "A1-10" --omit-aa "ACDEFGHIKLMNPQRSTV" \
    --samples 2 --temperatures "0 0.5" --seed 7 --out "$TMP/a2.fasta"
if cmp -s "$TMP/a.fasta" "$TMP/a2.fasta"; then pass "same seed, same FASTA"; else fail "a second design differs"; fi

# --sequence-prefill: its letters are the fixed positions (X / - are designed).
printf '>1bpi\nWWWWW-----------------------------------------------------\n' > "$TMP/prefill.fasta"
design_ok "design with a prefill" --structure "$PDB/1bpi.pdb" --sequence-prefill "$TMP/prefill.fasta" --out "$TMP/p.fasta"
if sed -n 4p "$TMP/p.fasta" | grep -q '^WWWWW' && grep -q 'fixed=5,' "$TMP/p.fasta"; then pass "prefill letters kept";
else fail "prefill letters not kept"; sed 's/^/  | /' "$TMP/p.fasta" >&2; fi

# 1 vs 2 ranks on a folder: identical bytes, records in input (sorted path) order.
mkdir -p "$TMP/structs"
cp "$PDB/1bpi.pdb" "$PDB/1CRN.cif" "$PDB/1tap.pdb" "$PDB/1UCS_A.pdb" "$TMP/structs/"
design_ok "design a folder on 1 rank" --structure "$TMP/structs" --out "$TMP/f1.fasta"
if (cd "$TMP" && "$MPIRUN_SH" 2 "$PROTEINDIFF" design run.cfg --structure "$TMP/structs" --out "$TMP/f2.fasta") > "$TMP/f2.log" 2>&1
then pass "design a folder on 2 ranks"; else fail "design on 2 ranks"; sed 's/^/  | /' "$TMP/f2.log" >&2; fi
if cmp -s "$TMP/f1.fasta" "$TMP/f2.fasta"; then pass "1 and 2 ranks write the same FASTA"; else fail "1 vs 2 ranks differ"; fi
order=$(grep native "$TMP/f2.fasta" | cut -d, -f1 | tr '\n' ' ')
if [ "$order" = ">1CRN >1UCS_A >1bpi >1tap " ]; then pass "input order"; else fail "record order: $order"; fi

# Backbone only (N, CA, C, O), every residue renamed GLY, same file stem: same designs.
mkdir -p "$TMP/bb"
awk '/^(ATOM|HETATM)/ { a = substr($0, 13, 4); gsub(/ /, "", a);
       if (a == "N" || a == "CA" || a == "C" || a == "O") print substr($0, 1, 17) "GLY" substr($0, 21); next }
     { print }' "$PDB/1bpi.pdb" > "$TMP/bb/1bpi.pdb"
design_ok "design a backbone-only poly-GLY file" --structure "$TMP/bb/1bpi.pdb" --out "$TMP/bb.fasta"
design_ok "design the full-atom file" --structure "$PDB/1bpi.pdb" --out "$TMP/full.fasta"
if [ "$(grep -v '^>' "$TMP/bb.fasta" | sed 1d)" = "$(grep -v '^>' "$TMP/full.fasta" | sed 1d)" ] &&
   [ "$(grep -c '^>' "$TMP/bb.fasta")" = 5 ]; then
    pass "backbone-only input designs the same sequences (residue names unused)"
else fail "backbone-only designs differ"; fi

# An unknown chain is refused naming the chains the file has.
if design --structure "$PDB/1bpi.pdb" --chains Z --out "$TMP/z.fasta"; then fail "--chains Z accepted"; else
    expect_contains "$TMP/design.log" "its protein chains: A" "unknown chain refused"; fi
finish
