#!/usr/bin/env python3
"""diagnose-environment-probe.py — how much of the amino acid a small network reads from each
residue's local backbone environment (the features of model.diffusion.environment,
docs/models/diffusion.md "Environment"): trained on the train split of a proteindiff dataset,
scored on its valid and test splits after every epoch. It is the probe that showed (session 6,
docs/models/design-quality.md) that the backbone carries far more sequence signal than the
chain read; a diagnosis tool, not part of the product (PyTorch is not a runtime dependency).

usage: tools/diagnose-environment-probe.py DATASET.h5 [--k 24] [--width 128] [--minutes 10]
                                           [--threads 1] [--seed 0]
Prints one line per epoch: elapsed seconds, valid and test (recovery, perplexity)."""
import argparse
import time

import h5py
import numpy as np
import torch
import torch.nn.functional as F

EDGE = 28


def entry_features(atom14, mask, aa, k):
    """edge [n, k, 28], own [n, 15], real-neighbour mask [n, k], labels [n] of the entry's residues
    with a backbone and a standard amino acid; same definitions as src/models/diffusion_environment.c."""
    L = atom14.shape[0]
    a = atom14[:, :4].astype(np.float64)
    n, ca, c = a[:, 0], a[:, 1], a[:, 2]
    o = np.where(np.isfinite(a[:, 3]).all(-1, keepdims=True), a[:, 3], ca)
    ok = ((mask & 1) > 0) & np.isfinite(a[:, :3]).all(axis=(1, 2))
    with np.errstate(invalid="ignore"):
        b, cc = ca - n, c - ca
        cb = -0.58273431 * np.cross(b, cc) + 0.56802827 * b - 0.54067466 * cc + ca
        y = cb - ca
        y /= np.linalg.norm(y, axis=-1, keepdims=True)
        cn = c - n
        x = cn - (cn * y).sum(-1, keepdims=True) * y
        x /= np.linalg.norm(x, axis=-1, keepdims=True)
    frame = np.stack([x, y, np.cross(x, y)], axis=1)
    atoms = np.stack([n, ca, c, o, cb], axis=1)
    cbs = np.where(ok[:, None], cb, 1e6)
    d = np.linalg.norm(cbs[:, None] - cbs[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    kk = min(k, L - 1)
    nb = np.argsort(d, axis=1, kind="stable")[:, :kk]
    dn = np.take_along_axis(d, nb, 1)
    real = dn < 1e5
    rel = atoms[nb] - ca[:, None, None, :]
    loc = np.einsum("lkas,lts->lkat", rel, frame).reshape(L, kk, 15) / 10.0
    rot = np.einsum("lts,lkus->lktu", frame, frame[nb]).reshape(L, kk, 9)
    sep = nb - np.arange(L)[:, None]
    chain_same = np.ones_like(sep, bool)  # chain mode: one chain per entry
    sepf = np.stack([np.clip(sep, -32, 32) / 32.0, (np.abs(sep) == 1).astype(float), np.log1p(np.abs(sep)) / 6.0], -1)
    sepf[~chain_same] = (0.0, 0.0, 1.0)
    e = np.concatenate([loc, rot, sepf, (dn / 10.0)[..., None]], -1)
    e[~real] = 0
    if kk < k:
        e = np.concatenate([e, np.zeros((L, k - kk, EDGE))], 1)
        real = np.concatenate([real, np.zeros((L, k - kk), bool)], 1)
    own = np.einsum("las,lts->lat", atoms - ca[:, None], frame).reshape(L, 15) / 10.0
    use = ok & (aa < 20)
    return (e[use].astype(np.float32), np.nan_to_num(own[use]).astype(np.float32), real[use],
            aa[use].astype(np.int64))


def split_features(f, split_id, k):
    off, lens, split = f["entries/residue_offset"][:], f["entries/length"][:], f["entries/split"][:]
    parts = []
    for e in np.where(split == split_id)[0]:
        r = slice(int(off[e]), int(off[e] + lens[e]))
        parts.append(entry_features(f["residues/atom14"][r], f["residues/mask"][r], f["residues/aa"][r], k))
    return tuple(torch.tensor(np.concatenate([p[i] for p in parts])) for i in range(4))


class Probe(torch.nn.Module):
    """The DiT environment's reader (shared neighbour MLP, attention + mean pooling, own atoms)
    followed by a 2-layer classifier instead of the DiT."""

    def __init__(self, width):
        super().__init__()
        self.edge = torch.nn.Sequential(torch.nn.Linear(EDGE, width), torch.nn.SiLU(), torch.nn.Linear(width, width),
                                        torch.nn.SiLU())
        self.att = torch.nn.Linear(width, 1)
        self.head = torch.nn.Sequential(torch.nn.Linear(2 * width + 15, 256), torch.nn.SiLU(), torch.nn.Linear(256, 256),
                                        torch.nn.SiLU(), torch.nn.Linear(256, 20))

    def forward(self, e, own, real):
        h = self.edge(e)
        w = torch.softmax(self.att(h).squeeze(-1).masked_fill(~real, -1e9), -1).unsqueeze(-1)
        mean = (h * real.unsqueeze(-1)).sum(1) / real.sum(1, keepdim=True).clamp(min=1)
        return self.head(torch.cat([(w * h).sum(1), mean, own], -1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dataset")
    ap.add_argument("--k", type=int, default=24)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    t0 = time.time()
    with h5py.File(a.dataset, "r") as f:
        tr, va, te = (split_features(f, s, a.k) for s in (0, 1, 2))
    print(f"features: {len(tr[3])} train / {len(va[3])} valid / {len(te[3])} test residues, k = {a.k} "
          f"({time.time() - t0:.0f} s)", flush=True)
    net = Probe(a.width)
    opt = torch.optim.AdamW(net.parameters(), 2e-3, weight_decay=1e-2)

    def score(d):
        net.eval()
        with torch.no_grad():
            lg = net(d[0], d[1], d[2])
        net.train()
        return (lg.argmax(1) == d[3]).float().mean().item(), F.cross_entropy(lg, d[3]).exp().item()

    t0, epoch, n = time.time(), 0, len(tr[3])
    while time.time() - t0 < a.minutes * 60:
        perm = torch.randperm(n)
        for i in range(0, n, 512):
            idx = perm[i:i + 512]
            loss = F.cross_entropy(net(tr[0][idx], tr[1][idx], tr[2][idx]), tr[3][idx], label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
        epoch += 1
        (vr, vp), (tr_, tp) = score(va), score(te)
        print(f"epoch {epoch} {time.time() - t0:.0f} s: valid recovery {vr:.3f} perplexity {vp:.2f}; "
              f"test recovery {tr_:.3f} perplexity {tp:.2f}", flush=True)


if __name__ == "__main__":
    main()
