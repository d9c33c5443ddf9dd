"""h5py_schema.py — a featurized dataset read by h5py (through tools/h5py/read_dataset.py):
every dataset and attribute of docs/dataset-format.md with its dtype, shape and description,
offsets consistent with lengths, splits recomputed here from FNV-1a-64, the virtual C-beta
recomputed from atom14 with SPEC section 2, and distogram distance pixels and sentinels
recomputed from the stored C-betas (SPEC section 3)."""
import os
import subprocess
import sys
import tempfile

import numpy as np

top_srcdir = os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(top_srcdir, "tools", "h5py"))
from read_dataset import entry, load  # noqa: E402

shared = os.environ.get("PD_SHARED", os.path.join(top_srcdir, "..", "shared"))
pdb = os.path.join(shared, "data", "pdb")
if not os.path.isdir(pdb):
    print("SKIP: no", pdb)
    sys.exit(77)

failures = 0


def check(cond, what):
    global failures
    if cond:
        print("ok:", what)
    else:
        print("FAIL:", what)
        failures += 1


tmp = tempfile.mkdtemp(prefix="pd_h5py_")
files = ["1CRN.cif", "4hhb.pdb.gz", "1cbn.cif", "1AJJ.pdb", "1hh0_4char.cif.gz"]
cfg = os.path.join(tmp, "run.cfg")
with open(cfg, "w") as f:
    f.write('data = { inputs = [%s]; dataset = "%s/d.h5"; };\n'
            % (", ".join('"%s/%s"' % (pdb, x) for x in files), tmp))
exe = os.environ.get("PROTEINDIFF", "proteindiff")
r = subprocess.run([exe, "featurize", cfg, "--set", "featurize.compression=3"], capture_output=True, text=True)
check(r.returncode == 0, "featurize exits 0 (%s)" % r.stderr.strip()[-300:])
ds = load(os.path.join(tmp, "d.h5"))
f = ds["file"]

# Attributes.
a = ds["attrs"]
check(a["format"] == "proteindiff-dataset" and int(a["version"]) == 1 and int(a["complete"]) == 1, "format/version/complete")
check(int(a["voxel_size"]) == 16 and abs(a["voxel_cell"] - 0.75) < 1e-12 and a["distogram_dmax"] == 80.0, "voxel and distogram attributes")
check("compression = 3;" in a["config"] and "proteindiff" in a["created_by"], "config text and created_by")

# Schema: dtype, rank and inner shape, description.
C, R = len(ds["entries/name"]), len(ds["residues/aa"])
V = int(a["voxel_size"])
schema = {
    "entries/name": ("S", (C,)), "entries/source": ("S", (C,)), "entries/length": ("<i4", (C,)),
    "entries/residue_offset": ("<i8", (C,)), "entries/distogram_offset": ("<i8", (C,)), "entries/split": ("|u1", (C,)),
    "residues/aa": ("|u1", (R,)), "residues/chain": ("|u1", (R,)), "residues/resnum": ("<i4", (R,)),
    "residues/icode": ("S", (R,)), "residues/mask": ("|u1", (R,)), "residues/atom14": ("<f4", (R, 14, 3)),
    "residues/cb": ("<f4", (R, 3)), "voxels/divergence": ("<f2", (R, V, V, V)),
    "distograms/data": ("|u1", (int(np.sum(3 * ds["entries/length"].astype(np.int64) ** 2)),)),
    "failed/source": ("S", None), "failed/reason": ("S", None),
}
seen = []
f.visititems(lambda n, o: seen.append(n) if hasattr(o, "dtype") else None)
check(sorted(seen) == sorted(schema), "exactly the documented datasets (%s)" % sorted(set(seen) ^ set(schema)))
for name, (dt, shape) in schema.items():
    d = f[name]
    ok_type = d.dtype.kind == "S" if dt == "S" else d.dtype.str == dt
    check(ok_type and (shape is None or d.shape == shape), "%s is %s %s (found %s %s)" % (name, dt, shape, d.dtype, d.shape))
    desc = d.attrs.get("description", b"")
    check(len(desc.decode() if isinstance(desc, bytes) else desc) > 10, "%s has a description" % name)
check(f["voxels/divergence"].compression == "gzip", "voxels gzip-compressed as configured")
check(f["failed/source"].shape == f["failed/reason"].shape and f["failed/source"].shape[0] >= 1, "failures recorded (1AJJ too short)")

# Offsets: contiguous, in bounds.
L = ds["entries/length"].astype(np.int64)
check(np.array_equal(ds["entries/residue_offset"], np.concatenate([[0], np.cumsum(L)[:-1]])), "residue offsets = cumulative lengths")
check(np.array_equal(ds["entries/distogram_offset"], np.concatenate([[0], np.cumsum(3 * L * L)[:-1]])), "distogram offsets = cumulative 3L^2")
check(int(L.sum()) == R, "lengths sum to R")


# Splits from FNV-1a-64 (SPEC section 6), computed here.
def fnv1a64(b):
    h = 0xcbf29ce484222325
    for c in b:
        h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


for name, split in zip(ds["entries/name"], ds["entries/split"]):
    u = (fnv1a64(name.encode()) >> 11) * 2.0 ** -53
    want = 0 if u < 1 - 0.05 - 0.05 else (1 if u < 1 - 0.05 else 2)
    check(split == want, "split of %s (u = %.4f) is %d" % (name, u, want))

# Virtual C-beta and distogram pixels recomputed from the stored coordinates.
for i in range(C):
    e = entry(ds, i)
    valid = (e["mask"] & 1) == 1
    n, ca, c = (e["atom14"][:, k, :].astype(np.float64) for k in range(3))
    b, cc = ca - n, c - ca
    cb = -0.58273431 * np.cross(b, cc) + 0.56802827 * b - 0.54067466 * cc + ca
    err = np.abs(cb[valid] - e["cb"][valid]).max()
    check(err < 1e-3, "%s: virtual C-beta matches SPEC section 2 (max err %.2g)" % (e["name"], err))
    img = e["distogram"]
    check(np.all(img[np.arange(e["length"]), np.arange(e["length"])] == [255, 127, 0]), "%s: diagonal sentinel pixels" % e["name"])
    cbf = e["cb"].astype(np.float32)
    idx = np.where(valid)[0]
    dist = np.sqrt(((cbf[idx][:, None, :] - cbf[idx][None, :, :]) ** 2).sum(-1, dtype=np.float32), dtype=np.float32)
    pix = np.clip(((dist / np.float32(80) * 2 - 1) + 1) / 2 * 255, 0, 255).astype(np.uint8)
    lower = np.tril(np.ones_like(pix, dtype=bool), -1) & (dist <= 80)
    got = img[np.ix_(idx, idx)][:, :, 0]
    diff = np.abs(got[lower].astype(int) - pix[lower].astype(int)).max() if lower.any() else 0
    check(diff <= 1, "%s: distance channel (lower triangle) matches |CB_i - CB_j| (max diff %d)" % (e["name"], diff))

sys.exit(1 if failures else 0)
