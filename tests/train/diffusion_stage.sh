#!/bin/sh
# diffusion_stage.sh — the latent diffusion stage on real ranks, trained on FROZEN latents that
# `proteindiff encode` wrote from a few steps of sc_vae and bb_vae training: 6 steps on 1 rank,
# on 2 ranks (ddp) and on 2 ranks (fsdp) follow the same trajectory (losses and parameters within
# 1e-5, the loss being divided by the global residue count) and report the same deterministic
# val_loss; a missing latents file and latents made from another dataset are refused with a
# message saying what to run.
. "$top_srcdir/tests/train/trainlib.sh"
make_dataset
ENC="$TMP/enc"
BB="--set model.bb_vae.width=8 --set model.bb_vae.layers=1 --set model.bb_vae.neighbors=8 --set model.bb_vae.latent=4
    --set model.bb_vae.decoder_layers=1 --set model.bb_vae.heads=2"
DIF="--stage diffusion --set train.steps=6 --set train.val_every=3 --set train.checkpoint_every=0
     --set model.diffusion.depth=2 --set model.diffusion.width=16 --set model.diffusion.heads=2
     --set model.diffusion.timesteps=100"

# shellcheck disable=SC2086
train_ok 1 enc --stage sc_vae --set train.steps=4 --set train.checkpoint_every=0 $BB
# shellcheck disable=SC2086
train_ok 1 enc --stage bb_vae --set train.steps=4 --set train.checkpoint_every=0 $BB
for stage in sc_vae bb_vae; do
    # shellcheck disable=SC2086
    if "$MPIRUN_SH" 2 "$PROTEINDIFF" encode "$TMP/run.cfg" --stage $stage --set "run.dir=\"$ENC\"" $BB \
        > "$TMP/encode_$stage.log" 2>&1; then
        pass "encode $stage"
    else
        fail "encode $stage"; sed 's/^/  | /' "$TMP/encode_$stage.log" >&2; finish
    fi
done

for run in d1 d2 df; do mkdir -p "$TMP/$run"; ln -s "$ENC/latents" "$TMP/$run/latents"; done
# shellcheck disable=SC2086
train_ok 1 d1 $DIF $BB
# shellcheck disable=SC2086
train_ok 2 d2 $DIF $BB
# shellcheck disable=SC2086
train_ok 2 df $DIF $BB --set 'parallel.strategy="fsdp"'
compare close diffusion 6 "$TMP/d2" "$TMP/d1"
compare close diffusion 6 "$TMP/df" "$TMP/d1"

"$PY" - "$TMP/d1/metrics.jsonl" "$TMP/d2/metrics.jsonl" <<'PYEOF' && pass "val_loss keys, deterministic over rank counts" || fail "val_loss"
import json, sys
runs = [[json.loads(l) for l in open(p)] for p in sys.argv[1:]]
for recs in runs:
    if len(recs) != 6 or any(r["stage"] != "diffusion" for r in recs):
        sys.exit(f"{len(recs)} records")
    for key in ("val_loss", "val_loss_masked", "val_baseline_loss", "val_revealed"):
        if key not in recs[2] or key not in recs[5]:
            sys.exit(f"no {key}")
a, b = runs[0][5], runs[1][5]
if abs(a["val_loss"] - b["val_loss"]) > 1e-5 * a["val_loss"]:
    sys.exit(f"val_loss 1 rank {a['val_loss']} vs 2 ranks {b['val_loss']}")
# an eps-predicting model starts at loss ~ E[eps^2] = 1: the first step's loss must be near it
if not 0.5 < runs[0][0]["loss"] < 2:
    sys.exit(f"first loss {runs[0][0]['loss']}")
PYEOF

# No latents: the message names the file and the command that makes it.
mkdir -p "$TMP/none"
# shellcheck disable=SC2086
if train 1 none $DIF $BB; then fail "training without latents succeeded"; else
    expect_contains "$TMP/none.log" "proteindiff encode RUN.cfg --stage sc_vae" "missing latents are refused"; fi

# Latents of another dataset: the dataset attribute differs from data.dataset.
cp "$TMP/ds.h5" "$TMP/other.h5"
mkdir -p "$TMP/other"; ln -s "$ENC/latents" "$TMP/other/latents"
# shellcheck disable=SC2086
if train 1 other $DIF $BB --set "data.dataset=\"$TMP/other.h5\""; then fail "latents of another dataset accepted"; else
    expect_contains "$TMP/other.log" "was made from the dataset" "latents of another dataset are refused"; fi
finish
