#!/usr/bin/env python3
"""encode_check.py — independent checks of `proteindiff encode --stage sc_vae` and of the sc_vae
validation metrics, with h5py and the PyTorch reference model (tests/reference/sc_vae_ref.py):

  encode_check.py file DATASET LATENTS CHECKPOINT [METRICS.jsonl CONFUSION.tsv]
      the latents file's attributes and shapes; /valid is exactly the residues with a label and
      a non-empty voxel (computed here from the dataset); rows with /valid = 0 are zeros; /mu and
      /logvar equal torch's encoder (float64) on the checkpoint's weights; with METRICS and
      CONFUSION, the final val_* metrics and the confusion counts equal torch's evaluation of the
      checkpoint (z = mu, classifier on the reconstruction) on the valid split.
  encode_check.py same A B
      /mu, /logvar and /valid of two latents files are byte-identical.
"""
import json
import os
import sys
import warnings

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))

warnings.filterwarnings("ignore", message="Using padding='same'")
failures = []


def check(ok, what):
    print(("  ok   " if ok else "  FAIL ") + what)
    if not ok:
        failures.append(what)


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def same(a_path, b_path):
    with h5py.File(a_path, "r") as a, h5py.File(b_path, "r") as b:
        for name in ("mu", "logvar", "valid"):
            x, y = a[name][()], b[name][()]
            check(x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes(),
                  "/%s identical in %s and %s (%s, %s)" % (name, a_path, b_path, x.shape, x.dtype))


def load_model(ckpt_path, voxel):
    import torch
    from sc_vae_ref import ScVae
    with h5py.File(ckpt_path, "r") as f:
        params = {k: f["params"][k][()] for k in f["params"]}
    width = params["enc.stem.conv.weight"].shape[0]
    latent = params["enc.head.weight"].shape[0] // 2
    model = ScVae(voxel, width, latent).double()
    state = model.state_dict()
    check(set(state) == set(params), "checkpoint parameters are the torch model's (%d tensors)" % len(params))
    with torch.no_grad():
        for k, t in state.items():
            t.copy_(torch.from_numpy(params[k].astype(np.float64)))
    model.eval()
    return model, latent


def kept_rows(ds):
    """Rows with an amino-acid label (< 20) and a non-empty voxel: what the stage encodes."""
    aa = ds["residues/aa"][()]
    vox = ds["voxels/divergence"][()]
    nonempty = (vox.reshape(vox.shape[0], -1) != 0).any(axis=1)
    return (aa < 20) & nonempty, aa, vox


