#!/bin/sh
# tests/train/tokenizer_stage.sh — `train --stage tokenizer` on real ranks and a real (small)
# dataset: 1 vs 2 ranks (synchronised BatchNorm, global counts, codebook statistics and the
# rank-independent re-seeding candidates), bitwise resume with codebooks, the val_* keys, and
# batches that never mix length bins. Tiny model (2 levels, width 8) on 32-residue windows.
. "$top_srcdir/tests/train/trainlib.sh"

files=""
for f in 1CRN.cif 1bpi.pdb 1tap.pdb 1FAS.cif 1CKB.pdb 1A8O.cif 1vfy.pdb 6MRR.pdb 1cbn.cif 1LCD.cif 1l2y.pdb \
         1unu.cif 1vii.pdb.gz 2BEG.cif; do
    files="$files${files:+, }\"$PDB/$f\""
done
cat > "$TMP/run.cfg" <<CFG
data = { inputs = [$files]; dataset = "$TMP/ds.h5"; valid_fraction = 0.3; test_fraction = 0.0; };
featurize = { voxel_size = 4; min_len = 16; };
run = { threads = 1; };
train = { tokenizer = { steps = 4; batch_residues = 4800; lr = 1e-3; warmup = 0; val_every = 2; log_every = 2;
          checkpoint_every = 2; keep_checkpoints = 5; }; };
model = { tokenizer = { levels = 2; width = 8; mlp = 16; heads = 1; latent_dim = 8; rope_dim = 4; codebook = 16;
          max_length = 32; }; };
CFG
if ! "$PROTEINDIFF" featurize "$TMP/run.cfg" > "$TMP/featurize.log" 2>&1; then
    fail "featurize of the test dataset"
    sed 's/^/  | /' "$TMP/featurize.log" >&2
    finish
fi

# 1. Random codebooks without re-seeding (no near-duplicate codes whose nearest-code choice float
#    noise could flip): 1 and 2 ranks follow the same trajectory, BatchNorm statistics included.
frozen="--set model.tokenizer.data_init=false --set model.tokenizer.dead_threshold=0"
train_ok 1 r1 --stage tokenizer $frozen
train_ok 2 r2 --stage tokenizer $frozen
compare close tokenizer 4 "$TMP/r1" "$TMP/r2" 1e-5
stage_close() { # RUN_A RUN_B STEP TOL: every /stage array of the two checkpoints agrees
    "$PY" - "$@" <<'PY'
import sys, h5py, numpy as np
a, b, step, tol = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
fa = h5py.File(f"{a}/checkpoints/tokenizer-step{step:08d}.h5", "r")
fb = h5py.File(f"{b}/checkpoints/tokenizer-step{step:08d}.h5", "r")
names = sorted(fa["stage"])
assert names == sorted(fb["stage"]), "different stage arrays"
assert any(n.startswith("vq.") for n in names) and any(".bn.running_var" in n for n in names), names
worst = max(np.abs(fa["stage"][n][()] - fb["stage"][n][()]).max() / (np.abs(fa["stage"][n][()]).max() + 1e-30)
            for n in names)
print(f"{len(names)} stage arrays (codebooks, BatchNorm statistics) agree to {worst:.2g} relative")
sys.exit(0 if worst <= tol else 1)
PY
}
if out=$(stage_close "$TMP/r1" "$TMP/r2" 4 1e-5 2>&1); then pass "1 vs 2 ranks: $out"; else fail "1 vs 2 ranks stage state: $out"; fi

# 2. Default codebooks (data initialisation, dead-code re-seeding): the first update re-seeds every
#    code from the gathered candidates, so after step 2 (checkpoint) 1 and 2 ranks still agree.
train_ok 1 d1 --stage tokenizer --set train.tokenizer.steps=2
train_ok 2 d2 --stage tokenizer --set train.tokenizer.steps=2
if out=$(stage_close "$TMP/d1" "$TMP/d2" 2 1e-5 2>&1); then pass "data init, 1 vs 2 ranks: $out"; else fail "data init stage state: $out"; fi

# 3. Resume on 2 ranks: the 4-step run interrupted after its step-2 checkpoint (later checkpoint and
#    metrics removed) and continued with --resume == the 4 steps straight, bit for bit, codebooks too.
train_ok 2 full --stage tokenizer
mkdir -p "$TMP/part"
cp -r "$TMP/full/checkpoints" "$TMP/part/"
rm "$TMP/part/checkpoints/tokenizer-step00000004.h5"
head -2 "$TMP/full/metrics.jsonl" > "$TMP/part/metrics.jsonl"
train_ok 2 part --stage tokenizer --resume
expect_contains "$TMP/part.log" "tokenizer-step00000002.h5 at step 2" "resumed from step 2"
compare bitwise tokenizer 4 "$TMP/full" "$TMP/part"
if out=$(stage_close "$TMP/full" "$TMP/part" 4 0 2>&1); then pass "resume: $out"; else fail "resume stage state: $out"; fi

