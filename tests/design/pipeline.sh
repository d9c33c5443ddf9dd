#!/bin/sh
# pipeline.sh — `proteindiff run` end to end on 2 real ranks with a tiny run file (featurize, three
# stages trained for 6 steps, two encodes, evaluate), then: a second run skips every step; after
# an interruption (the last diffusion checkpoint and evaluate.json removed) a run resumes diffusion
# from its newest checkpoint and evaluates again; evaluate.json has the SPEC §8 keys and its
# composition baseline equals an independent numpy computation from the dataset file; evaluate
# gives the same figures on 1 and 2 ranks; tools/plot-evaluate draws the PNG. Then a DiT with
# its sequence head on the hidden state (model.diffusion.sequence_head = "hidden") is trained on
# the same latents and read by evaluate with design.classifier = "hidden"; asking the first DiT,
# which has no such head, fails naming the key.
. "$top_srcdir/tests/design/designlib.sh"
write_run_file
if run_pipeline 2 first.log; then pass "run on 2 ranks"; else
    fail "run on 2 ranks"; sed 's/^/  | /' "$TMP/first.log" >&2; finish; fi
expect_contains "$TMP/first.log" "ran: featurize, sc_vae, encode sc_vae, bb_vae, encode bb_vae, diffusion, evaluate;" \
    "the first run does every step"

if run_pipeline 1 second.log; then pass "second run"; else fail "second run"; sed 's/^/  | /' "$TMP/second.log" >&2; fi
expect_contains "$TMP/second.log" "ran: nothing; skipped (complete): featurize, sc_vae, encode sc_vae, bb_vae, encode bb_vae, diffusion, evaluate" \
    "a second run skips everything"

"$PY" - "$TMP/run/evaluate.json" "$TMP/ds.h5" <<'PYEOF' && pass "evaluate.json keys; composition baseline = numpy" || fail "evaluate.json"
import json, math, sys
import h5py, numpy as np
ev = json.load(open(sys.argv[1]))
f = h5py.File(sys.argv[2], "r")
split, off, length = f["entries/split"][()], f["entries/residue_offset"][()], f["entries/length"][()]
aa, mask = f["residues/aa"][()], f["residues/mask"][()]
# train-split amino-acid counts (+1 Laplace), test residues with a backbone and a standard amino acid
count = np.ones(20)
for e in np.nonzero(split == 0)[0]:
    a = aa[off[e]:off[e] + length[e]]
    count += np.bincount(a[a < 20], minlength=20)
freq = count / count.sum()
test = np.concatenate([np.arange(off[e], off[e] + length[e]) for e in np.nonzero(split == 2)[0]])
test = test[(aa[test] < 20) & (mask[test] & 1 == 1)]
rec = np.mean(aa[test] == np.argmax(freq))
ppl = math.exp(-np.mean(np.log(freq[aa[test]])))
c = ev["composition"]
assert abs(c["recovery"] - rec) < 1e-5 and abs(c["perplexity"] - ppl) < 1e-4 * ppl, (c, rec, ppl)
assert ev["residues"] == len(test) and ev["entries"] == int(np.sum(split == 2)), (ev["residues"], len(test))
for m in ("diffusion", "bb_vae_head", "composition"):
    assert 0 <= ev[m]["recovery"] <= 1 and ev[m]["perplexity"] >= 1, ev[m]
    bins = ev[m]["by_length"]
    assert bins and all({"recovery", "perplexity", "entries", "residues"} <= set(b) for b in bins.values()), bins
    assert sum(b["residues"] for b in bins.values()) == ev[m]["residues"]
