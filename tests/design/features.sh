#!/bin/sh
# features.sh — the design options ProteinMPNN/LigandMPNN users expect, on real structures and 2
# real ranks, with tiny models trained by `proteindiff run` in the test: --homo-oligomer and
# --symmetry (tied positions identical in every record; untied they are not), --probs (rows sum
# to 1, chain/residue/insertion code match the file, argmax = the FASTA at T = 0 with one
# sample), --bias-by-residue / --omit-by-residue (and their errors naming file, line and key),
# --pdb-out (files read back by the structure reader with the designed names, the input backbone
# and side chains only at fixed residues), residue selection with insertion codes and numbering
# gaps (1bju: A184A is only 184A, A184 only 184), and the progress line with rate and ETA.
# a hang guard only; a loaded 2-core machine needs more than the usual 120 s
: "${PD_TEST_TIMEOUT:=300}"; export PD_TEST_TIMEOUT
. "$top_srcdir/tests/design/designlib.sh"
write_run_file
if run_pipeline 1 pipeline.log; then pass "tiny models trained by proteindiff run"; else
    fail "proteindiff run"; sed 's/^/  | /' "$TMP/pipeline.log" >&2; finish; fi
DUMP="$top_builddir/tests/design/dump_target"

# design NAME ARGS...: on 2 ranks, output in $TMP/NAME.log
design() { name=$1; shift; (cd "$TMP" && "$MPIRUN_SH" 2 "$PROTEINDIFF" design run.cfg "$@") > "$TMP/$name.log" 2>&1; }
design_ok() {
    name=$1; shift
    if design "$name" "$@"; then pass "design $name"; else fail "design $name"; sed 's/^/  | /' "$TMP/$name.log" >&2; fi
}
# check DESCRIPTION FASTA PYTHON-ASSERTIONS (records as recs = [(header, seq)], sequences without '/')
check() {
    what=$1; fasta=$2; shift 2
    if "$PY" - "$fasta" "$@" > "$TMP/check.log" 2>&1; then pass "$what"; else fail "$what"; sed 's/^/  | /' "$TMP/check.log" >&2; fi
}

# --- ties: 1bl4 is a homodimer (chains A and B, 107 residues each)
design_ok homo --structure "$PDB/1bl4.cif" --homo-oligomer --samples 2 --temperatures "0 1.0" --out "$TMP/homo.fasta" \
    --probs "$TMP/homo.h5"
design_ok untied --structure "$PDB/1bl4.cif" --samples 2 --temperatures "0 1.0" --out "$TMP/untied.fasta"
check "--homo-oligomer: chains A and B identical in every design (untied at T=1 they differ)" "$TMP/homo.fasta" "$TMP/untied.fasta" "$TMP/homo.h5" <<'PYEOF'
import sys, h5py, numpy as np
def recs(p):
    l = open(p).read().split("\n")
    return [(l[i], l[i + 1]) for i in range(0, len(l) - 1, 2)]
designs = [r for r in recs(sys.argv[1]) if "native" not in r[0]]
assert len(designs) == 4, designs
for h, s in designs:
    a, b = s.split("/")
    assert len(a) == len(b) == 107 and a == b, (h, a, b)
hot = [s for h, s in recs(sys.argv[2]) if "T=1," in h]
assert any(s.split("/")[0] != s.split("/")[1] for s in hot), "untied designs at T=1 are identical too: the test cannot tell"
p = h5py.File(sys.argv[3], "r")["probs"][()]
assert np.allclose(p[:107], p[107:]), "tied positions have different distributions in --probs"
PYEOF
design_ok symmetry --structure "$PDB/1bpi.pdb" --symmetry "A1,A5|A2,A7,A9" --samples 2 --temperatures "0 1.0" --out "$TMP/sym.fasta"
check "--symmetry: every group has one amino acid" "$TMP/sym.fasta" <<'PYEOF'
import sys
l = open(sys.argv[1]).read().split("\n")
recs = [(l[i], l[i + 1]) for i in range(0, len(l) - 1, 2) if "native" not in l[i]]
assert len(recs) == 4
for h, s in recs:
    assert s[0] == s[4] and s[1] == s[6] == s[8], (h, s[:10])
PYEOF
if design badsym --structure "$PDB/1bpi.pdb" --symmetry "A1,A500" --out "$TMP/x.fasta"; then fail "--symmetry with A500 accepted"; else
    expect_contains "$TMP/badsym.log" "--symmetry: no residue of chain A of $PDB/1bpi.pdb is numbered as in 'A500'" \
        "--symmetry: an unknown residue is named with the structure"; fi

