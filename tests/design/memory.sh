#!/bin/sh
# memory.sh — inference within run.memory_budget_mb (issue 21), with tiny models trained by
# `proteindiff run` in the test: encode and evaluate print their memory plans; the estimates of
# the sampler's DiT call and of an encoded entry are within 25 % of the arena's measured peak;
# design cuts a backbone's samples into groups that fit a small budget and writes the same bytes
# as with the default budget; a backbone too long for the budget stops design on 2 ranks in
# seconds with one message naming it, its length and the bytes; encode refuses an entry too long
# for the budget by name before touching the complete latents file.
. "$top_srcdir/tests/design/designlib.sh"
write_run_file
if run_pipeline 1 pipeline.log; then pass "tiny models trained by proteindiff run"; else
    fail "proteindiff run"; sed 's/^/  | /' "$TMP/pipeline.log" >&2; finish; fi
expect_contains "$TMP/pipeline.log" "encode memory plan (sc_vae, per rank): budget" "encode prints its plan"
expect_contains "$TMP/pipeline.log" "design memory plan (per rank): budget" "evaluate prints the design plan"
LONG="$PDB/1lee.pdb"

# design NP LOG ARGS...: exit status; output in $TMP/LOG
design() { np=$1; log=$2; shift 2; (cd "$TMP" && "$MPIRUN_SH" "$np" "$PROTEINDIFF" design run.cfg "$@") > "$TMP/$log" 2>&1; }
design_ok() {
    what=$1; shift
    if design "$@"; then pass "$what"; else fail "$what"; sed 's/^/  | /' "$TMP/$2" >&2; fi
}

# The default budget holds the 4 samples of the long chain in one DiT call; a small one cuts them.
design_ok "design 1lee, default budget" 1 whole.log --structure "$LONG" --samples 4 --temperatures "0 0.5" --seed 3 \
    --out "$TMP/whole.fasta"
design_ok "design 1lee, run.memory_budget_mb = 8" 1 cut.log --structure "$LONG" --samples 4 --temperatures "0 0.5" \
    --seed 3 --out "$TMP/cut.fasta" --set run.memory_budget_mb=8
grep -q "1 backbone(s) in 1 sampler group(s)" "$TMP/whole.log" && pass "default budget: one sampler group" \
    || { fail "default budget: groups"; sed 's/^/  | /' "$TMP/whole.log" >&2; }
groups=$(sed -n 's/.*1 backbone(s) in \([0-9]*\) sampler group(s).*/\1/p' "$TMP/cut.log")
[ "${groups:-0}" -ge 2 ] && pass "small budget: the 4 samples in $groups sampler groups" \
    || { fail "small budget: groups '$groups'"; sed 's/^/  | /' "$TMP/cut.log" >&2; }
cmp -s "$TMP/whole.fasta" "$TMP/cut.fasta" && pass "the same FASTA bytes whatever the grouping" || fail "grouping changed the designs"

# The plan's estimates against the arena's peak (design's sampler on 1lee, evaluate's, encode's).
"$PY" - "$TMP/whole.log" "$TMP/cut.log" "$TMP/pipeline.log" <<'PYEOF' && pass "inference estimates within 25 % of the measured peak" \
    || fail "inference estimates vs measured peaks"
import re, sys
bad = 0
for path in sys.argv[1:]:
    for line in open(path):
        m = re.search(r"(design memory: largest arena peak of a sampler run|encode \w+: memory: largest arena peak of an entry) "
                      r"([0-9.]+) MiB against the plan's ([0-9.]+) MiB", line)
        if m:
            ratio = float(m.group(2)) / float(m.group(3))
            print(f"  {path.split('/')[-1]}: {m.group(1)}: {m.group(2)} / {m.group(3)} MiB = {ratio:.3f}")
            bad += abs(ratio - 1) > 0.25
sys.exit(1 if bad else 0)
PYEOF
for what in "design memory: largest arena peak" "encode sc_vae: memory: largest arena peak" "encode bb_vae: memory: largest arena peak"; do
    cat "$TMP/whole.log" "$TMP/pipeline.log" | grep -q "$what" && pass "reported: $what" || fail "not reported: $what"
done

# A chain too long for the budget: every rank ends, in seconds, with one message naming it.
start=$(date +%s)
design 2 tiny.log --structure "$LONG" --samples 4 --out "$TMP/tiny.fasta" --set run.memory_budget_mb=1
rc=$?
end=$(date +%s)
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] && [ $((end - start)) -lt 60 ] \
    && pass "design with a 1 MiB budget ended on every rank (exit $rc, $((end - start)) s)" || fail "design: exit $rc after $((end - start)) s"
grep -q "design memory plan: backbone 1lee ([0-9]* residues) does not fit the budget of 1.0 MiB per rank (run.memory_budget_mb)" \
    "$TMP/tiny.log" && pass "the message names the backbone, its length and the budget" \
    || { fail "design message"; sed 's/^/  | /' "$TMP/tiny.log" >&2; }
n=$(grep -c "design memory plan: backbone 1lee" "$TMP/tiny.log")
[ "$n" -eq 1 ] && pass "message printed once" || fail "message printed $n times"
[ -e "$TMP/tiny.fasta" ] && fail "a FASTA was written" || pass "no FASTA written"

# encode: an entry too long for the budget is refused by name; the complete latents stay as they were.
lat="$TMP/run/latents/bb_vae.h5"
before=$(cksum < "$lat")
(cd "$TMP" && "$MPIRUN_SH" 2 "$PROTEINDIFF" encode run.cfg --stage bb_vae --force --set run.memory_budget_mb=1) > "$TMP/enc.log" 2>&1
rc=$?
[ "$rc" -ne 0 ] && pass "encode with a 1 MiB budget fails (exit $rc)" || fail "encode exited 0 with a 1 MiB budget"
grep -q "encode memory plan: stage bb_vae cannot encode entry [^ ]* ([0-9]* residues) within a budget of 1.0 MiB" "$TMP/enc.log" \
    && pass "encode names the entry, its length and the budget" || { fail "encode message"; sed 's/^/  | /' "$TMP/enc.log" >&2; }
[ "$(cksum < "$lat")" = "$before" ] && pass "the complete latents file is unchanged" || fail "the latents file changed"
finish
