#!/usr/bin/env python3
"""diagnose-environment-probe.py — how much of the amino acid a small network reads from each
residue's local backbone environment (the features of model.diffusion.environment,
docs/models/diffusion.md "Environment"): trained on the train split of a proteindiff dataset,
scored on its valid and test splits after every epoch. It is the probe that showed (session 6,
docs/models/design-quality.md) that the backbone carries far more sequence signal than the
chain read; a diagnosis tool, not part of the product (PyTorch is not a runtime dependency).

usage: tools/diagnose-environment-probe.py DATASET.h5 [--k 24] [--width 128] [--minutes 10]
                                           [--threads 1] [--seed 0] [--layers 0] [--hidden 128]
                                           [--epochs 0] [--sequence] [--rounds 8]
Prints one line per epoch: elapsed seconds, valid and test (recovery, perplexity).

--sequence: each neighbour's amino acid (20 + masked) is a feature of its slot; training shows a
random fraction (uniform per entry) of the native sequence and scores the rest (order-agnostic
autoregression); scoring decodes with nothing shown in --rounds rounds, the most confident
residues of each entry first (docs/models/design-quality.md, "Session 9"), and prints the
one-pass figure too."""
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
    if kk < k:
        nb = np.concatenate([nb, np.repeat(np.arange(L)[:, None], k - kk, 1)], 1)
    nb = np.where(real, nb, np.arange(L)[:, None])  # empty slots point at the residue itself
    label = np.where(ok & (aa < 20), aa, -100)
    return (np.nan_to_num(e).astype(np.float32), np.nan_to_num(own).astype(np.float32), real,
            nb.astype(np.int64), label.astype(np.int64))


def split_features(f, split_id, k):
    """(edge, own, real, neighbour index into the split's residues, label, entry starts, entry lengths)"""
    off, lens, split = f["entries/residue_offset"][:], f["entries/length"][:], f["entries/split"][:]
    parts, starts, n = [], [], 0
    for e in np.where(split == split_id)[0]:
        r = slice(int(off[e]), int(off[e] + lens[e]))
        p = entry_features(f["residues/atom14"][r], f["residues/mask"][r], f["residues/aa"][r], k)
        parts.append(p[:3] + (p[3] + n,) + p[4:])
        starts.append(n)
        n += len(p[4])
    cat = [torch.tensor(np.concatenate([p[i] for p in parts])) for i in range(5)]
    return tuple(cat) + (torch.tensor(starts), torch.tensor([len(p[4]) for p in parts]))


def batch_of(d, entries):
    """the residues of these entries, neighbour indices renumbered into the batch"""
    idx = torch.cat([torch.arange(int(d[5][e]), int(d[5][e] + d[6][e])) for e in entries])
    pos = torch.full((len(d[4]),), -1, dtype=torch.int64)
    pos[idx] = torch.arange(len(idx))
    return d[0][idx], d[1][idx], d[2][idx], pos[d[3][idx]], d[4][idx]


def mlp(i, w, o):
    return torch.nn.Sequential(torch.nn.Linear(i, w), torch.nn.SiLU(), torch.nn.Linear(w, o))


