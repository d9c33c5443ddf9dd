#!/usr/bin/env python3
"""read_dataset.py — load a proteindiff dataset (docs/dataset-format.md) into numpy.

    from read_dataset import load, entry
    ds = load("dataset.h5")            # dict of numpy arrays + attrs
    e = entry(ds, 0)                   # one entry's arrays, distogram as (L, L, 3)

Run as a script it prints a one-line summary per entry:  read_dataset.py dataset.h5
"""
import sys

import h5py
import numpy as np

TABLES = ["entries/name", "entries/source", "entries/length", "entries/residue_offset",
          "entries/distogram_offset", "entries/split", "residues/aa", "residues/chain",
          "residues/resnum", "residues/icode", "residues/mask", "residues/cb",
          "failed/source", "failed/reason"]
LETTERS = "ACDEFGHIKLMNPQRSTVWYX"


def _text(v):
    """Fixed-length string attributes come back from h5py as bytes."""
    return v.decode() if isinstance(v, bytes) else v


def load(path, voxels=False):
    """Everything but the big arrays in memory; atom14, voxels and distograms stay lazy
    (h5py datasets) unless voxels=True loads the voxels too."""
    f = h5py.File(path, "r")
    attrs = {k: _text(v) for k, v in f.attrs.items()}
    if attrs.get("format") != "proteindiff-dataset" or int(attrs.get("complete", 0)) != 1:
        raise ValueError("%s: not a complete proteindiff dataset" % path)
    ds = {"file": f, "attrs": attrs}
    for name in TABLES:
        d = f[name]
        ds[name] = d.asstr()[()] if d.dtype.kind == "S" and name != "residues/icode" else d[()]
    ds["residues/atom14"] = f["residues/atom14"]
    ds["voxels/divergence"] = f["voxels/divergence"][()] if voxels else f["voxels/divergence"]
    ds["distograms/data"] = f["distograms/data"]
    return ds


def entry(ds, i):
    """Arrays of entry i: per-residue rows and the (L, L, 3) distogram image."""
    L = int(ds["entries/length"][i])
    r = int(ds["entries/residue_offset"][i])
    d = int(ds["entries/distogram_offset"][i])
    out = {"name": ds["entries/name"][i], "source": ds["entries/source"][i], "length": L,
           "split": int(ds["entries/split"][i])}
    for key in ["aa", "chain", "resnum", "icode", "mask", "cb"]:
        out[key] = ds["residues/" + key][r:r + L]
    out["atom14"] = ds["residues/atom14"][r:r + L]
    out["voxels"] = ds["voxels/divergence"][r:r + L]
    out["distogram"] = ds["distograms/data"][d:d + 3 * L * L].reshape(L, L, 3)
    out["sequence"] = "".join(LETTERS[a] for a in out["aa"])
    return out


if __name__ == "__main__":
    ds = load(sys.argv[1])
    n = len(ds["entries/name"])
    for i in range(n):
        e = entry(ds, i)
        print("%-24s L=%4d split=%d %s" % (e["name"], e["length"], e["split"], e["sequence"][:40]))
    print("%d entries, %d residues, %d failures" % (n, len(ds["residues/aa"]), len(ds["failed/source"])))