def file_checks(ds_path, lat_path, ckpt_path, metrics_path=None, confusion_path=None):
    import torch
    ds = h5py.File(ds_path, "r")
    lat = h5py.File(lat_path, "r")
    voxel = int(ds.attrs["voxel_size"])
    model, latent = load_model(ckpt_path, voxel)
    R = ds["residues/aa"].shape[0]

    a = lat.attrs
    check(text(a["format"]) == "proteindiff-latents" and int(a["version"]) == 1, "format proteindiff-latents version 1")
    check(int(a["complete"]) == 1, "complete = 1")
    check(text(a["stage"]) == "sc_vae", "stage = sc_vae")
    check(int(a["latent_dim"]) == latent, "latent_dim = %d (the checkpoint's latent head)" % latent)
    check(text(a["dataset"]) == os.path.realpath(ds_path), "dataset attribute names the dataset")
    check(text(a["checkpoint"]) == os.path.realpath(ckpt_path), "checkpoint attribute names the checkpoint")
    check("sc_vae" in text(a["config"]) and text(a["created_by"]).startswith("proteindiff "),
          "config and created_by attributes")
    for name, shape, dtype in (("mu", (R, latent), np.float32), ("logvar", (R, latent), np.float32),
                               ("valid", (R,), np.uint8)):
        d = lat[name]
        check(d.shape == shape and d.dtype == dtype and len(text(d.attrs["description"])) > 10,
              "/%s is %s %s [%s] with a description" % (name, np.dtype(dtype).name, shape, d.shape))

    keep, aa, vox = kept_rows(ds)
    valid = lat["valid"][()].astype(bool)
    mu, logvar = lat["mu"][()], lat["logvar"][()]
    check(np.array_equal(valid, keep), "/valid = labelled residues with a non-empty voxel (%d of %d rows)"
          % (keep.sum(), R))
    check((~keep).sum() > 0, "the test dataset has rows that are not encoded (%d)" % (~keep).sum())
    check(not mu[~valid].any() and not logvar[~valid].any(), "rows with /valid = 0 are zeros in /mu and /logvar")

    x = torch.from_numpy(vox[keep].astype(np.float64)[:, None])
    with torch.no_grad():
        ref_mu, ref_lv = (t.numpy() for t in model.encode(x))
    for name, got, ref in (("mu", mu[valid], ref_mu), ("logvar", logvar[valid], ref_lv)):
        err = np.max(np.abs(got - ref) / (1e-3 + np.abs(ref)))
        check(err < 1e-3, "/%s equals torch's encoder on the checkpoint (max relative error %.2e)" % (name, err))
    check(np.abs(ref_mu).max() > 1e-3, "the latents are not trivially zero")

    if not metrics_path:
        return
    # Final validation (written with the final checkpoint's weights) against torch on the valid split.
    lines = [json.loads(l) for l in open(metrics_path)]
    last = [r for r in lines if "val_mse" in r][-1]
    split = ds["entries/split"][()]
    off, length = ds["entries/residue_offset"][()], ds["entries/length"][()]
    in_valid = np.zeros(R, bool)
    for i in np.nonzero(split == 1)[0]:
        in_valid[off[i]:off[i] + length[i]] = True
    rows = keep & in_valid
    xv = torch.from_numpy(vox[rows].astype(np.float64)[:, None])
    yv = torch.from_numpy(aa[rows].astype(np.int64))
    n = int(rows.sum())
    with torch.no_grad():
        m, lv = model.encode(xv)
        recon = model.dec(m)
        logits = model.classify(recon)
        pred = logits.argmax(1)
        cells = voxel ** 3
        ref = {
            "val_mse": float(((recon - xv) ** 2).sum() / (n * cells)),
            "val_kl": float((-0.5 * (1 + lv - m * m - lv.exp())).sum() / n),
            "val_ce": float(torch.nn.functional.cross_entropy(logits, yv, reduction="sum") / n),
            "val_acc": float((pred == yv).double().mean()),
            "val_acc_input": float((model.classify(xv).argmax(1) == yv).double().mean()),
            "val_baseline_mse": float(((xv - xv.mean(0)) ** 2).sum() / (n * cells)),
            "val_baseline_acc": float(np.bincount(yv.numpy(), minlength=20).max() / n),
            "val_residues": float(n),
        }
    for k, v in ref.items():
        got = last.get(k)
        tol = 1.5 / n if k.startswith("val_acc") else 1e-4 * abs(v) + 1e-7
        check(got is not None and abs(got - v) <= tol, "%s at step %d: %s, torch %.6g" % (k, last["step"], got, v))

    conf = np.zeros((20, 20), np.int64)
    np.add.at(conf, (yv.numpy(), pred.numpy()), 1)
    rows_tsv = [l.rstrip("\n").split("\t") for l in open(confusion_path) if not l.startswith("#")]
    header, body = rows_tsv[0], rows_tsv[1:]
    check(header[1:21] == list("ACDEFGHIKLMNPQRSTVWY") and len(body) == 20, "confusion TSV: 20x20 in ACDEFGHIKLMNPQRSTVWY")
    got = np.array([[int(c) for c in r[1:21]] for r in body])
    totals = np.array([int(r[21]) for r in body])
    check(np.array_equal(totals, conf.sum(1)) and np.array_equal(got.sum(1), totals),
          "confusion row totals = the valid split's amino-acid counts (%d residues)" % n)
    check(abs(np.trace(got) / n - last["val_acc"]) < 1e-12, "confusion diagonal / residues = val_acc")
    differ = int(np.abs(got - conf).sum()) // 2
    check(differ <= max(1, n // 100), "confusion counts equal torch's (%d residues differ by a near-tie)" % differ)


def main(argv):
    if len(argv) >= 2 and argv[1] == "same" and len(argv) == 4:
        same(argv[2], argv[3])
    elif len(argv) in (5, 7) and argv[1] == "file":
        file_checks(*argv[2:])
    else:
        raise SystemExit(__doc__)
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
