#!/bin/sh
# bb_vae_stage.sh — the backbone VAE stage on real ranks: 6 steps on 1 rank and on 2 ranks
# (ddp, and fsdp) follow the same trajectory (losses and final parameters within 1e-5: the three
# loss terms are divided by GLOBAL counts); the val_* keys appear in metrics.jsonl, and the two
# marginal baselines equal an independent numpy computation from the dataset file; an assembly
# dataset (several chains per entry) trains too.
. "$top_srcdir/tests/train/trainlib.sh"
make_dataset
# Tiny model: width 8, 2 message-passing layers, k 8, latent 4, 1 decoder layer of 2 heads.
MODEL="--set model.bb_vae.width=8 --set model.bb_vae.layers=2 --set model.bb_vae.neighbors=8
       --set model.bb_vae.latent=4 --set model.bb_vae.decoder_layers=1 --set model.bb_vae.heads=2"
BB="--stage bb_vae --set train.steps=6 --set train.val_every=3 --set train.checkpoint_every=0 $MODEL"
# shellcheck disable=SC2086
train_ok 1 bb1 $BB
# shellcheck disable=SC2086
train_ok 2 bb2 $BB
# shellcheck disable=SC2086
train_ok 2 bbf $BB --set 'parallel.strategy="fsdp"'
# Every step's loss, and the final parameters, within 1e-5 relative — except the decoder's
# attention key biases: softmax is invariant to them (they add one constant to every score of a
# query), so their true gradient is 0 and AdamW turns summation-order rounding into lr-sized
# steps (docs/training.md, "A note on tolerance"); they are only checked to move < lr per step.
for run in bb2 bbf; do
    "$PY" - "$TMP/$run" "$TMP/bb1" <<'PYEOF' && pass "$run vs 1 rank within 1e-5" || fail "$run vs 1 rank"
import json, re, sys
import h5py, numpy as np
def load(run):
    rec = {r["step"]: r for r in map(json.loads, open(f"{run}/metrics.jsonl"))}
    with h5py.File(f"{run}/checkpoints/bb_vae-step00000006.h5", "r") as f:
        par = {k: v[()].astype(np.float64) for k, v in f["params"].items()}
    return rec, par
(ra, pa), (rb, pb) = load(sys.argv[1]), load(sys.argv[2])
bad = [f"step {s}: loss {ra[s]['loss']!r} vs {rb[s]['loss']!r}" for s in rb
       if s not in ra or abs(ra[s]["loss"] - rb[s]["loss"]) > 1e-5 * abs(rb[s]["loss"])]
worst, worst_kbias = 0.0, 0.0
for k in pb:
    d = float((np.abs(pa[k] - pb[k]) / np.maximum(1.0, np.abs(pb[k]))).max())
    if re.fullmatch(r"dec\.layers\.\d+\.k\.bias", k):
        worst_kbias = max(worst_kbias, d)
    else:
        worst = max(worst, d)
        if d > 1e-5: bad.append(f"{k}: relative difference {d:.3g}")
if worst_kbias > 6 * 1e-3: bad.append(f"key biases moved apart by {worst_kbias:.3g} > steps * lr")
print(f"  {sys.argv[1]}: {len(rb)} losses {rb[1]['loss']:.6f} -> {rb[6]['loss']:.6f}, {len(pb)} arrays, max parameter "
      f"difference {worst:.3g} (key biases {worst_kbias:.3g})")
for b in bad[:10]: print("  " + b)
sys.exit(1 if bad or len(pb) != len(pa) or len(rb) != 6 else 0)
PYEOF
done

"$PY" - "$TMP/bb1/metrics.jsonl" "$TMP/ds.h5" <<'PYEOF' && pass "metrics keys and baselines" || fail "metrics keys or baselines"
import json, sys
import h5py, numpy as np
rec = [json.loads(l) for l in open(sys.argv[1])]
need = {"stage", "step", "loss", "lr", "grad_norm", "residues_per_s", "step_ms", "count", "pair_ce", "seq_ce", "kl",
        "dist_acc", "orient_acc", "seq_acc", "val_dist_acc", "val_orient_acc", "val_seq_recovery",
        "val_baseline_dist_acc", "val_baseline_orient_acc", "val_baseline_seq_recovery", "val_pair_ce", "val_seq_ce"}
last = rec[-1]
missing = need - set(last)
if missing or len(rec) != 6 or "val_dist_acc" not in rec[2]:
    sys.exit(f"{len(rec)} records, missing keys {sorted(missing)}")
# The marginal baselines from the file: valid-split entries, residues with a finite N, CA, C and
# mask bit 0; distance class = nearest of linspace(2, 22, 64) of the CB-CB distance, off-diagonal.
f = h5py.File(sys.argv[2], "r")
split, off, length = f["entries/split"][()], f["entries/residue_offset"][()], f["entries/length"][()]
mask, cb, aa, xyz = f["residues/mask"][()], f["residues/cb"][()], f["residues/aa"][()], f["residues/atom14"][()]
dist_hist, aa_hist = np.zeros(64), np.zeros(20)
for e in np.nonzero(split == 1)[0]:
    rows = slice(off[e], off[e] + length[e])
    ok = (mask[rows] & 1).astype(bool) & np.isfinite(xyz[rows, :3]).all(axis=(1, 2))
    c = cb[rows][ok].astype(np.float64)
    d = np.sqrt(((c[:, None] - c[None]) ** 2).sum(-1))
    cls = np.clip(np.floor((d - 2) * 63 / 20 + 0.5), 0, 63).astype(int)
    cls = cls[~np.eye(len(c), dtype=bool)]
    dist_hist += np.bincount(cls, minlength=64)
    a = aa[rows][ok]
    aa_hist += np.bincount(a[a < 20], minlength=20)
