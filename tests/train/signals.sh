#!/bin/sh
# signals.sh — what Slurm does to a job: SIGTERM to every rank mid-training makes the ranks
# agree, write a complete checkpoint at the end of the current step and exit with status 130,
# and --resume continues from it; kill -9 while a checkpoint is being written leaves no file
# that looks complete, and --resume falls back to the previous checkpoint.
. "$top_srcdir/tests/train/trainlib.sh"
make_dataset

# The proteindiff processes started under PID (its whole process tree).
ranks_of() {
    for child in $(pgrep -P "$1"); do
        [ "$(ps -o comm= -p "$child")" = proteindiff ] && echo "$child"
        ranks_of "$child"
    done
}
# wait_for COMMAND...: poll up to 60 s for COMMAND to succeed.
wait_for() {
    i=0
    while ! "$@"; do
        i=$((i + 1)); [ "$i" -ge 600 ] && return 1
        sleep 0.1
    done
}
metric_lines() { [ -f "$TMP/$1/metrics.jsonl" ] && [ "$(wc -l < "$TMP/$1/metrics.jsonl")" -ge "$2" ]; }

# --- SIGTERM: a long run of the tiny probe stage, signalled once it is well under way.
train 2 term --stage probe --set train.steps=1000000 --set train.checkpoint_every=0 --set train.val_every=0 &
job=$!
if wait_for metric_lines term 20; then
    pids=$(ranks_of $job)
    [ -n "$pids" ] && kill -TERM $pids
fi
wait $job
rc=$?
[ "$rc" = 130 ] && pass "SIGTERM: exit status 130" || { fail "SIGTERM: exit status $rc, expected 130"; sed 's/^/  | /' "$TMP/term.log" >&2; }
expect_contains "$TMP/term.log" "stopped by a signal after step" "SIGTERM: the stop is reported"
last=$(tail -1 "$TMP/term/metrics.jsonl" | sed 's/.*"step": \([0-9]*\).*/\1/')
ckpt=$(printf '%s/term/checkpoints/probe-step%08d.h5' "$TMP" "$last")
[ -f "$ckpt" ] && pass "SIGTERM: checkpoint at the last finished step ($last)" || fail "SIGTERM: no $ckpt"
ls "$TMP/term/checkpoints" | grep -q tmp && fail "SIGTERM: an unfinished .tmp file was left" || pass "SIGTERM: no .tmp left"
target=$((last + 5))
train_ok 2 term --stage probe --set "train.steps=$target" --set train.checkpoint_every=0 --set train.val_every=0 --resume
expect_contains "$TMP/term.log" "at step $last" "SIGTERM: --resume continues from step $last"
n=$(grep -c '"stage": "probe"' "$TMP/term/metrics.jsonl")
[ "$n" = "$target" ] && pass "SIGTERM: $target metric lines after the resume" || fail "SIGTERM: $n metric lines, expected $target"

# --- kill -9 during a checkpoint write: a complete step-5 checkpoint, then a run whose step-10
# checkpoint stalls before it is complete, killed there.
train_ok 2 kill --stage probe --set train.steps=5 --set train.checkpoint_every=5
train 2 kill --stage probe --set train.steps=10 --set train.checkpoint_every=5 --set debug.checkpoint_stall=60 --resume &
job=$!
partial="$TMP/kill/checkpoints/probe-step00000010.h5.tmp"
if wait_for test -f "$partial"; then
    sleep 0.5
    pids=$(ranks_of $job)
    kill -KILL $pids 2>/dev/null
    pass "kill -9 of the ranks while $partial was being written"
else
    fail "the stalled checkpoint never appeared"
fi
wait $job
[ -f "$TMP/kill/checkpoints/probe-step00000010.h5" ] && fail "kill -9: a step-10 checkpoint looks complete" ||
    pass "kill -9: no complete-looking step-10 checkpoint"
train_ok 2 kill --stage probe --set train.steps=10 --set train.checkpoint_every=5 --resume
expect_contains "$TMP/kill.log" "probe-step00000005.h5 at step 5" "kill -9: --resume falls back to step 5"
expect_contains "$TMP/kill.log" "removing $partial" "kill -9: the unfinished file is removed"
[ -f "$TMP/kill/checkpoints/probe-step00000010.h5" ] && pass "kill -9: the resumed run wrote step 10" ||
    fail "kill -9: no step-10 checkpoint after the resume"
finish
