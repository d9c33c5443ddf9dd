#!/bin/sh
# score.sh — `proteindiff score` on real structures and 2 real ranks with tiny models trained in
# the test: the TSV layout (one row per residue with chain, number, insertion code, amino acid
# and nll; a mean row per sequence that is the mean of its rows), the native sequence by
# default and the records of --sequences named like the file (a design FASTA as it is), the nll
# of a design equal to the nll_all design wrote for it (one sample: the same distribution), the
# T = 0 design scoring no worse than the native or a T = 1 design (argmax is the per-residue
# minimum), 1 rank = 2 ranks, and errors naming the record and the structure.
# With PD_SCORE_TRAINED_CFG=RUN.cfg (a run file whose run.dir holds trained models and whose
# data.dataset has a test split, e.g. a finished input/quickstart.cfg run), it also checks that
# the native sequence scores better than shuffles of it on most test entries; the tiny models of
# this test are too weak for that (their distributions barely depend on the backbone).
# a hang guard only; a loaded 2-core machine needs more than the usual 120 s
: "${PD_TEST_TIMEOUT:=300}"; export PD_TEST_TIMEOUT
. "$top_srcdir/tests/design/designlib.sh"
write_run_file
if run_pipeline 1 pipeline.log; then pass "tiny models trained by proteindiff run"; else
    fail "proteindiff run"; sed 's/^/  | /' "$TMP/pipeline.log" >&2; finish; fi
# score NP NAME ARGS...: log in $TMP/NAME.log
score() { np=$1; name=$2; shift 2; (cd "$TMP" && "$MPIRUN_SH" "$np" "$PROTEINDIFF" score run.cfg "$@") > "$TMP/$name.log" 2>&1; }
ok() { if "$@"; then pass "$what"; else fail "$what"; sed 's/^/  | /' "$TMP/$3.log" >&2; fi; }

what="score the native sequence of 1bju (insertion codes) on 2 ranks"
ok score 2 native --structure "$PDB/1bju.pdb" --out "$TMP/native.tsv" --set design.samples=1
"$top_builddir/tests/design/dump_target" "$PDB/1bju.pdb" --no-coords > "$TMP/1bju.dump"
"$PY" - "$TMP/native.tsv" "$TMP/1bju.dump" <<'PYEOF' && pass "TSV: a row per residue with its label and a mean row" || fail "TSV layout"
import sys, math
rows = [l.split("\t") for l in open(sys.argv[1]).read().split("\n") if l]
assert rows[0] == ["entry", "sequence", "chain", "resnum", "icode", "aa", "nll"], rows[0]
dump = [l.split() for l in open(sys.argv[2]).read().split("\n")[1:] if l]
res, mean = rows[1:-1], rows[-1]
assert len(res) == len(dump) == 223
for r, d in zip(res, dump):
    assert r[0] == "1bju" and r[1] == "native" and r[2] + r[3] + r[4] == d[0] and r[5] == d[1], (r, d)
    assert r[6] == "NA" or float(r[6]) > 0, r
assert mean[:6] == ["1bju", "native", "*", "*", "", "mean"], mean
vals = [float(r[6]) for r in res if r[6] != "NA"]
assert abs(sum(vals) / len(vals) - float(mean[6])) < 1e-3, (sum(vals) / len(vals), mean)
assert any(r[4] == "A" for r in res)
PYEOF

# a design FASTA scored as it is: records #1 native, #2 the T=0 design, #3 the T=1 design
(cd "$TMP" && "$MPIRUN_SH" 2 "$PROTEINDIFF" design run.cfg --structure "$PDB/1bpi.pdb" --samples 1 --temperatures "0 1.0" \
    --out "$TMP/d.fasta") > "$TMP/design.log" 2>&1 || fail "design 1bpi"
what="score a design FASTA"
ok score 2 designs --structure "$PDB/1bpi.pdb" --sequences "$TMP/d.fasta" --out "$TMP/d.tsv" --set design.samples=1
"$PY" - "$TMP/d.tsv" "$TMP/d.fasta" <<'PYEOF' && pass "design nll_all = score; T=0 design scores best" || fail "scores of designs"
import sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().split("\n")[1:] if l]
means = {r[1]: float(r[6]) for r in rows if r[5] == "mean"}
assert set(means) == {"#1", "#2", "#3"}, means
heads = [l for l in open(sys.argv[2]) if l.startswith(">")]
nll_all = [float(dict(x.strip().split("=") for x in h.split(",")[1:])["nll_all"]) for h in heads[1:]]
assert abs(means["#2"] - nll_all[0]) < 2e-3 and abs(means["#3"] - nll_all[1]) < 2e-3, (means, nll_all)
assert means["#2"] <= means["#1"] and means["#2"] <= means["#3"], means
seq = [r[5] for r in rows if r[1] == "#1" and r[5] != "mean"]
assert "".join(seq) == open(sys.argv[2]).read().split("\n")[1], "native letters"
PYEOF

