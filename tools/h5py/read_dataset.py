#!/usr/bin/python3
"""read_dataset.py — load a proteindiff dataset (docs/dataset-format.md) into numpy.

    import sys; sys.path.insert(0, "tools/h5py")
    from read_dataset import load, entry, find, distances
    ds = load("runs/quickstart/dataset.h5")   # tables in memory; atom14/voxels/distograms lazy
    e = entry(ds, 0)                          # one entry, by index ...
    e = entry(ds, find(ds, "1CRN_A"))         # ... or by name
    e["sequence"], e["aa"]                    # "TTCCPS...", uint8 (L,) in ACDEFGHIKLMNPQRSTVWYX
    e["atom14"], e["backbone"]                # float32 (L,14,3) and (L,4,3) = N, CA, C, O; NaN missing
    e["voxels"]                               # float32 (L,V,V,V) divergence (stored as float16)
    e["distogram"]                            # uint8 (L,L,3) image, as in `proteindiff export --png`
    distances(e["distogram"])                 # float32 (L,L) virtual-CB distances in A, NaN = none

Run as a script it prints a one-line summary per entry:  tools/h5py/read_dataset.py DATASET.h5
"""
import sys

import h5py
import numpy as np

TABLES = ["entries/name", "entries/source", "entries/length", "entries/residue_offset",
          "entries/distogram_offset", "entries/split", "residues/aa", "residues/chain",
          "residues/resnum", "residues/icode", "residues/mask", "residues/cb",
          "failed/source", "failed/reason"]
LETTERS = "ACDEFGHIKLMNPQRSTVWYX"
SPLITS = ("train", "valid", "test")
# /residues/mask bits (docs/dataset-format.md)
MASK_BACKBONE, MASK_OXYGEN, MASK_SIDECHAIN = 1, 2, 4


def _text(v):
    """Fixed-length string attributes come back from h5py as bytes."""
    return v.decode() if isinstance(v, bytes) else v


def load(path, voxels=False):
    """Everything but the big arrays in memory; atom14, voxels and distograms stay lazy
    (h5py datasets, read per entry) unless voxels=True loads all voxels (as float16)."""
    f = h5py.File(path, "r")
    attrs = {k: _text(v) for k, v in f.attrs.items()}
    if attrs.get("format") != "proteindiff-dataset" or int(attrs.get("complete", 0)) != 1:
        f.close()
        raise ValueError("%s: not a complete proteindiff dataset (format attribute %r, complete %r)"
                         % (path, attrs.get("format"), attrs.get("complete")))
    ds = {"file": f, "attrs": attrs}
    for name in TABLES:
        d = f[name]
        ds[name] = d.asstr()[()] if d.dtype.kind == "S" and name != "residues/icode" else d[()]
    ds["residues/atom14"] = f["residues/atom14"]
    ds["voxels/divergence"] = f["voxels/divergence"][()] if voxels else f["voxels/divergence"]
    ds["distograms/data"] = f["distograms/data"]
    return ds


def find(ds, name):
    """Index of the entry called name (e.g. "1CRN_A"); KeyError naming a few others if absent."""
    hits = np.flatnonzero(ds["entries/name"] == name)
    if len(hits) == 0:
        some = ", ".join(ds["entries/name"][:5])
        raise KeyError("no entry %r in this dataset (it has %d, e.g. %s)" % (name, len(ds["entries/name"]), some))
    return int(hits[0])


def entry(ds, i):
    """Arrays of entry i: per-residue rows, voxels as float32 and the (L, L, 3) distogram image."""
    L = int(ds["entries/length"][i])
    r = int(ds["entries/residue_offset"][i])
    d = int(ds["entries/distogram_offset"][i])
    out = {"index": i, "name": ds["entries/name"][i], "source": ds["entries/source"][i], "length": L,
           "split": int(ds["entries/split"][i])}
    for key in ["aa", "chain", "resnum", "icode", "mask", "cb"]:
        out[key] = ds["residues/" + key][r:r + L]
    out["atom14"] = ds["residues/atom14"][r:r + L]
    out["backbone"] = out["atom14"][:, :4]
    out["voxels"] = np.asarray(ds["voxels/divergence"][r:r + L], dtype=np.float32)
    out["distogram"] = ds["distograms/data"][d:d + 3 * L * L].reshape(L, L, 3)
    out["sequence"] = "".join(LETTERS[a] for a in out["aa"])
    return out


def distances(image, dmax=80.0):
    """Virtual-CB distance matrix in A from a distogram image: the lower triangle's R channel
    (pixel = trunc(d / dmax * 255), so values are within dmax/255 of the truth), mirrored;
    NaN where there is no distance (diagonal, beyond dmax, invalid residue)."""
    r = image[:, :, 0].astype(np.float32)
    lower = np.tril(r, -1)
    d = (lower + lower.T) / 255.0 * dmax
    d[(lower + lower.T) >= 255] = np.nan
    np.fill_diagonal(d, np.nan)
    return d


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: read_dataset.py DATASET.h5")
    ds = load(sys.argv[1])
    n = len(ds["entries/name"])
    for i in range(n):
        e = entry(ds, i)
        print("%-24s L=%4d split=%-5s %s" % (e["name"], e["length"], SPLITS[e["split"]], e["sequence"][:40]))
    print("%d entries, %d residues, %d failures" % (n, len(ds["residues/aa"]), len(ds["failed/source"])))