want_dist, want_seq = dist_hist.max() / dist_hist.sum(), aa_hist.max() / aa_hist.sum()
got_dist, got_seq = last["val_baseline_dist_acc"], last["val_baseline_seq_recovery"]
print(f"  val_baseline_dist_acc {got_dist:.6f} (numpy {want_dist:.6f}), val_baseline_seq_recovery {got_seq:.6f} "
      f"(numpy {want_seq:.6f}); val_pairs {last['val_pairs']:.0f} (numpy {dist_hist.sum():.0f})")
print(f"  val_dist_acc {last['val_dist_acc']:.4f} val_orient_acc {last['val_orient_acc']:.4f} "
      f"val_seq_recovery {last['val_seq_recovery']:.4f}; loss {rec[0]['loss']:.4f} -> {last['loss']:.4f}")
ok = (abs(got_dist - want_dist) < 1e-3 and abs(got_seq - want_seq) < 1e-9 and last["val_pairs"] == dist_hist.sum()
      and 0 <= last["val_dist_acc"] <= 1 and 0 <= last["val_seq_recovery"] <= 1)
sys.exit(0 if ok else 1)
PYEOF

# Latents (`proteindiff encode`, the stage's encode hook) of the step-6 checkpoint on 2 ranks and
# on 1: the same rows; the valid rows are the residues with a backbone; and the KL of the file's
# (mu, logvar) over the valid split equals the val_kl the training loop measured with the same
# weights (the hook and the loss see one encoder).
# shellcheck disable=SC2086
for np_ in 2 1; do
    if "$MPIRUN_SH" $np_ "$PROTEINDIFF" encode "$TMP/run.cfg" --stage bb_vae --force --set "run.dir=\"$TMP/bb1\"" \
           $MODEL > "$TMP/encode$np_.log" 2>&1; then
        cp "$TMP/bb1/latents/bb_vae.h5" "$TMP/latents$np_.h5"
    else
        fail "encode on $np_ rank(s)"
        sed 's/^/  | /' "$TMP/encode$np_.log" >&2
    fi
done
"$PY" - "$TMP/latents2.h5" "$TMP/latents1.h5" "$TMP/ds.h5" "$TMP/bb1/metrics.jsonl" <<'PYEOF' && pass "latents" || fail "latents"
import json, sys
import h5py, numpy as np
a, b, d = (h5py.File(p, "r") for p in sys.argv[1:4])
rec = [json.loads(l) for l in open(sys.argv[4])]
mu, lv, valid = a["mu"][()].astype(np.float64), a["logvar"][()].astype(np.float64), a["valid"][()].astype(bool)
xyz, mask = d["residues/atom14"][()], d["residues/mask"][()]
want_valid = (mask & 1).astype(bool) & np.isfinite(xyz[:, :3]).all(axis=(1, 2))
rows = np.zeros(len(valid), bool)
for e in np.nonzero(d["entries/split"][()] == 1)[0]:
    o = d["entries/residue_offset"][e]
    rows[o:o + d["entries/length"][e]] = True
kl = (-0.5 * (1 + lv - mu ** 2 - np.exp(lv))).sum(1)
kl_valid = kl[rows & valid].mean()
same = max(np.abs(a["mu"][()] - b["mu"][()]).max(), np.abs(a["logvar"][()] - b["logvar"][()]).max())
print(f"  latents {mu.shape}, {valid.sum()} valid rows (backbone mask {want_valid.sum()}); 2 vs 1 rank max difference "
      f"{same:.3g}; KL over the valid split {kl_valid:.6f}, val_kl of training {rec[-1]['val_kl']:.6f}")
ok = (a.attrs["stage"] in ("bb_vae", b"bb_vae") and mu.shape[1] == 4 and (valid == want_valid).all()
      and not mu[~valid].any() and same < 1e-5 and abs(kl_valid - rec[-1]["val_kl"]) < 1e-5 * max(1, abs(kl_valid))
      and mu[valid].std() > 0)
sys.exit(0 if ok else 1)
PYEOF

# Assembly unit: entries with several chains (cross-chain edges get relative-position class 65).
sed -e 's/featurize = {/featurize = { unit = "assembly";/' -e "s#$TMP/ds.h5#$TMP/asm.h5#" "$TMP/run.cfg" > "$TMP/asm.cfg"
if "$PROTEINDIFF" featurize "$TMP/asm.cfg" > "$TMP/asm-featurize.log" 2>&1 &&
   "$MPIRUN_SH" 2 "$PROTEINDIFF" train "$TMP/asm.cfg" --set "run.dir=\"$TMP/asm\"" $BB --set train.steps=2 \
       > "$TMP/asm.log" 2>&1; then
    pass "assembly dataset trains on 2 ranks"
else
    fail "assembly dataset"
    sed 's/^/  | /' "$TMP/asm-featurize.log" "$TMP/asm.log" >&2
fi
"$PY" - "$TMP/asm.h5" "$TMP/asm/metrics.jsonl" <<'PYEOF' && pass "assembly entries hold several chains" || fail "assembly entries"
import json, sys
import h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
chain, off, length = f["residues/chain"][()], f["entries/residue_offset"][()], f["entries/length"][()]
multi = sum(chain[o:o + n].max() > 0 for o, n in zip(off, length))
rec = [json.loads(l) for l in open(sys.argv[2])]
print(f"  {multi} of {len(off)} entries have several chains; {len(rec)} steps, val_dist_acc {rec[-1]['val_dist_acc']:.4f}")
sys.exit(0 if multi > 0 and len(rec) == 2 and "val_dist_acc" in rec[-1] else 1)
PYEOF
finish