# 4. The validation keys, their shapes and sanity (baseline from the train split's mean image).
if out=$("$PY" - "$TMP/full/metrics.jsonl" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
v = [r for r in recs if "val_mse" in r]
assert [r["step"] for r in v] == [2, 4], [r["step"] for r in v]
last = v[-1]
for k in ["val_mse", "val_baseline_mse", "val_dist_err_A", "val_omega_err_deg", "val_theta_err_deg",
          "val_phi_err_deg", "val_baseline_dist_err_A", "val_images"]:
    assert isinstance(last[k], (int, float)) and last[k] >= 0, (k, last.get(k))
for k in ["val_code_usage", "val_perplexity", "val_reseeds"]:
    assert isinstance(last[k], list) and len(last[k]) == 2, (k, last.get(k))
assert all(0 < u <= 1 for u in last["val_code_usage"]), last["val_code_usage"]
assert all(1 <= p <= 16 for p in last["val_perplexity"]), last["val_perplexity"]
assert 0 < last["val_baseline_mse"] < 2 and 0 < last["val_dist_err_A"] < 80
assert all(r["count"] > 0 and "mse" in r and "commit" in r for r in recs)
print("val keys: " + ", ".join(f"{k} {last[k]}" for k in ["val_mse", "val_baseline_mse", "val_code_usage"]))
PY
); then pass "$out"; else fail "validation keys: $out"; fi

# 5. tokenize on 2 ranks with the 4-step checkpoint (entries up to 48 whole, the rest skipped):
#    the file is readable by h5py with the documented schema; PNGs of original | reconstruction.
if "$MPIRUN_SH" 2 "$PROTEINDIFF" tokenize "$TMP/run.cfg" --set model.tokenizer.max_length=48 \
       --checkpoint "$TMP/full/checkpoints/tokenizer-step00000004.h5" --out "$TMP/tokens.h5" --png "$TMP/png" \
       --png-count 2 > "$TMP/tokenize.log" 2>&1; then
    pass "tokenize on 2 ranks: $(grep -o 'MDS check.*' "$TMP/tokenize.log")"
else
    fail "tokenize on 2 ranks"
    sed 's/^/  | /' "$TMP/tokenize.log" >&2
fi
if out=$("$PY" - "$TMP/tokens.h5" "$TMP/ds.h5" <<'PY'
import sys, h5py, numpy as np
t, d = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
assert t.attrs["format"] == b"proteindiff-tokens" and t.attrs["version"] == 1 and t.attrs["complete"] == 1
levels, K = int(t.attrs["levels"]), int(t.attrs["codebook"])
L_all = d["entries/length"][()]
idx = t["entries/dataset_index"][()]
L = t["entries/length"][()]
assert (L == L_all[idx]).all() and (L <= 48).all() and len(L) == (L_all <= 48).sum() > 0
assert [n.decode() for n in t["entries/name"][()]] == [n.decode() for n in d["entries/name"][()][idx]]
assert len(t["skipped/name"]) == (L_all > 48).sum() and all(b"longer" in r for r in t["skipped/reason"][()])
for l in range(levels):
    o = t[f"entries/token_offset_{l}"][()]
    g = -(-L // 2 ** (l + 1))
    assert o[0] == 0 and (np.diff(o) == g * g).all(), l
    codes = t[f"tokens/level_{l}"][()]
    assert len(codes) == o[-1] and codes.min() >= 0 and codes.max() < K, (l, codes.min(), codes.max())
    assert t[f"codebooks/level_{l}"].shape == (K, int(t.attrs["latent_dim"]))
r = t["entries/mds_cb_rmsd"][()]
assert np.isfinite(r).all() and (r > 0).all()
print(f"tokens.h5: {len(L)} entries, {levels} levels, offsets and code ranges as documented, "
      f"{len(t['skipped/name'])} skipped")
PY
); then pass "$out"; else fail "tokens file: $out"; fi
n_png=$(ls "$TMP/png" 2>/dev/null | wc -l)
if [ "$n_png" = 2 ]; then pass "2 PNGs"; else fail "expected 2 PNGs in $TMP/png, found $n_png"; fi

# 6. Two length bins (whole chains up to 48: sides 40 and 64, nothing cropped): every batch holds
#    one bin (the stage refuses a mixed batch), and the run trains.
train_ok 2 bins --stage tokenizer --set model.tokenizer.max_length=48 --set model.tokenizer.crop=false \
    --set train.tokenizer.steps=3 --set train.tokenizer.batch_residues=8192 --set train.tokenizer.val_every=0 \
    --set model.tokenizer.data_init=false
if grep -q "entries of" "$TMP/bins.log"; then pass "$(grep -o 'train tokenizer: [0-9]* train / [0-9]* valid' "$TMP/bins.log") (whole chains <= 48)"; fi
finish