# --- --probs and insertion codes: 1bju (chymotrypsin numbering: 184A before 184, gaps) and 1bpi
mkdir -p "$TMP/two"
cp "$PDB/1bju.pdb" "$PDB/1bpi.pdb" "$TMP/two/"
design_ok probs --structure "$TMP/two" --samples 1 --temperatures 0 --out "$TMP/probs.fasta" --probs "$TMP/probs.h5"
"$DUMP" "$PDB/1bju.pdb" --no-coords > "$TMP/1bju.dump"
"$DUMP" "$PDB/1bpi.pdb" --no-coords > "$TMP/1bpi.dump"
check "--probs: rows sum to 1, labels match the files, argmax = FASTA at T=0" "$TMP/probs.fasta" \
    "$TMP/probs.h5" "$TMP/1bju.dump" "$TMP/1bpi.dump" <<'PYEOF'
import sys, h5py, numpy as np
l = open(sys.argv[1]).read().split("\n")
recs = [(l[i], l[i + 1]) for i in range(0, len(l) - 1, 2)]
f = h5py.File(sys.argv[2], "r")
assert f.attrs["format"] == b"proteindiff-probs" and f.attrs["alphabet"] == b"ACDEFGHIKLMNPQRSTVWY"
names = [n.decode() for n in f["entries/name"][()]]
assert names == ["1bju", "1bpi"], names
off, length = f["entries/residue_offset"][()], f["entries/length"][()]
p, valid = f["probs"][()], f["valid"][()]
assert p.shape == (int(length.sum()), 20)
assert np.allclose(p[valid == 1].sum(1), 1, atol=1e-5) and (p >= 0).all()
for e, dump in enumerate(sys.argv[3:5]):
    rows = [x.split() for x in open(dump).read().split("\n")[1:] if x]
    lab = [c.decode() + str(r) + i.decode() for c, r, i in
           zip(f["chain"][off[e]:off[e] + length[e]], f["resnum"][off[e]:off[e] + length[e]], f["icode"][off[e]:off[e] + length[e]])]
    assert lab == [r[0] for r in rows], (names[e], lab[:5], rows[:5])
    design = [s for h, s in recs if h.startswith(">" + names[e] + ", T=0,")]
    assert len(design) == 1
    arg = "".join("ACDEFGHIKLMNPQRSTVWY"[k] for k in p[off[e]:off[e] + length[e]].argmax(1))
    native = [s for h, s in recs if h.startswith(">" + names[e] + ", native")][0]
    for i, (a, b) in enumerate(zip(arg, design[0])):
        if valid[off[e] + i]:
            assert a == b, (names[e], i, arg, design[0])
PYEOF
# A184 is residue 184 only (not 184A before it), A221 the residue numbered 221 (not the 221st),
# A184A only 184A
design_ok icode --structure "$PDB/1bju.pdb" --fixed "A184 A221" --samples 1 --temperatures 1.0 --out "$TMP/icode.fasta" \
    --omit-aa GYQ
design_ok icode2 --structure "$PDB/1bju.pdb" --fixed "A184A" --samples 1 --temperatures 1.0 --out "$TMP/icode2.fasta" \
    --omit-aa GYQ
check "--fixed A184 A221 / A184A: exactly those residues (insertion codes and gaps)" "$TMP/icode.fasta" "$TMP/1bju.dump" \
    "$TMP/icode2.fasta" <<'PYEOF'
import sys
l = open(sys.argv[1]).read().split("\n")
m = open(sys.argv[3]).read().split("\n")
assert "fixed=2," in l[0] and "fixed=1," in m[0], (l[0], m[0])
labels = [x.split()[0] for x in open(sys.argv[2]).read().split("\n")[1:] if x]
i184, i221 = labels.index("A184"), labels.index("A221")
assert labels[i184 - 1] == "A184A" and labels[i221 - 1] == "A221A"
# G, Y, Q are omitted, so they appear only where fixed
assert l[3][i184] == l[1][i184] == "Y" and l[3][i221] == l[1][i221] == "Q", (l[3][i184], l[3][i221])
assert sum(c in "GYQ" for c in l[3]) == 2, l[3]
assert m[3][i184 - 1] == "G" and sum(c in "GYQ" for c in m[3]) == 1, m[3]
PYEOF
if design badicode --structure "$PDB/1bju.pdb" --fixed "A184B" --out "$TMP/x.fasta"; then fail "--fixed A184B accepted"; else
    expect_contains "$TMP/badicode.log" "no residue of chain A of $PDB/1bju.pdb is numbered as in 'A184B'" \
        "--fixed: an insertion code the file lacks is refused naming the structure"; fi

