#!/usr/bin/env python3
# check_broken.py DATASET EXPECTED.tsv [OTHER_DATASET] — the dataset featurize made of the
# broken-input corpus: every file gave exactly its expected entries and failure reasons, no
# valid residue carries a non-finite backbone or CB, no voxel is non-finite, residues with
# NaN/huge coordinates are not valid, the same 20 residues read through different damage
# (CRLF, duplicate atoms, gzip under a .pdb name, PDB under a .cif name) give identical
# features, and OTHER_DATASET (another rank count) holds the same content.
import os
import sys

import h5py
import numpy as np

failures = 0


def check(cond, what):
    global failures
    if cond:
        print("ok: " + what)
    else:
        print("FAIL: " + what)
        failures += 1


def load(path):
    f = h5py.File(path, "r")
    d = {k: f[k][:] for k in ("entries/name", "entries/source", "entries/length", "entries/residue_offset",
                              "failed/source", "failed/reason", "residues/mask", "residues/resnum",
                              "residues/atom14", "residues/cb", "voxels/divergence", "distograms/data",
                              "entries/distogram_offset", "residues/aa")}
    f.close()
    return d


ds = load(sys.argv[1])
names = [n.decode() for n in ds["entries/name"]]
sources = [os.path.basename(s.decode()) for s in ds["entries/source"]]
fsources = [os.path.basename(s.decode()) for s in ds["failed/source"]]
freasons = [r.decode() for r in ds["failed/reason"]]

cases = 0
for line in open(sys.argv[2]):
    if line.startswith("#") or not line.strip():
        continue
    file, want_entries, want_reasons = line.rstrip("\n").split("\t")
    cases += 1
    got = [n for n, s in zip(names, sources) if s == file]
    if want_entries.endswith(" entries"):
        check(len(got) == int(want_entries.split()[0]), "%s: %s (got %d)" % (file, want_entries, len(got)))
    else:
        want = [] if want_entries == "-" else want_entries.split(",")
        check(got == want, "%s: entries %s (got %s)" % (file, want, got))
    reasons = [r for s, r in zip(fsources, freasons) if s == file]
    want = [] if want_reasons == "-" else want_reasons.split(" | ")
    matched = len(reasons) == len(want) and all(w in r for w, r in zip(want, reasons))
    check(matched, "%s: reasons %s (got %s)" % (file, want, reasons))
print("%d broken-input cases checked" % cases)


def entry(d, name):
    i = [n.decode() for n in d["entries/name"]].index(name)
    o, L = int(d["entries/residue_offset"][i]), int(d["entries/length"][i])
    do = int(d["entries/distogram_offset"][i])
    return {"mask": d["residues/mask"][o:o + L], "resnum": d["residues/resnum"][o:o + L],
            "atom14": d["residues/atom14"][o:o + L], "cb": d["residues/cb"][o:o + L],
            "voxels": d["voxels/divergence"][o:o + L], "distogram": d["distograms/data"][do:do + 3 * L * L],
            "aa": d["residues/aa"][o:o + L]}


valid = (ds["residues/mask"] & 1) == 1
check(np.isfinite(ds["residues/atom14"][valid][:, :3]).all(), "valid residues have finite N, CA, C")
check(np.isfinite(ds["residues/cb"][valid]).all(), "valid residues have a finite CB")
check(np.isnan(ds["residues/cb"][~valid]).all(), "invalid residues have a NaN CB")
check(np.isfinite(ds["voxels/divergence"]).all(), "every voxel is finite")
check(not ds["voxels/divergence"][~valid].any(), "invalid residues have zero voxels")

# Residues whose backbone was given as nan / NaN / 1e30 / 1e300 / inf / -1e38 are not valid;
# every other residue of those chains is.
for name, bad in (("nan-coords_A", {5, 7, 9}), ("huge-coords_A", {3, 4, 5, 6})):
    e = entry(ds, name)
    invalid = {int(r) for r, m in zip(e["resnum"], e["mask"]) if not m & 1}
    check(invalid == bad, "%s: residues %s are invalid (got %s)" % (name, sorted(bad), sorted(invalid)))

# Overlapping backbone atoms (N = CA = C) still give finite features.
e = entry(ds, "overlapping-atoms_A")
check(np.isfinite(e["voxels"]).all() and np.isfinite(e["cb"][(e["mask"] & 1) == 1]).all(),
      "overlapping atoms: finite CB and voxels")

# The same 20 residues of 1BPI through different kinds of damage: identical features.
ref = entry(ds, "pdb-named_A")
for other in ("crlf_A", "duplicate-atoms_A", "gzip-named_A"):
    e = entry(ds, other)
    same = all(np.array_equal(ref[k], e[k], equal_nan=(k in ("atom14", "cb"))) for k in ref)
    check(same, "%s has the same features as pdb-named_A" % other)

if len(sys.argv) > 3:
    other = load(sys.argv[3])
    same = all(np.array_equal(ds[k], other[k], equal_nan=ds[k].dtype.kind == "f") for k in ds)
    check(same, "the other rank count wrote the same content")

sys.exit(1 if failures else 0)
