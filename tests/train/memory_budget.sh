#!/bin/sh
# memory_budget.sh — a rank out of memory on purpose: a 2-rank run that wrote a checkpoint is
# resumed with run.memory_budget_mb too small for one entry. The memory plan stops the job on
# every rank before any step, in seconds, with one message naming the stage, the entry, its length
# and the bytes it needs; the complete checkpoint stays complete (same bytes, no .tmp, nothing
# newer), and the same resume with enough memory continues from it. A budget that fits one entry
# but not the whole share cuts the steps into micro-batches by itself.
. "$top_srcdir/tests/train/trainlib.sh"
make_dataset
PD_TEST_TIMEOUT=60; export PD_TEST_TIMEOUT
train_ok 2 run --stage sc_vae --set train.steps=4 --set train.checkpoint_every=4 --set train.val_every=0
ck="$TMP/run/checkpoints/sc_vae-step00000004.h5"
before=$(cksum < "$ck")

start=$(date +%s)
train 2 run --stage sc_vae --set train.steps=8 --set train.checkpoint_every=4 --set train.val_every=0 \
    --set run.memory_budget_mb=1 --set model.sc_vae.width=64 --resume
rc=$?
end=$(date +%s)
cp "$TMP/run.log" "$TMP/oom.log"
[ "$rc" -ne 0 ] && pass "a budget too small for one entry exits non-zero ($rc)" || fail "exited 0 with a 1 MiB budget"
[ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] && [ $((end - start)) -lt 30 ] && pass "every rank ended in $((end - start)) s" \
    || fail "no clean end: exit $rc after $((end - start)) s"
expect_contains "$TMP/oom.log" "memory plan: stage sc_vae cannot train on entry" "the message names the stage and the entry"
expect_contains "$TMP/oom.log" "of activations +" "the message gives the bytes needed"
grep -q "residues) within a budget of 1.0 MiB per rank (run.memory_budget_mb)" "$TMP/oom.log" \
    && pass "the message gives the entry's length and the budget" || { fail "entry length / budget"; sed 's/^/  | /' "$TMP/oom.log" >&2; }
n=$(grep -c "memory plan: stage sc_vae cannot train" "$TMP/oom.log")
[ "$n" -eq 1 ] && pass "message printed once" || fail "message printed $n times"
grep -q '"step": 5' "$TMP/run/metrics.jsonl" && fail "a step ran despite the plan" || pass "no step ran"
[ "$(cksum < "$ck")" = "$before" ] && pass "the step-4 checkpoint is unchanged" || fail "the step-4 checkpoint changed"
ls "$TMP/run/checkpoints" | grep -q -v '^sc_vae-step00000004.h5$' \
    && fail "other files in checkpoints/: $(ls "$TMP/run/checkpoints")" || pass "no partial or newer checkpoint"

# The same resume with the default budget continues from step 4.
train_ok 2 run --stage sc_vae --set train.steps=8 --set train.checkpoint_every=4 --set train.val_every=0 --resume
expect_contains "$TMP/run.log" "sc_vae-step00000004.h5 at step 4" "resumed from the complete checkpoint"

# A budget between one entry and the whole share: the plan picks micro-batches that fit.
train_ok 1 small --stage sc_vae --set train.steps=3 --set train.val_every=0 --set train.checkpoint_every=0 \
    --set model.sc_vae.width=16 --set run.memory_budget_mb=48
"$PY" - "$TMP/small/metrics.jsonl" <<'PYEOF' && pass "a 48 MiB budget: several micro-batches per step, peak + state within it" \
    || { fail "micro-batches from the budget"; sed 's/^/  | /' "$TMP/small.log" >&2; }
import json, sys
rec = [json.loads(l) for l in open(sys.argv[1])]
print(f"  micro-batches {[r['micro_batches'] for r in rec]}, peak {[round(r['peak_mb'], 1) for r in rec]} MiB")
sys.exit(0 if max(r["micro_batches"] for r in rec) >= 2 and max(r["peak_mb"] for r in rec) + 5 < 48 else 1)
PYEOF
finish