# 1 rank = 2 ranks on a folder (input order)
mkdir -p "$TMP/structs"
cp "$PDB/1bpi.pdb" "$PDB/1CRN.cif" "$PDB/1tap.pdb" "$TMP/structs/"
what="score a folder on 1 rank"; ok score 1 f1 --structure "$TMP/structs" --out "$TMP/f1.tsv"
what="score a folder on 2 ranks"; ok score 2 f2 --structure "$TMP/structs" --out "$TMP/f2.tsv"
if cmp -s "$TMP/f1.tsv" "$TMP/f2.tsv" && [ "$(grep -c mean "$TMP/f2.tsv")" = 3 ]; then pass "1 and 2 ranks write the same TSV"; else
    fail "1 vs 2 ranks differ"; fi

# errors name the record and the structure
printf '>1bpi\nACDE\n' > "$TMP/short.fasta"
if score 1 short --structure "$PDB/1bpi.pdb" --sequences "$TMP/short.fasta" --out "$TMP/x.tsv"; then fail "a short sequence accepted"; else
    expect_contains "$TMP/short.log" "record 1 ('1bpi') has 4 residues but the chains of $PDB/1bpi.pdb have 58" \
        "a sequence of the wrong length is named"; fi

if [ -n "${PD_SCORE_TRAINED_CFG:-}" ]; then
    "$PY" - "$PD_SCORE_TRAINED_CFG" "$PROTEINDIFF" "$MPIRUN_SH" "$TMP" <<'PYEOF' && pass "native scores better than shuffles on most test entries" ||
import sys, random, subprocess, re, os, h5py, numpy as np
cfg, pd, mp, tmp = sys.argv[1:]
out = subprocess.run([pd, "config", cfg], capture_output=True, text=True, cwd=os.path.dirname(os.path.abspath(cfg))).stdout
ds = re.search(r'^\s*dataset = "([^"]+)"', out, re.M).group(1)
if not os.path.isabs(ds): ds = os.path.join(os.path.dirname(os.path.abspath(cfg)), ds)
f = h5py.File(ds, "r")
split, names, src = f["entries/split"][()], f["entries/name"][()], f["entries/source"][()]
aa, off, ln = f["residues/aa"][()], f["entries/residue_offset"][()], f["entries/length"][()]
rng, wins, total = random.Random(7), 0, 0
for i in np.nonzero(split == 2)[0]:
    name, path = names[i].decode(), src[i].decode()
    stem = os.path.basename(path).split(".")[0]
    chain = name[len(stem) + 1:] if name != stem else ""
    seq = "".join("ACDEFGHIKLMNPQRSTVWYX"[a] for a in aa[off[i]:off[i] + ln[i]])
    with open(f"{tmp}/rank.fasta", "w") as o:
        o.write(f">{stem}\n{seq}\n")
        for k in range(4):
            s = list(seq); rng.shuffle(s); o.write(f">{stem}\n{''.join(s)}\n")
    cmd = [mp, "2", pd, "score", cfg, "--structure", path, "--sequences", f"{tmp}/rank.fasta", "--out", f"{tmp}/rank.tsv"]
    if chain: cmd += ["--chains", chain]
    if subprocess.run(cmd, capture_output=True, cwd=os.path.dirname(os.path.abspath(cfg))).returncode != 0: continue
    means = [float(l.split("\t")[6]) for l in open(f"{tmp}/rank.tsv") if "\tmean\t" in l]
    total += 1
    wins += means[0] < np.mean(means[1:])
print(f"native better than its shuffles on {wins} of {total} test entries")
assert total and wins > total / 2
PYEOF
    fail "native vs shuffled on the test split of $PD_SCORE_TRAINED_CFG"
else
    echo "note: native-vs-shuffled ranking not checked (set PD_SCORE_TRAINED_CFG to a trained run file)"
fi
finish