p = ev["bb_vae_pair"]   # the pair head's figures (issue 17 item 5)
assert p["pairs"] > 0 and p["distance_ce"] > 0 and p["relpos_oracle_ce"] <= p["marginal_ce"] + 1e-6, p
assert all(0 <= p["contacts"][k] <= 1 for k in ("precision", "relpos_oracle_precision", "random_precision")), p
for e in np.nonzero(split == 2)[0]:
    L = int(length[e]); lo, hi = (40, 64) if L <= 64 else (65, 128) if L <= 128 else (129 + 64 * ((L - 129) // 64), 192 + 64 * ((L - 129) // 64))
    assert f"{lo}-{hi}" in ev["diffusion"]["by_length"], (L, ev["diffusion"]["by_length"].keys())
PYEOF

# evaluate alone, 1 and 2 ranks: the same figures
cp "$TMP/run/evaluate.json" "$TMP/ev2.json"
if (cd "$TMP" && "$MPIRUN_SH" 1 "$PROTEINDIFF" evaluate run.cfg) > "$TMP/ev1.log" 2>&1; then pass "evaluate on 1 rank"; else
    fail "evaluate on 1 rank"; sed 's/^/  | /' "$TMP/ev1.log" >&2; fi
expect_contains "$TMP/ev1.log" "composition" "evaluate prints its table"
"$PY" - "$TMP/run/evaluate.json" "$TMP/ev2.json" <<'PYEOF' && pass "evaluate: 1 rank = 2 ranks" || fail "evaluate differs between rank counts"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
for d in (a, b): d.pop("seconds")
assert a == b, (a, b)
PYEOF

# Interrupted during diffusion: the newest checkpoint is the step-3 one; run resumes from it.
rm -f "$TMP/run/checkpoints/diffusion-step00000006.h5" "$TMP/run/evaluate.json"
if run_pipeline 1 third.log; then pass "run after an interruption"; else fail "run after an interruption"; sed 's/^/  | /' "$TMP/third.log" >&2; fi
expect_contains "$TMP/third.log" "diffusion stopped at step 3 of 6; resuming" "diffusion resumes from its newest checkpoint"
expect_contains "$TMP/third.log" "ran: diffusion, evaluate;" "only diffusion and evaluate run again"

# The hidden sequence head: a copy of the run directory, its DiT re-trained with the head
cp -r "$TMP/run" "$TMP/run_hidden" && rm -f "$TMP"/run_hidden/checkpoints/diffusion-* "$TMP/run_hidden/evaluate.json"
HIDDEN="--set run.dir=\"run_hidden\" --set model.diffusion.target=\"x0\" --set model.diffusion.sequence_loss=1.0"
HIDDEN="$HIDDEN --set model.diffusion.sequence_head=\"hidden\" --set design.classifier=\"hidden\" --set design.steps=1"
# shellcheck disable=SC2086
if (cd "$TMP" && "$MPIRUN_SH" 2 "$PROTEINDIFF" train run.cfg --stage diffusion $HIDDEN &&
    "$MPIRUN_SH" 2 "$PROTEINDIFF" evaluate run.cfg $HIDDEN) > "$TMP/hidden.log" 2>&1 &&
   "$PY" -c 'import json, sys; d = json.load(open(sys.argv[1]))["diffusion"]; assert 0 <= d["recovery"] <= 1 and d["perplexity"] > 1, d' \
       "$TMP/run_hidden/evaluate.json"; then pass "a DiT with the hidden sequence head trains and evaluate reads it"; else
    fail "hidden sequence head"; sed 's/^/  | /' "$TMP/hidden.log" >&2; fi
if (cd "$TMP" && "$MPIRUN_SH" 1 "$PROTEINDIFF" evaluate run.cfg --set design.classifier=\"hidden\") > "$TMP/nohead.log" 2>&1; then
    fail "design.classifier = hidden on a DiT without the head should fail"; else
    expect_contains "$TMP/nohead.log" "model.diffusion.sequence_head" "design.classifier = hidden without the head: the error names the key"; fi

if "$top_srcdir/tools/plot-evaluate" "$TMP/run/evaluate.json" -o "$TMP/ev.png" > "$TMP/plot.log" 2>&1 && [ -s "$TMP/ev.png" ] &&
   [ "$(head -c 4 "$TMP/ev.png" | tail -c 3)" = PNG ]; then pass "plot-evaluate draws a PNG"; else
    fail "plot-evaluate"; sed 's/^/  | /' "$TMP/plot.log" >&2; fi
finish
