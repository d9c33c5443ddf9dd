#!/bin/sh
# memory_plan.sh — the memory plan's activation estimate (src/train/stage_memory.c, from the model
# settings alone) against the graph arena's measured peak (metrics.jsonl peak_mb vs plan_mb, the
# estimate for the step's largest micro-batch): within 25 % on every step, for every stage at two
# sizes (model widths and micro-batch sizes); the plan is printed before step 1 and the summary
# compares the two.
. "$top_srcdir/tests/train/trainlib.sh"
make_dataset
S="--set train.steps=2 --set train.val_every=0 --set train.checkpoint_every=0"
BB_A="--set model.bb_vae.width=8 --set model.bb_vae.layers=1 --set model.bb_vae.neighbors=8 --set model.bb_vae.latent=4
      --set model.bb_vae.decoder_layers=1 --set model.bb_vae.heads=2"
BB_B="--set model.bb_vae.width=32 --set model.bb_vae.layers=2 --set model.bb_vae.neighbors=16
      --set model.bb_vae.decoder_layers=2 --set model.bb_vae.heads=4 --set train.micro_batch_residues=60"
DIF_A="--set model.diffusion.depth=2 --set model.diffusion.width=16 --set model.diffusion.heads=2 --set model.diffusion.timesteps=100"
DIF_B="--set model.diffusion.depth=2 --set model.diffusion.width=64 --set model.diffusion.heads=4 --set model.diffusion.timesteps=100
       --set train.micro_batch_residues=60"
TOK="--set model.tokenizer.levels=2 --set model.tokenizer.rope_dim=4 --set model.tokenizer.codebook=16 --set train.batch_residues=4800"
TOK_A="--set model.tokenizer.width=8 --set model.tokenizer.mlp=16 --set model.tokenizer.heads=1 --set model.tokenizer.latent_dim=8"
TOK_B="--set model.tokenizer.width=16 --set model.tokenizer.mlp=32 --set model.tokenizer.heads=2 --set model.tokenizer.latent_dim=8"

# The two VAEs at size A train into one folder, whose latents the diffusion runs then read.
# shellcheck disable=SC2086
train_ok 1 enc --stage sc_vae $S $BB_A
# shellcheck disable=SC2086
train_ok 1 sc_b --stage sc_vae $S --set model.sc_vae.width=6 --set train.micro_batch_residues=60
# shellcheck disable=SC2086
train_ok 1 enc --stage bb_vae $S $BB_A
cp "$TMP/enc/metrics.jsonl" "$TMP/enc.metrics"
# shellcheck disable=SC2086
train_ok 1 bb_b --stage bb_vae $S $BB_B
for stage in sc_vae bb_vae; do
    # shellcheck disable=SC2086
    "$MPIRUN_SH" 1 "$PROTEINDIFF" encode "$TMP/run.cfg" --stage $stage --set "run.dir=\"$TMP/enc\"" $BB_A \
        > "$TMP/encode_$stage.log" 2>&1 || { fail "encode $stage"; sed 's/^/  | /' "$TMP/encode_$stage.log" >&2; finish; }
done
for run in dif_a dif_b; do mkdir -p "$TMP/$run"; ln -s "$TMP/enc/latents" "$TMP/$run/latents"; done
# shellcheck disable=SC2086
train_ok 1 dif_a --stage diffusion $S $BB_A $DIF_A
# shellcheck disable=SC2086
train_ok 1 dif_b --stage diffusion $S $BB_A $DIF_B
# shellcheck disable=SC2086
train_ok 1 tok_a --stage tokenizer $S $TOK $TOK_A
# shellcheck disable=SC2086
train_ok 1 tok_b --stage tokenizer $S $TOK $TOK_B

expect_contains "$TMP/sc_b.log" "memory plan (sc_vae, per rank): budget" "the plan is printed before step 1"
expect_contains "$TMP/dif_b.log" "diffusion: activation memory: measured arena peak" "the summary compares peak and plan"

"$PY" - "$TMP" <<'PYEOF' && pass "estimate within 25 % of the measured arena peak: every stage, two sizes, every step" \
    || fail "memory estimate vs measured peak"
import json, sys
tmp, bad = sys.argv[1], []
for stage, runs in (("sc_vae", ("enc.metrics", "sc_b/metrics.jsonl")), ("bb_vae", ("enc/metrics.jsonl", "bb_b/metrics.jsonl")),
                    ("diffusion", ("dif_a/metrics.jsonl", "dif_b/metrics.jsonl")),
                    ("tokenizer", ("tok_a/metrics.jsonl", "tok_b/metrics.jsonl"))):
    for path in runs:
        rec = [r for r in map(json.loads, open(f"{tmp}/{path}")) if r["stage"] == stage]
        ratios = [r["peak_mb"] / r["plan_mb"] for r in rec]
        print(f"  {stage:9s} {path:20s} peak {[round(r['peak_mb'], 2) for r in rec]} MiB, "
              f"peak/plan {[round(x, 3) for x in ratios]}")
        if len(rec) != 2 or any(abs(x - 1) > 0.25 for x in ratios) or any(r["peak_mb"] <= 0 for r in rec):
            bad.append(path)
sys.exit(1 if bad else 0)
PYEOF
finish
