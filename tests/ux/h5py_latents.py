"""h5py_latents.py — tools/h5py/read_latents.py on real latents: a small dataset is featurized, the
backbone VAE trained for one step and encoded by `proteindiff encode`; entry_latents() returns
exactly the raw /mu, /logvar, /valid rows of each entry (row-aligned with the dataset), invalid
rows are zero, the script prints the provenance, and a latents file that does not belong to
the dataset or is incomplete is refused."""
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from uxdata import PROTEINDIFF, TOOLS, check, featurize, finish, scratch  # noqa: E402

sys.path.insert(0, os.path.join(TOOLS, "h5py"))
from read_dataset import find, load  # noqa: E402
from read_latents import entry_latents, load_latents  # noqa: E402

with scratch() as tmp:
    data = featurize(["1CRN.cif", "1bpi.pdb"], tmp)
    cfg = os.path.join(tmp, "run.cfg")
    common = ["--set", "run.dir=%s/run" % tmp, "--set", "train.steps=1", "--set", "train.batch_residues=128",
              "--set", "train.val_every=1000"]
    r = subprocess.run([PROTEINDIFF, "train", cfg, "--stage", "bb_vae"] + common, capture_output=True, text=True)
    check(r.returncode == 0, "train bb_vae for 1 step (%s)" % r.stderr.strip()[-300:])
    r = subprocess.run([PROTEINDIFF, "encode", cfg, "--stage", "bb_vae"] + common, capture_output=True, text=True)
    check(r.returncode == 0, "encode bb_vae (%s)" % r.stderr.strip()[-300:])
    path = os.path.join(tmp, "run", "latents", "bb_vae.h5")
    if not os.path.exists(path):
        check(False, "latents file %s written" % path)
        finish()
    ds = load(data)
    lat = load_latents(path)
    raw = h5py.File(path, "r")
    D = int(lat["attrs"]["latent_dim"])
    check(lat["attrs"]["stage"] == "bb_vae" and raw["mu"].shape == (len(ds["residues/aa"]), D),
          "stage bb_vae, /mu is [R = %d, latent_dim = %d]" % (len(ds["residues/aa"]), D))
    check(os.path.realpath(lat["attrs"]["dataset"]) == os.path.realpath(data), "provenance names the dataset")
    for name in ds["entries/name"]:
        i = find(ds, name)
        mu, logvar, valid = entry_latents(lat, ds, i)
        a, L = int(ds["entries/residue_offset"][i]), int(ds["entries/length"][i])
        same = (np.array_equal(mu, raw["mu"][a:a + L]) and np.array_equal(logvar, raw["logvar"][a:a + L])
                and np.array_equal(valid, raw["valid"][a:a + L] == 1))
        check(same and mu.shape == (L, D) and mu.dtype == np.float32, "%s: rows %d..%d of /mu, /logvar, /valid" % (name, a, a + L - 1))
        check(valid.sum() > 0 and not mu[~valid].any() and np.abs(mu[valid]).sum() > 0,
              "%s: %d of %d rows encoded, zeros elsewhere" % (name, valid.sum(), L))
    r = subprocess.run([sys.executable, os.path.join(TOOLS, "h5py", "read_latents.py"), path], capture_output=True, text=True)
    check(r.returncode == 0 and "stage bb_vae, latent_dim %d" % D in r.stdout and "checkpoint " in r.stdout,
          "read_latents.py prints the provenance: " + r.stdout.splitlines()[0] if r.stdout else r.stderr[-200:])

    other = featurize(["1ctf.pdb.gz"], os.path.join(tmp, "run"))  # a different dataset, other R
    try:
        entry_latents(lat, load(other), 0)
        check(False, "latents of another dataset refused")
    except ValueError as err:
        check("not made from this dataset" in str(err), "latents of another dataset refused")
    partial = os.path.join(tmp, "partial.h5")
    shutil.copy(path, partial)
    with h5py.File(partial, "r+") as f:
        f.attrs["complete"] = np.int64(0)
    try:
        load_latents(partial)
        check(False, "incomplete latents refused")
    except ValueError as err:
        check("not a complete proteindiff latents file" in str(err), "incomplete latents refused")
    raw.close()
finish()
