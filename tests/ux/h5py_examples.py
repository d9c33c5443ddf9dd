"""h5py_examples.py — tools/h5py/read_dataset.py on a real featurized dataset: per-entry access by
index and by name, voxels as float32 equal to the stored float16 rows, the (L, L, 3) distogram
equal to the raw bytes, distances() within one pixel step of the C-beta distances computed here,
sequences equal to `proteindiff export --fasta` (the C reader), the script's summary, and
refusal of an incomplete file."""
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from uxdata import PROTEINDIFF, TOOLS, check, featurize, finish, scratch  # noqa: E402

sys.path.insert(0, os.path.join(TOOLS, "h5py"))
from read_dataset import distances, entry, find, load  # noqa: E402

with scratch() as tmp:
    data = featurize(["1CRN.cif", "1bpi.pdb", "1ctf.pdb.gz"], tmp)
    ds = load(data)
    raw = h5py.File(data, "r")
    names = list(raw["entries/name"].asstr()[()])
    check(list(ds["entries/name"]) == names, "entry names: %s" % names)

    fasta = os.path.join(tmp, "d.fasta")
    r = subprocess.run([PROTEINDIFF, "export", data, "--fasta", fasta], capture_output=True, text=True)
    check(r.returncode == 0, "proteindiff export --fasta exits 0")
    records = {}
    with open(fasta) as f:
        for head, seq in zip(f, f):
            records[head[1:].split()[0]] = seq.strip()

    V = int(raw.attrs["voxel_size"])
    for name in names:
        i = find(ds, name)
        e = entry(ds, i)
        L, r0 = e["length"], int(raw["entries/residue_offset"][i])
        check(e["name"] == name and L == int(raw["entries/length"][i]), "%s: found by name at index %d, L = %d" % (name, i, L))
        check(e["sequence"] == records.get(name), "%s: sequence equals the FASTA from the C exporter" % name)
        check(e["voxels"].dtype == np.float32 and e["voxels"].shape == (L, V, V, V), "%s: voxels float32 (L,V,V,V)" % name)
        stored = raw["voxels/divergence"][r0:r0 + L]
        check(np.array_equal(e["voxels"], stored.astype(np.float32)) and np.abs(stored).max() > 0,
              "%s: voxels equal the stored float16 rows (and are not all zero)" % name)
        check(e["backbone"].shape == (L, 4, 3) and np.array_equal(e["backbone"], raw["residues/atom14"][r0:r0 + L, :4], equal_nan=True),
              "%s: backbone = atom14 slots N, CA, C, O" % name)
        d0 = int(raw["entries/distogram_offset"][i])
        img = raw["distograms/data"][d0:d0 + 3 * L * L]
        check(e["distogram"].shape == (L, L, 3) and np.array_equal(e["distogram"].ravel(), img), "%s: distogram (L,L,3) = raw bytes" % name)
        # Distances from the image against C-beta distances computed here.
        cb = raw["residues/cb"][r0:r0 + L].astype(np.float64)
        true = np.sqrt(((cb[:, None] - cb[None]) ** 2).sum(-1))
        got = distances(e["distogram"])
        ok = ~np.isnan(got)
        err = np.abs(got[ok] - true[ok]).max()
        check(ok.sum() > L * (L - 1) * 0.9 and err <= 80 / 255 + 1e-3,
              "%s: distances() within 80/255 A of |CB_i - CB_j| (max err %.3f over %d pairs)" % (name, err, ok.sum()))
        check(np.all(np.isnan(np.diag(got))) and np.allclose(got[ok], got.T[ok]), "%s: NaN diagonal, symmetric" % name)
    try:
        find(ds, "9XYZ_Q")
        check(False, "find() of an absent name raises")
    except KeyError as err:
        check("1CRN_A" in str(err), "find() of an absent name raises KeyError naming others")

    r = subprocess.run([sys.executable, os.path.join(TOOLS, "h5py", "read_dataset.py"), data], capture_output=True, text=True)
    check(r.returncode == 0 and r.stdout.strip().endswith("%d entries, %d residues, 0 failures" % (len(names), raw["residues/aa"].shape[0])),
          "read_dataset.py summary line: " + r.stdout.strip().splitlines()[-1])
    check(all(n in r.stdout for n in names), "script lists every entry")

    # An unfinished file (complete = 0) is refused.
    partial = os.path.join(tmp, "partial.h5")
    shutil.copy(data, partial)
    with h5py.File(partial, "r+") as f:
        f.attrs["complete"] = np.int64(0)
    try:
        load(partial)
        check(False, "incomplete file refused")
    except ValueError as err:
        check("not a complete proteindiff dataset" in str(err), "incomplete file refused: %s" % err)
    raw.close()
finish()
