#!/bin/sh
# micro_batch.sh — gradient accumulation (train.micro_batch_residues): 1 rank cutting every step
# into micro-batches follows the trajectory of 2 ranks with the whole batch (every loss and every
# final parameter within 1e-5 relative), for sc_vae and for bb_vae (whose extra global counts go
# through the batch_counts hook), and so does fsdp with micro-batches on 2 ranks (per-stage key
# train.sc_vae.micro_batch_residues); a micro-batched fsdp run resumed from its step-6 checkpoint
# repeats the uninterrupted one bit for bit. sc_vae cuts an entry longer than a micro-batch into
# residue ranges (every entry here is longer than 40 residues, so fsdp_micro cuts all of them, and
# its resume is bitwise too); under a budget that no whole entry fits (2 MiB: the longest needs
# 2.9 MiB) sc_vae still trains by cutting, on the whole-batch trajectory, while bb_vae, which
# needs whole chains, stops naming the entry.
. "$top_srcdir/tests/train/trainlib.sh"
make_dataset
BB="--set model.bb_vae.width=8 --set model.bb_vae.layers=1 --set model.bb_vae.neighbors=8 --set model.bb_vae.latent=4
    --set model.bb_vae.decoder_layers=1 --set model.bb_vae.heads=2"

SHORT="--set train.steps=12 --set train.checkpoint_every=6 --set train.val_every=0"
# shellcheck disable=SC2086
train_ok 2 whole2 --stage sc_vae $SHORT
# shellcheck disable=SC2086
train_ok 1 micro1 --stage sc_vae $SHORT --set train.micro_batch_residues=60
compare close sc_vae 12 "$TMP/micro1" "$TMP/whole2"
# shellcheck disable=SC2086
train_ok 2 fsdp_micro --stage sc_vae $SHORT --set train.sc_vae.micro_batch_residues=40 --set 'parallel.strategy="fsdp"'
compare close sc_vae 12 "$TMP/fsdp_micro" "$TMP/whole2"

# The micro-batched runs really ran several forwards per step; the whole-batch run one.
"$PY" - "$TMP/micro1/metrics.jsonl" "$TMP/fsdp_micro/metrics.jsonl" "$TMP/whole2/metrics.jsonl" <<'PYEOF' \
    && pass "micro_batches per step: several with the key (also per stage), 1 without" || fail "micro_batches"
import json, sys
k = [[json.loads(l)["micro_batches"] for l in open(p)] for p in sys.argv[1:]]
print(f"  micro-batches per step: 1 rank / 60 residues {k[0]}, 2 ranks fsdp / 40 {k[1]}, whole {k[2]}")
sys.exit(0 if sum(k[0]) >= 2 * len(k[0]) and sum(k[1]) > 1.5 * len(k[1]) and set(k[2]) == {1} else 1)
PYEOF

# bb_vae: three global counts (pairs, sequence targets, KL residues) over micro-batches and ranks.
# shellcheck disable=SC2086
train_ok 2 bb_whole2 --stage bb_vae $SHORT $BB
# shellcheck disable=SC2086
train_ok 1 bb_micro1 --stage bb_vae $SHORT --set train.micro_batch_residues=70 $BB
compare close bb_vae 12 "$TMP/bb_micro1" "$TMP/bb_whole2"

# A budget below one whole entry: without cutting entries the plan would refuse every entry of
# 46+ residues; sc_vae cuts them into residue ranges and follows the whole-batch trajectory, each
# step's measured peak under the budget and under the longest entry's estimate.
# shellcheck disable=SC2086
train_ok 1 cut1 --stage sc_vae $SHORT --set run.memory_budget_mb=2
expect_contains "$TMP/cut1.log" "entries over a micro-batch are cut into residue ranges" "the plan says it cuts entries"
compare close sc_vae 12 "$TMP/cut1" "$TMP/whole2"
"$PY" - "$TMP/cut1/metrics.jsonl" <<'PYEOF' && pass "cut entries: peak under the budget and under one whole entry's 2.9 MiB" \
    || { fail "cut entries: micro-batches / peak"; sed 's/^/  | /' "$TMP/cut1.log" >&2; }
import json, sys
rec = [json.loads(l) for l in open(sys.argv[1])]
print(f"  micro-batches {[r['micro_batches'] for r in rec]}, peak {[round(r['peak_mb'], 2) for r in rec]} MiB")
sys.exit(0 if max(r["peak_mb"] for r in rec) < 1.9 and min(r["micro_batches"] for r in rec) >= 3 else 1)
PYEOF
# shellcheck disable=SC2086
train 1 bb_cut --stage bb_vae $SHORT $BB --set run.memory_budget_mb=2 \
    && fail "bb_vae trained under a budget below one whole entry" \
    || expect_contains "$TMP/bb_cut.log" "memory plan: stage bb_vae cannot train on entry" "bb_vae keeps whole entries: refused, naming the entry"

# Resume with micro-batches stays bitwise: 6 + --resume + 6 == 12 on 2 ranks under fsdp.
mkdir -p "$TMP/fsdp_part"
cp -r "$TMP/fsdp_micro/checkpoints" "$TMP/fsdp_part/"
rm "$TMP/fsdp_part/checkpoints/sc_vae-step00000012.h5"
head -6 "$TMP/fsdp_micro/metrics.jsonl" > "$TMP/fsdp_part/metrics.jsonl"
# shellcheck disable=SC2086
train_ok 2 fsdp_part --stage sc_vae $SHORT --set train.sc_vae.micro_batch_residues=40 --set 'parallel.strategy="fsdp"' --resume
expect_contains "$TMP/fsdp_part.log" "at step 6" "micro-batched fsdp run resumed from step 6"
compare bitwise sc_vae 12 "$TMP/fsdp_part" "$TMP/fsdp_micro"
finish
