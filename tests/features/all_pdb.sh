# all_pdb.sh — pd_featurize_file over every structure in shared/data/pdb (315 files): no crash,
# no fatal status, every file accounted for (an entry or a recorded reason), no parse error on
# these real files, and the counts printed.
. "$top_srcdir/tests/testlib.sh"
need_shared
DUMP="$top_builddir/tests/features/dump_features"
ls "$PD_SHARED"/data/pdb/* | grep -v 'MANIFEST.tsv$' > "$TMP/files"
n_files=$(wc -l < "$TMP/files")
start=$(date +%s.%N)
if xargs "$DUMP" < "$TMP/files" > "$TMP/out" 2> "$TMP/err"; then pass "featurized $n_files files"; else fail "dump_features exited non-zero"; cat "$TMP/err" >&2; fi
end=$(date +%s.%N)
entries=$(grep -c '^entry ' "$TMP/out")
failed=$(grep -c '^failure ' "$TMP/out")
residues=$(awk '/^entry /{sub("length=","",$3); s+=$3} END {print s+0}' "$TMP/out")
echo "files $n_files, entries $entries, residues $residues, failures $failed, $(echo "$end - $start" | bc) s"
grep '^failure ' "$TMP/out" | sed 's/^failure [^:]*: //; s/^chain [^:]*:/chain X:/; s/[0-9][0-9]*/N/g' | sort | uniq -c | sort -rn
# Every file is accounted for.
missing=0
while read -r f; do
    stem=$(basename "$f"); stem=${stem%%.*}
    grep -q "^entry ${stem}_" "$TMP/out" || grep -qF "failure $f:" "$TMP/out" || { missing=$((missing + 1)); echo "unaccounted: $f" >&2; }
done < "$TMP/files"
[ "$missing" -eq 0 ] && pass "every file has an entry or a recorded reason" || fail "$missing files unaccounted for"
grep -q 'parse error\|cannot open\|not a structure\|empty file' "$TMP/out" && fail "a real file failed to parse: $(grep 'parse error\|cannot open\|not a structure\|empty file' "$TMP/out" | head -3)" || pass "no parse failures on real files"
[ "$entries" -ge 500 ] && pass "$entries entries (>= 500)" || fail "only $entries entries"
finish