class Probe(torch.nn.Module):
    """The DiT environment's reader (shared neighbour MLP, attention + mean pooling, own atoms),
    then `layers` message-passing layers over the same k-nearest graph (each residue reads its
    neighbours' hidden states: message MLP of [h_i, h_j, edge_ij], mean over real neighbours,
    residual + LayerNorm, ProteinMPNN's encoder layer without its edge update), then a 2-layer
    classifier instead of the DiT. layers = 0 is the session-6 probe."""

    def __init__(self, width, layers, hidden=128, sequence=False):
        super().__init__()
        self.sequence = sequence
        edge_in = EDGE + (21 if sequence else 0)
        self.edge = torch.nn.Sequential(torch.nn.Linear(edge_in, width), torch.nn.SiLU(), torch.nn.Linear(width, width),
                                        torch.nn.SiLU())
        self.att = torch.nn.Linear(width, 1)
        self.node = mlp(2 * width + 15, 256, hidden) if layers else None
        self.msg = torch.nn.ModuleList(mlp(2 * hidden + width, hidden, hidden) for _ in range(layers))
        self.upd = torch.nn.ModuleList(mlp(hidden, 2 * hidden, hidden) for _ in range(layers))
        self.norm = torch.nn.ModuleList(torch.nn.LayerNorm(hidden) for _ in range(2 * layers))
        head_in = hidden if layers else 2 * width + 15
        self.head = torch.nn.Sequential(torch.nn.Linear(head_in, 256), torch.nn.SiLU(), torch.nn.Linear(256, 256),
                                        torch.nn.SiLU(), torch.nn.Linear(256, 20))

    def forward(self, e, own, real, nb, shown=None):
        if self.sequence:  # shown [n]: 0..19 the amino acid shown, 20 masked
            e = torch.cat([e, F.one_hot(shown[nb], 21).float()], -1)
        h = self.edge(e)
        w = torch.softmax(self.att(h).squeeze(-1).masked_fill(~real, -1e9), -1).unsqueeze(-1)
        cnt = real.sum(1, keepdim=True).clamp(min=1)
        mean = (h * real.unsqueeze(-1)).sum(1) / cnt
        x = torch.cat([(w * h).sum(1), mean, own], -1)
        if self.node is None:
            return self.head(x)
        x = self.node(x)
        for i in range(len(self.msg)):
            hj = x[nb]
            m = self.msg[i](torch.cat([x.unsqueeze(1).expand_as(hj), hj, h], -1))
            x = self.norm[2 * i](x + (m * real.unsqueeze(-1)).sum(1) / cnt)
            x = self.norm[2 * i + 1](x + self.upd[i](x))
        return self.head(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dataset")
    ap.add_argument("--k", type=int, default=24)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--layers", type=int, default=0, help="message-passing layers after the reader")
    ap.add_argument("--hidden", type=int, default=128, help="the message-passing layers' width")
    ap.add_argument("--epochs", type=int, default=0, help="stop after this many epochs (0: --minutes only)")
    ap.add_argument("--sequence", action="store_true", help="neighbours' amino acids as features (see above)")
    ap.add_argument("--rounds", type=int, default=8, help="decoding rounds with --sequence")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    t0 = time.time()
    with h5py.File(a.dataset, "r") as f:
        tr, va, te = (split_features(f, s, a.k) for s in (0, 1, 2))
    scored = [int((d[4] >= 0).sum()) for d in (tr, va, te)]
    print(f"features: {scored[0]} train / {scored[1]} valid / {scored[2]} test residues, k = {a.k}, "
          f"{a.layers} message-passing layers ({time.time() - t0:.0f} s)", flush=True)
    net = Probe(a.width, a.layers, a.hidden, a.sequence)
    opt = torch.optim.AdamW(net.parameters(), 2e-3, weight_decay=1e-2)

    def score(d, rounds=1):
        net.eval()
        y = d[4]
        shown = torch.full_like(y, 20)
        with torch.no_grad():
            lg = net(d[0], d[1], d[2], d[3], shown)
            if rounds > 1:
                final = lg.clone()
                open_ = torch.ones_like(y, dtype=torch.bool)
                for r in range(rounds):
                    conf = torch.softmax(lg, -1).max(-1).values
                    for en in range(len(d[6])):
                        idx = torch.arange(int(d[5][en]), int(d[5][en] + d[6][en]))
                        idx = idx[open_[idx]]
                        take = len(idx) if r == rounds - 1 else -(-len(idx) // (rounds - r))
                        pick = idx[torch.argsort(conf[idx], descending=True)[:take]]
                        final[pick] = lg[pick]
                        shown[pick] = lg[pick].argmax(-1)
                        open_[pick] = False
                    lg = net(d[0], d[1], d[2], d[3], shown)
                lg = final
        net.train()
        use = y >= 0
        return (lg[use].argmax(1) == y[use]).float().mean().item(), F.cross_entropy(lg[use], y[use]).exp().item()

    # batches of whole entries of about 512 scored residues (message passing needs the neighbours)
    t0, epoch, n_entries = time.time(), 0, len(tr[5])
    while time.time() - t0 < a.minutes * 60 and (a.epochs == 0 or epoch < a.epochs):
        perm, batches, cur, size = torch.randperm(n_entries).tolist(), [], [], 0
        for en in perm:
            cur.append(en)
            size += int(tr[6][en])
            if size >= 512:
                batches.append(cur)
                cur, size = [], 0
        if cur:
            batches.append(cur)
        for b in batches:
            e, own, real, nb, y = batch_of(tr, b)
            shown = None
            if a.sequence:  # a uniform fraction of each entry shown; the loss on the rest
                lens = torch.tensor([int(tr[6][en]) for en in b])
                frac = torch.repeat_interleave(torch.rand(len(b)), lens)
                vis = (torch.rand(len(y)) < frac) & (y >= 0)
                shown = torch.where(vis, y, torch.full_like(y, 20))
                y = torch.where(vis, torch.full_like(y, -100), y)
            loss = F.cross_entropy(net(e, own, real, nb, shown), y, ignore_index=-100, label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
        epoch += 1
        (vr, vp), (tr_, tp) = score(va), score(te)
        print(f"epoch {epoch} {time.time() - t0:.0f} s: valid recovery {vr:.3f} perplexity {vp:.2f}; "
              f"test recovery {tr_:.3f} perplexity {tp:.2f}", flush=True)
        if a.sequence:
            (vr, vp), (tr_, tp) = score(va, a.rounds), score(te, a.rounds)
            print(f"  decoded in {a.rounds} rounds: valid recovery {vr:.3f} perplexity {vp:.2f}; "
                  f"test recovery {tr_:.3f} perplexity {tp:.2f}", flush=True)


if __name__ == "__main__":
    main()
