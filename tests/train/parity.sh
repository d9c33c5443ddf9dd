#!/bin/sh
# parity.sh — the side-chain VAE trained 20 steps on 1 rank, on 4 ranks under ddp, fsdp
# (4 ranks in the partition) and hsdp (shard groups of 2) follows the same trajectory: every
# step's loss and the final parameters agree to 1e-5 relative. The same for random residue
# subsampling (train.residue_sample) on 1 and 2 ranks, and for the two-phase schedule
# (train.classifier_steps), whose phases must each leave the other part alone. Also: the loss went down, and the memory
# each rank reports shrinks the way the strategy says.
. "$top_srcdir/tests/train/trainlib.sh"
make_dataset
train_ok 1 one --stage sc_vae
train_ok 4 ddp --stage sc_vae --set 'parallel.strategy="ddp"'
train_ok 4 fsdp --stage sc_vae --set 'parallel.strategy="fsdp"' --set parallel.shard_group=4
train_ok 4 hsdp --stage sc_vae --set 'parallel.strategy="hsdp"' --set parallel.shard_group=2
for run in ddp fsdp hsdp; do compare close sc_vae 20 "$TMP/$run" "$TMP/one"; done
train_ok 1 sub1 --stage sc_vae --set train.residue_sample=100
train_ok 2 sub2 --stage sc_vae --set train.residue_sample=100
compare close sc_vae 20 "$TMP/sub2" "$TMP/sub1"
# Subsampling kept about residue_sample / batch_residues = 0.4 of the residues read, every step.
"$PY" - "$TMP/sub1/metrics.jsonl" <<'PYEOF' && pass "residue_sample kept ~40% of the residues" || fail "residue_sample"
import json, sys
rec = [json.loads(l) for l in open(sys.argv[1])]
kept, read = sum(r["count"] for r in rec), sum(r["residues"] for r in rec)
print(f"  kept {kept} of {read} residues read ({kept / read:.3f}); every step below its read count:",
      all(r["count"] < r["residues"] for r in rec))
sys.exit(0 if 0.3 < kept / read < 0.5 and all(r["count"] < r["residues"] for r in rec) else 1)
PYEOF

# Two phases (train.sc_vae.classifier_steps = 10 of 20): the VAE alone, then the classifier alone
# on decode(mu). Frozen units keep their values and AdamW moments; 2 ranks under fsdp agree with 1.
train_ok 1 phase1 --stage sc_vae --set train.classifier_steps=10
train_ok 2 phase2 --stage sc_vae --set train.classifier_steps=10 --set 'parallel.strategy="fsdp"' --set parallel.shard_group=2
compare close sc_vae 20 "$TMP/phase2" "$TMP/phase1"
"$PY" - "$TMP/phase1" <<'PYEOF' && pass "classifier_steps: each phase trains only its part" || fail "classifier_steps phases"
import json, sys
import h5py, numpy as np
run = sys.argv[1]
def load(step):
    with h5py.File(f"{run}/checkpoints/sc_vae-step{step:08d}.h5", "r") as f:
        return {g + "/" + k: v[()] for g in ("params", "optimizer/m", "optimizer/v") for k, v in f[g].items()}
a, b = load(10), load(20)
cls = lambda k: k.split("/")[-1].startswith("cls")
bad = []
bad += [k for k in a if cls(k) and k.startswith("optimizer") and np.any(a[k] != 0)]          # untouched in phase 1
bad += [k for k in a if not cls(k) and not np.array_equal(a[k], b[k])]                          # frozen in phase 2
moved = [k for k in a if cls(k) and k.startswith("params") and not np.array_equal(a[k], b[k])]
vae_moved = [k for k in a if not cls(k) and k.startswith("optimizer/m") and np.any(a[k] != 0)]
rec = [json.loads(l) for l in open(f"{run}/metrics.jsonl")]
ce = [r["ce"] for r in rec]
print(f"  {len(moved)} classifier tensors trained in phase 2, {len(vae_moved)} VAE moment tensors in phase 1; "
      f"ce {ce[:2]} (phase 1) -> {ce[10:12]} (phase 2); changed when frozen: {bad[:4]}")
sys.exit(1 if bad or not moved or not vae_moved or any(c != 0 for c in ce[:10]) or not all(c > 0 for c in ce[10:]) else 0)
PYEOF

# Learning happened (so the agreement is not between runs that did nothing).
"$PY" - "$TMP/one/metrics.jsonl" <<'PYEOF' && pass "1-rank loss decreased" || fail "1-rank loss did not decrease"
import json, sys
rec = [json.loads(l) for l in open(sys.argv[1])]
first = sum(r["loss"] for r in rec[:3]) / 3
last = sum(r["loss"] for r in rec[-3:]) / 3
print(f"  loss {first:.4f} (first 3 steps) -> {last:.4f} (last 3); val keys at step 20:",
      sorted(k for k in rec[-1] if k.startswith("val_")))
need = {"stage", "step", "loss", "lr", "grad_norm", "residues_per_s", "step_ms", "comm_ms", "mse", "kl", "ce",
        "val_mse", "val_kl", "val_acc", "val_baseline_mse", "val_baseline_acc"}
missing = need - set(rec[-1])
sys.exit(1 if last >= first or missing or len(rec) != 20 else 0)
PYEOF

# Measured state per rank: fsdp over 4 ranks holds about a quarter of ddp's.
ddp_b=$(sed -n 's/.*params+grads+optimizer \([0-9.]*\) MiB measured.*/\1/p' "$TMP/ddp.log" | head -1)
fsdp_b=$(sed -n 's/.*params+grads+optimizer \([0-9.]*\) MiB measured.*/\1/p' "$TMP/fsdp.log" | head -1)
if awk -v d="$ddp_b" -v f="$fsdp_b" 'BEGIN { exit !(d > 0 && f > 0 && f < 0.3 * d) }'; then
    pass "memory per rank: ddp $ddp_b MiB, fsdp on 4 ranks $fsdp_b MiB"
else
    fail "memory per rank: ddp '$ddp_b' MiB, fsdp '$fsdp_b' MiB (expected fsdp < 0.3 ddp)"
fi
finish