# --- per-residue rules (LigandMPNN JSON shapes)
printf '{"A12": {"W": 50.0},\n "A13": {"C": 40, "Y": 60}}\n' > "$TMP/bias.json"
printf '{"A13": "Y", "A14": "ACDEFGHIKLMNPQRSTVW"}\n' > "$TMP/omit.json"
design_ok rules --structure "$PDB/1bpi.pdb" --bias-by-residue "$TMP/bias.json" --omit-by-residue "$TMP/omit.json" \
    --samples 2 --temperatures "0 1.0" --out "$TMP/rules.fasta"
check "--bias-by-residue / --omit-by-residue act on their residues only" "$TMP/rules.fasta" <<'PYEOF'
import sys
l = open(sys.argv[1]).read().split("\n")
recs = [l[i + 1] for i in range(0, len(l) - 1, 2) if "native" not in l[i]]
assert len(recs) == 4
for s in recs:
    assert s[11] == "W" and s[12] == "C" and s[13] == "Y", s[10:15]   # A12, A13, A14 (1bpi starts at 1)
assert any(s[14:] != recs[0][14:] for s in recs[1:])
PYEOF
printf '{"A12": {"W": 2.0},\n "A13": {"Z": 1}}\n' > "$TMP/bad.json"
if design badjson --structure "$PDB/1bpi.pdb" --bias-by-residue "$TMP/bad.json" --out "$TMP/x.fasta"; then fail "a bad letter accepted"; else
    expect_contains "$TMP/badjson.log" "bad.json:2: key 'A13': 'Z' is not one of the 20 amino-acid letters" \
        "--bias-by-residue: a bad letter is named with file, line and key"; fi
printf '{"A12": "CW",\n "A99": "C"}\n' > "$TMP/bad2.json"
if design badkey --structure "$PDB/1bpi.pdb" --omit-by-residue "$TMP/bad2.json" --out "$TMP/x.fasta"; then fail "A99 accepted"; else
    expect_contains "$TMP/badkey.log" "bad2.json:2 key 'A99': no residue of chain A of $PDB/1bpi.pdb" \
        "--omit-by-residue: a key naming no residue is named with file, line and structure"; fi

# --- --pdb-out: read back with the structure reader (gemmi)
design_ok pdbout --structure "$PDB/1bpi.pdb" --fixed "A1-10" --samples 2 --temperatures "0 0.5" --out "$TMP/pdb.fasta" \
    --pdb-out "$TMP/pdbs"
ls "$TMP/pdbs" > "$TMP/pdbs.list"
if [ "$(tr '\n' ' ' < "$TMP/pdbs.list")" = "1bpi_T0.5_s1.pdb 1bpi_T0.5_s2.pdb 1bpi_T0_s1.pdb 1bpi_T0_s2.pdb " ]; then
    pass "--pdb-out: one file per design, named entry, temperature, sample"; else fail "--pdb-out files: $(cat "$TMP/pdbs.list")"; fi
"$DUMP" "$PDB/1bpi.pdb" --atoms > "$TMP/in.dump"
for f in 1bpi_T0_s1 1bpi_T0.5_s2; do "$DUMP" "$TMP/pdbs/$f.pdb" --atoms > "$TMP/$f.dump" || fail "reading back $f.pdb"; done
check "--pdb-out files: designed names, input backbone, side chains only at fixed residues" "$TMP/pdb.fasta" "$TMP/in.dump" \
    "$TMP/1bpi_T0_s1.dump" "$TMP/1bpi_T0.5_s2.dump" <<'PYEOF'
import sys
l = open(sys.argv[1]).read().split("\n")
seqs = {l[i].split(",")[1].strip() + "," + l[i].split(",")[2].strip(): l[i + 1] for i in range(0, len(l) - 1, 2)}
rows = lambda p: [x.split() for x in open(p).read().split("\n")[1:] if x]
inp = rows(sys.argv[2])
for dump, key in ((sys.argv[3], "T=0,sample=1"), (sys.argv[4], "T=0.5,sample=2")):
    out = rows(dump)
    assert len(out) == len(inp) == 58
    assert "".join(r[1] for r in out) == seqs[key], (key, "".join(r[1] for r in out), seqs[key])
    for i, (a, b) in enumerate(zip(inp, out)):
        assert a[0] == b[0] and a[2:6] == b[2:6], (i, a, b)          # label, N CA C O
        want = a[6] if i < 10 else "atoms=4"
        assert b[6] == want, (i, a[6], b[6])
PYEOF

# --- progress: rank 0 shows structures done, rate and ETA
expect_contains "$TMP/probs.log" "structures 2/2 (100.0%)" "progress line with the structure count"
if grep -q "structures/s.*ETA" "$TMP/probs.log"; then pass "progress line with rate and ETA"; else fail "no rate/ETA in the progress line"; fi
finish
