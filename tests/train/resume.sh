#!/bin/sh
# resume.sh — checkpoints make training resumable: 10 steps + resume + 10 steps equals 20
# uninterrupted steps bit for bit (losses, parameters, AdamW moments) on 2 ranks under fsdp and
# under ddp; a 2-rank zero2 checkpoint resumed on 4 ranks under hsdp (resharding) stays on the
# 1-rank trajectory to 1e-5; a checkpoint of another model configuration is refused.
. "$top_srcdir/tests/train/trainlib.sh"
make_dataset
train_ok 1 one --stage sc_vae
for strategy in fsdp ddp; do
    train_ok 2 full_$strategy --stage sc_vae --set "parallel.strategy=\"$strategy\""
    # The same run, then the step-20 checkpoint and metrics removed: a run interrupted after
    # the step-10 checkpoint. --resume continues it.
    mkdir -p "$TMP/part_$strategy"
    cp -r "$TMP/full_$strategy/checkpoints" "$TMP/part_$strategy/"
    rm "$TMP/part_$strategy/checkpoints/sc_vae-step00000020.h5"
    head -10 "$TMP/full_$strategy/metrics.jsonl" > "$TMP/part_$strategy/metrics.jsonl"
    train_ok 2 part_$strategy --stage sc_vae --set "parallel.strategy=\"$strategy\"" --resume
    expect_contains "$TMP/part_$strategy.log" "sc_vae-step00000010.h5 at step 10" "$strategy resumed from step 10"
    compare bitwise sc_vae 20 "$TMP/part_$strategy" "$TMP/full_$strategy"
    n=$(grep -c '"stage": "sc_vae"' "$TMP/part_$strategy/metrics.jsonl")
    [ "$n" = 20 ] && pass "$strategy: metrics.jsonl has 20 steps after the resume" || fail "$strategy: $n metric lines"
done

# 2 ranks zero2 -> 4 ranks hsdp (S=2) from the step-10 checkpoint.
train_ok 2 two --stage sc_vae --set 'parallel.strategy="zero2"' --set train.checkpoint_every=10
mkdir -p "$TMP/four/checkpoints"
cp "$TMP/two/checkpoints/sc_vae-step00000010.h5" "$TMP/four/checkpoints/"
train_ok 4 four --stage sc_vae --set 'parallel.strategy="hsdp"' --set parallel.shard_group=2 --set train.resume=true
expect_contains "$TMP/four.log" "written by 2 rank(s) under zero2; now 4 rank(s) under hsdp" "resharded 2 ranks zero2 -> 4 ranks hsdp"
head -10 "$TMP/two/metrics.jsonl" > "$TMP/four/m" && cat "$TMP/four/metrics.jsonl" >> "$TMP/four/m" && mv "$TMP/four/m" "$TMP/four/metrics.jsonl"
compare close sc_vae 20 "$TMP/four" "$TMP/one"

# A checkpoint of a wider model is refused with the parameter and both shapes named.
mkdir -p "$TMP/wide/checkpoints"
cp "$TMP/two/checkpoints/sc_vae-step00000010.h5" "$TMP/wide/checkpoints/"
if train 1 wide --stage sc_vae --set model.sc_vae.width=3 --resume; then
    fail "a checkpoint of width 2 loaded into a width-3 model"
else
    expect_contains "$TMP/wide.log" "in the checkpoint but the model expects" "a mismatched checkpoint is refused"
fi
finish
