#!/bin/sh
# encode.sh — `proteindiff encode --stage sc_vae` on a small real dataset after 10 training steps:
# the latents file is what docs/latents-format.md says and equals PyTorch's encoder on the
# checkpoint (encode_check.py, which also checks the final val_* metrics and the confusion TSV);
# 1 and 2 ranks write byte-identical /mu; an up-to-date file is left alone; kill -9 before the
# complete marker leaves only NAME.partial and a rerun completes; clear errors without a
# checkpoint or for a stage without latents.
. "$top_srcdir/tests/train/trainlib.sh"
CHECK="$top_srcdir/tests/train/encode_check.py"

# 1TEN_A has a residue without a valid backbone (an empty voxel): a row encode must skip.
files=""
for f in 1CRN.cif 1bpi.pdb 1TEN_A.pdb 6MRR.pdb 1unu.cif 1UCS_A.pdb 1vfy.pdb 1LCD.cif 1tap.pdb 1cbn.cif; do
    files="$files${files:+, }\"$PDB/$f\""
done
cat > "$TMP/run.cfg" <<CFG
data = { inputs = [$files]; dataset = "$TMP/ds.h5"; valid_fraction = 0.25; test_fraction = 0.0; };
featurize = { voxel_size = 4; };
run = { threads = 1; dir = "$TMP/run"; };
train = { steps = 10; batch_residues = 250; lr = 1e-3; warmup = 3; val_every = 5; log_every = 5;
          checkpoint_every = 10; };
model = { sc_vae = { width = 2; latent = 4; }; };
CFG
"$PROTEINDIFF" featurize "$TMP/run.cfg" > "$TMP/featurize.log" 2>&1 || { fail "featurize"; cat "$TMP/featurize.log" >&2; finish; }
train_ok 1 run --stage sc_vae
CKPT="$TMP/run/checkpoints/sc_vae-step00000010.h5"
OUT="$TMP/run/latents/sc_vae.h5"

# encode NP LOG [ARGS...]: exit status; output in $TMP/LOG.log.
encode() {
    np=$1; log=$2; shift 2
    "$MPIRUN_SH" "$np" "$PROTEINDIFF" encode "$TMP/run.cfg" --stage sc_vae "$@" > "$TMP/$log.log" 2>&1
}
encode_ok() {
    if encode "$@"; then pass "encode on $1 rank(s) ($2)"; else fail "encode on $1 rank(s) ($2)"; sed 's/^/  | /' "$TMP/$2.log" >&2; fi
}
py_check() {
    if out=$("$PY" "$CHECK" "$@" 2>&1); then pass "encode_check.py $1"; else fail "encode_check.py $*"; fi
    echo "$out" | sed 's/^/  | /'
}

encode_ok 1 enc1
expect_contains "$TMP/enc1.log" "of 550 residue rows encoded" "encode reports the rows encoded"
[ -f "$OUT" ] && [ ! -f "$OUT.partial" ] && pass "encode wrote $OUT and no .partial" || fail "encode output files"
py_check file "$TMP/ds.h5" "$OUT" "$CKPT" "$TMP/run/metrics.jsonl" "$TMP/run/sc_vae_confusion.tsv"
cp "$OUT" "$TMP/one.h5"

# Up to date: the same checkpoint and dataset -> nothing to do, the file is untouched.
before=$(stat -c %Y.%s "$OUT")
encode_ok 1 again
expect_contains "$TMP/again.log" "nothing to do" "an up-to-date file is left alone"
[ "$(stat -c %Y.%s "$OUT")" = "$before" ] && pass "the up-to-date file was not rewritten" || fail "the file changed"

# 2 ranks (--force) with the checkpoint named: the same bytes as 1 rank.
encode_ok 2 enc2 --force --checkpoint "$CKPT"
py_check same "$TMP/one.h5" "$OUT"

# kill -9 before the complete marker: only NAME.partial remains; a rerun completes it.
ranks_of() {
    for child in $(pgrep -P "$1"); do
        [ "$(ps -o comm= -p "$child")" = proteindiff ] && echo "$child"
        ranks_of "$child"
    done
}
rm -f "$OUT"
PD_DEBUG_ENCODE_STALL=60 encode 2 killed &
job=$!
i=0
while ! grep -q "pausing" "$TMP/killed.log" 2>/dev/null && [ $i -lt 600 ]; do i=$((i + 1)); sleep 0.1; done
pids=$(ranks_of $job)
[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
wait $job
[ -f "$OUT.partial" ] && [ ! -f "$OUT" ] && pass "kill -9 before complete: only $OUT.partial exists" ||
    fail "kill -9 before complete: partial $(ls "$OUT"* 2>&1)"
encode_ok 2 resumed
[ -f "$OUT" ] && [ ! -f "$OUT.partial" ] && pass "the rerun completed the file" || fail "the rerun left $(ls "$OUT"* 2>&1)"
py_check same "$TMP/one.h5" "$OUT"

# Errors say what to do.
encode 1 nockpt --set "run.dir=\"$TMP/empty\"" && fail "encode without a checkpoint exits non-zero"
expect_contains "$TMP/nockpt.log" "no complete sc_vae checkpoint" "no checkpoint: the message says so"
expect_contains "$TMP/nockpt.log" "proteindiff train RUN.cfg --stage sc_vae" "no checkpoint: the message says how to make one"
"$MPIRUN_SH" 1 "$PROTEINDIFF" encode "$TMP/run.cfg" --stage probe > "$TMP/probe.log" 2>&1 && fail "encode --stage probe exits non-zero"
expect_contains "$TMP/probe.log" "has no latents to write" "a stage without an encode hook is refused"
encode 1 wrongsize --force --set model.sc_vae.width=4 && fail "a model of another size exits non-zero"
expect_contains "$TMP/wrongsize.log" "enc.stem.conv.weight" "a checkpoint of another model size names the parameter"
finish
