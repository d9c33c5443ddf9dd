#!/bin/sh
# fetch_pdb.sh — tools/fetch-pdb downloads by ID from a mirror (a local file:// mirror here:
# tests never touch the network), resumes, and reports IDs it could not get; the demo-set
# list names exactly the structures in ../shared/data/pdb.
. "$top_srcdir/tests/testlib.sh"
command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }
mkdir -p "$TMP/mirror"
printf 'HEADER    TEST\nEND\n' | gzip > "$TMP/mirror/1ABC.cif.gz"
printf 'data_2XYZ\n' | gzip > "$TMP/mirror/2XYZ.cif.gz"
printf '# comment\n1abc\n\n2xyz  # trailing comment\n' > "$TMP/ids.txt"
PD_PDB_URL="file://$TMP/mirror" "$top_srcdir/tools/fetch-pdb" "$TMP/ids.txt" "$TMP/out" > "$TMP/log" 2>&1 \
    && pass "fetch-pdb downloads a list" || { fail "fetch-pdb failed"; cat "$TMP/log" >&2; }
[ -s "$TMP/out/1ABC.cif.gz" ] && [ -s "$TMP/out/2XYZ.cif.gz" ] && pass "files named ID.cif.gz" || fail "files missing"
PD_PDB_URL="file://$TMP/mirror" "$top_srcdir/tools/fetch-pdb" 9zzz "$TMP/out" > "$TMP/log2" 2>&1 \
    && fail "a missing ID exits non-zero" || pass "a missing ID exits non-zero"
expect_contains "$TMP/log2" "could not download 9zzz" "the missing ID is named"
[ ! -e "$TMP/out/9ZZZ.cif.gz.part" ] && pass "no partial file left" || fail "partial file left"

need_shared
n_ids=$(grep -vc '^#' "$top_srcdir/input/demo-set.txt")
n_files=$(tail -n +2 "$PD_SHARED/data/pdb/MANIFEST.tsv" | wc -l)
[ "$n_ids" -eq "$n_files" ] && pass "demo-set.txt lists $n_ids IDs, one per shared structure" \
    || fail "demo-set.txt has $n_ids IDs but MANIFEST.tsv lists $n_files files"
for id in $(grep -v '^#' "$top_srcdir/input/demo-set.txt" | head -50); do
    grep -qi "id=$id;" "$PD_SHARED/data/pdb/MANIFEST.tsv" || fail "$id not in MANIFEST.tsv"
done
finish
