#!/usr/bin/python3
"""read_latents.py — load the per-residue VAE latents `proteindiff encode` writes
(run.dir/latents/<stage>.h5, docs/latents-format.md) into numpy, entry by entry.

    import sys; sys.path.insert(0, "tools/h5py")
    from read_dataset import load, find
    from read_latents import load_latents, entry_latents
    ds = load("runs/quickstart/dataset.h5")
    lat = load_latents("runs/quickstart/latents/sc_vae.h5")   # attrs + lazy /mu, /logvar, /valid
    mu, logvar, valid = entry_latents(lat, ds, find(ds, "1CRN_A"))   # (L, D), (L, D), bool (L,)

Rows are the dataset's residue rows, so entry i's latents line up with its residues, voxels and
sequence. Run as a script it prints the provenance and a per-dimension summary of /mu:
    tools/h5py/read_latents.py runs/quickstart/latents/sc_vae.h5
"""
import sys

import h5py
import numpy as np


def _text(v):
    return v.decode() if isinstance(v, bytes) else v


def load_latents(path):
    """Attributes in memory; /mu, /logvar, /valid as lazy h5py datasets."""
    f = h5py.File(path, "r")
    attrs = {k: _text(v) for k, v in f.attrs.items()}
    if attrs.get("format") != "proteindiff-latents" or int(attrs.get("complete", 0)) != 1:
        f.close()
        raise ValueError("%s: not a complete proteindiff latents file (format attribute %r, complete %r)"
                         % (path, attrs.get("format"), attrs.get("complete")))
    return {"file": f, "attrs": attrs, "mu": f["mu"], "logvar": f["logvar"], "valid": f["valid"]}


def entry_latents(lat, ds, i):
    """mu and logvar (float32, L x latent_dim) and valid (bool, L) of dataset entry i, where ds is
    read_dataset.load() of the dataset the latents were made from."""
    if lat["mu"].shape[0] != len(ds["residues/aa"]):
        raise ValueError("latents have %d rows but the dataset has %d residues: not made from this dataset (%s)"
                         % (lat["mu"].shape[0], len(ds["residues/aa"]), lat["attrs"].get("dataset")))
    r, L = int(ds["entries/residue_offset"][i]), int(ds["entries/length"][i])
    return lat["mu"][r:r + L], lat["logvar"][r:r + L], lat["valid"][r:r + L].astype(bool)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: read_latents.py LATENTS.h5")
    lat = load_latents(sys.argv[1])
    a = lat["attrs"]
    valid = lat["valid"][()].astype(bool)
    mu = lat["mu"][()][valid]
    print("stage %s, latent_dim %s, %d of %d rows encoded" % (a["stage"], a["latent_dim"], valid.sum(), len(valid)))
    print("checkpoint %s\ndataset    %s" % (a["checkpoint"], a["dataset"]))
    if len(mu):
        print("mu per dimension: mean %s" % np.array2string(mu.mean(0), precision=2, max_line_width=100))
        print("                  std  %s" % np.array2string(mu.std(0), precision=2, max_line_width=100))
