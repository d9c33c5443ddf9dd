#!/bin/sh
# design_input.sh — files that break other design tools give `design` the same input as their
# plain twins (tests/data/design-input/README.md): protonation-state residue names (HIE, HID,
# HIP, CYX, CYM, ASH, GLH, LYN), ligands named like amino acids that are not bonded to a chain,
# and multi-letter mmCIF chain ids. Checked on the reader's output (dump_target) and end to end:
# designing each twin on 2 real ranks (residues fixed by name, so the names matter) gives the same
# sequences; multi-letter chains work in --chains, --fixed and --pdb-out.
# a hang guard only; a loaded 2-core machine needs more than the usual 120 s
: "${PD_TEST_TIMEOUT:=300}"; export PD_TEST_TIMEOUT
. "$top_srcdir/tests/design/designlib.sh"
DATA="$top_srcdir/tests/data/design-input"
DUMP="$top_builddir/tests/design/dump_target"
"$DUMP" "$DATA/plain.pdb" > "$TMP/plain.dump" || fail "dump plain.pdb"
for f in protonation protonation-hid ligand; do
    "$DUMP" "$DATA/$f.pdb" > "$TMP/$f.dump" || fail "dump $f.pdb"
    if cmp -s "$TMP/plain.dump" "$TMP/$f.dump"; then pass "$f.pdb: same design input as plain.pdb"; else
        fail "$f.pdb reads differently"; diff "$TMP/plain.dump" "$TMP/$f.dump" | head -5 >&2; fi
done
if grep -q "^A5 C" "$TMP/protonation.dump" && grep -q "^A11 H" "$TMP/protonation.dump" && grep -q "^A31 K" "$TMP/protonation.dump"
then pass "CYX, HIE, LYN read as C, H, K"; else fail "protonation names not mapped"; fi
"$DUMP" "$DATA/two-chains.cif" > "$TMP/two.dump"
"$DUMP" "$DATA/multiletter-chains.cif" > "$TMP/multi.dump"
if head -1 "$TMP/multi.dump" | grep -qx "chains AC:17 B2:20" &&
   sed 's/^AC/A/; s/^B2/B/; s/ AC:/ A:/; s/ B2:/ B:/' "$TMP/multi.dump" | cmp -s - "$TMP/two.dump"; then
    pass "multi-letter mmCIF chain ids: same design input as one-letter ids"; else fail "multi-letter chains read differently"; fi

write_run_file
if run_pipeline 1 pipeline.log; then pass "tiny models trained by proteindiff run"; else
    fail "proteindiff run"; sed 's/^/  | /' "$TMP/pipeline.log" >&2; finish; fi
# design NAME FILE ARGS...: FILE copied to $TMP/NAME/x.<ext> (the stem keys the noise), 2 ranks
design() {
    name=$1; file=$2; shift 2
    mkdir -p "$TMP/$name"
    cp "$file" "$TMP/$name/x.${file##*.}"
    (cd "$TMP" && "$MPIRUN_SH" 2 "$PROTEINDIFF" design run.cfg --structure "$TMP/$name/x.${file##*.}" --out "$TMP/$name.fasta" \
        --temperatures "0 0.5" "$@") > "$TMP/$name.log" 2>&1 || { fail "design $name"; sed 's/^/  | /' "$TMP/$name.log" >&2; }
}
fields() { sed 's/, source=.*//' "$1"; }
design plain "$DATA/plain.pdb" --fixed "A5-12 A31"
for f in protonation protonation-hid ligand; do
    design "$f" "$DATA/$f.pdb" --fixed "A5-12 A31"
    if [ -s "$TMP/$f.fasta" ] && [ "$(fields "$TMP/$f.fasta")" = "$(fields "$TMP/plain.fasta")" ]; then
        pass "$f.pdb designs the same as plain.pdb"; else fail "$f.pdb designs differently"; fi
done
design two "$DATA/two-chains.cif" --fixed "A5-8 B21" --chains A,B
design multi "$DATA/multiletter-chains.cif" --fixed "AC5-8 B221" --chains AC,B2 --pdb-out "$TMP/pdbs"
if [ -s "$TMP/multi.fasta" ] && grep -q "chains=AC/B2, length=37, designed=32, fixed=5" "$TMP/multi.fasta" &&
   [ "$(fields "$TMP/multi.fasta" | sed 's/chains=AC\/B2/chains=A\/B/')" = "$(fields "$TMP/two.fasta")" ]; then
    pass "multi-letter chain ids in --chains and --fixed (B221 = chain B2, residue 21): same designs"; else
    fail "multi-letter chains design differently"; fi
"$DUMP" "$TMP/pdbs/x_T0_s1.pdb" > "$TMP/back.dump" 2>&1
if head -1 "$TMP/back.dump" | grep -qx "chains AC:17 B2:20"; then pass "--pdb-out keeps two-letter chain ids"; else
    fail "--pdb-out chains: $(head -1 "$TMP/back.dump")"; fi
finish
