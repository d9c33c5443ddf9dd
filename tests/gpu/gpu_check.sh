#!/bin/sh
# gpu_check.sh — tools/gpu-check, the script someone with a GPU runs, cannot be run here (no GPU),
# so this checks what can be: it is clean under shellcheck (when installed), its --dry-run runs
# nothing and prints every step (CUDA build, tests/gpu, each stage on cpu and cuda, the loss
# comparison, the design rate), every proteindiff command it would run is accepted by
# `proteindiff config` with the same run-file overrides, and bad arguments or a machine without
# a GPU end it with a message.
. "$top_srcdir/tests/testlib.sh"
PROTEINDIFF=${PROTEINDIFF:-$top_builddir/proteindiff}
script="$top_srcdir/tools/gpu-check"

if command -v shellcheck > /dev/null; then
    if shellcheck "$script" > "$TMP/sc" 2>&1; then pass "shellcheck finds nothing"; else fail "shellcheck:"; cat "$TMP/sc" >&2; fi
else
    echo "note: shellcheck not installed, not run"
fi

bash "$script" --dry-run --build "$TMP/b" --steps 20 > "$TMP/dry" 2>&1 && pass "--dry-run exits 0" || fail "--dry-run failed"
[ -e "$TMP/b" ] && fail "--dry-run created $TMP/b" || pass "--dry-run creates nothing"
expect_contains "$TMP/dry" "configure' --with-cuda" "configures --with-cuda"
expect_contains "$TMP/dry" "tests/gpu/test_gpu_ops" "runs the GPU tests"
for stage in sc_vae bb_vae diffusion tokenizer; do
    for dev in cpu cuda; do expect_contains "$TMP/dry" "train $stage, 20 steps on $dev" "$stage on $dev"; done
done
expect_contains "$TMP/dry" "losses cpu vs cuda" "compares the losses"
expect_contains "$TMP/dry" "proteindiff design" "times design"

# Every proteindiff command of the plan: its overrides pass `proteindiff config` (keys and values).
grep '^\$ .*/proteindiff [a-z]' "$TMP/dry" > "$TMP/cmds"
n=0
while read -r line; do
    n=$((n + 1))
    sets=$(echo "$line" | tr ' ' '\n' | awk 'p { print "--set"; print; p = 0; next } $0 == "--set" { p = 1 }')
    # shellcheck disable=SC2086
    if "$PROTEINDIFF" config "$top_srcdir/input/quickstart.cfg" $sets > "$TMP/cfg" 2>&1; then :; else
        fail "a planned command's overrides are refused: $line"; cat "$TMP/cfg" >&2
    fi
done < "$TMP/cmds"
[ "$n" -ge 12 ] && pass "$n planned proteindiff commands, their overrides accepted by config" || fail "only $n proteindiff commands in the plan"

bash "$script" --stepz 3 > "$TMP/bad" 2>&1; rc=$?
[ $rc -eq 2 ] && pass "an unknown argument exits 2" || fail "unknown argument: exit $rc"
expect_contains "$TMP/bad" "unknown argument '--stepz'" "names the argument"
if ! command -v nvidia-smi > /dev/null; then
    bash "$script" --build "$TMP/b2" > "$TMP/nogpu" 2>&1; rc=$?
    [ $rc -eq 1 ] && pass "without a GPU it stops (exit 1)" || fail "without a GPU: exit $rc"
    expect_contains "$TMP/nogpu" "shows no GPU" "and says why"
fi
finish
