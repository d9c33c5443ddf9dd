"""plot_voxels.py — tools/plot-voxels draws a readable PNG grid of real featurized voxels: the
residues asked for (or complete side chains by default), a colour range that is the symmetric
99th percentile of the central slices (recomputed here from the raw HDF5 rows), red and blue
both present, and clear errors for a missing file, an unknown entry, a bad residue and a file
that is not a dataset."""
import os
import re
import struct
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from uxdata import TOOLS, check, featurize, finish, scratch  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

tool = os.path.join(TOOLS, "plot-voxels")


def run(*args):
    return subprocess.run([sys.executable, tool] + list(args), capture_output=True, text=True)


with scratch() as tmp:
    data = featurize(["1CRN.cif", "1bpi.pdb"], tmp)
    with h5py.File(data, "r") as f:
        names = list(f["entries/name"].asstr()[()])
        offsets, lengths = f["entries/residue_offset"][()], f["entries/length"][()]
        V = int(f.attrs["voxel_size"])
        k = names.index("1bpi_A")
        rows = [3, 20, 41]
        vox = f["voxels/divergence"][offsets[k] + np.array(rows)].astype(np.float32)
        mask, aa = f["residues/mask"][()], f["residues/aa"][()]
    m = V // 2
    slices = np.concatenate([np.concatenate([g[m].ravel(), g[:, m].ravel(), g[:, :, m].ravel()]) for g in vox])
    want = float(np.percentile(np.abs(slices), 99))

    out = os.path.join(tmp, "vox.png")
    r = run(data, "--entry", "1bpi_A", "--residues", "3,20,41", "-o", out)
    check(r.returncode == 0, "plot-voxels exits 0 (%s)" % r.stderr.strip()[-300:])
    check("3 residue(s) of 1bpi_A (3, 20, 41)" in r.stdout, "summary names the residues: " + r.stdout.strip())
    got = float(r.stdout.rsplit("±", 1)[-1]) if "±" in r.stdout else -1
    check(want > 0 and abs(got - want) <= 0.001 * want,
          "colour range ±%.4g is the 99th percentile of |central slices| (%.4g, from raw HDF5)" % (got, want))
    with open(out, "rb") as f:
        head = f.read(24)
    check(head[:8] == b"\x89PNG\r\n\x1a\n", "output is a PNG")
    w, h = struct.unpack(">II", head[16:24])
    check(w >= 900 and h >= 3 * 250, "PNG is a readable size for 3 rows (%dx%d)" % (w, h))
    img = plt.imread(out)[:, :, :3]
    red = np.sum((img[:, :, 0] > 0.6) & (img[:, :, 2] < 0.35))
    blue = np.sum((img[:, :, 2] > 0.6) & (img[:, :, 0] < 0.35))
    check(red > 500 and blue > 500, "both signs visible: %d strongly red and %d strongly blue pixels" % (red, blue))

    # Default choice: n residues with a valid backbone and a complete side chain, not Gly/X.
    r = run(data, "--entry", "0", "-n", "2", "-o", os.path.join(tmp, "default.png"))
    check(r.returncode == 0 and os.path.exists(os.path.join(tmp, "default.png")), "default residue choice works")
    found = re.search(r"of \S+ \(([0-9, ]+)\)", r.stdout)
    chosen = found.group(1).split(", ") if found else []
    first = names[0]
    ok = len(chosen) == 2 and all((mask[offsets[0] + int(c)] & 5) == 5 and aa[offsets[0] + int(c)] not in (5, 20)
                                  for c in chosen)
    check(ok, "default residues of %s have complete side chains and are not Gly/X: %s" % (first, chosen))

    r = run(os.path.join(tmp, "nope.h5"))
    check(r.returncode != 0 and "does not exist" in r.stderr, "missing file: clear error")
    r = run(data, "--entry", "9XYZ_Q", "-o", os.path.join(tmp, "x.png"))
    check(r.returncode != 0 and "no entry '9XYZ_Q'" in r.stderr and "1CRN_A" in r.stderr, "unknown entry names the real ones")
    r = run(data, "--entry", "1CRN_A", "--residues", "2,999", "-o", os.path.join(tmp, "x.png"))
    check(r.returncode != 0 and "outside 0..45" in r.stderr, "residue out of range: clear error")
    other = os.path.join(tmp, "other.h5")
    with h5py.File(other, "w") as f:
        f["x"] = np.zeros(3)
    r = run(other, "-o", os.path.join(tmp, "x.png"))
    check(r.returncode != 0 and "not a complete proteindiff dataset" in r.stderr, "non-dataset HDF5 refused")
finish()
