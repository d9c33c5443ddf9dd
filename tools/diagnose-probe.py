#!/usr/bin/python3
"""diagnose-probe.py — how much of the amino acid a per-residue latent carries: a linear
(multinomial logistic regression) and a small MLP probe trained on the train split's latents
and scored on the test split (recovery and perplexity), for the diagnosis of the design chain
(docs/models/design-quality.md, issue 17). Reads the dataset and `proteindiff encode`'s
latents files with h5py; torch only for the optimiser.

    python3 tools/diagnose-probe.py RUN_DIR/dataset.h5 RUN_DIR/latents/bb_vae.h5 [RUN_DIR/latents/sc_vae.h5 ...]
"""
import sys


import h5py
import numpy as np
import torch


def load(dataset, latents):
    with h5py.File(dataset, "r") as d:
        aa = d["/residues/aa"][:]
        split_e = d["/entries/split"][:]
        off = d["/entries/residue_offset"][:]
        length = d["/entries/length"][:]
    split = np.full(aa.shape[0], 255, np.uint8)
    for s, o, n in zip(split_e, off, length):
        split[o:o + n] = s
    with h5py.File(latents, "r") as f:
        mu = f["/mu"][:].astype(np.float32)
        valid = f["/valid"][:].astype(bool)
    use = valid & (aa < 20)
    return mu, aa.astype(np.int64), split, use


def fit(model, x, y, steps=2000, lr=3e-3, batch=4096):
    """Adam on minibatches of `batch` rows (a cosine-decayed learning rate)."""
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    g = torch.Generator().manual_seed(0)
    for _ in range(steps):
        idx = torch.randint(0, x.shape[0], (batch,), generator=g)
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        sched.step()
    return model


def score(model, x, y):
    with torch.no_grad():
        logits = model(x)
        rec = (logits.argmax(-1) == y).float().mean().item()
        ppl = torch.exp(torch.nn.functional.cross_entropy(logits, y)).item()
    return rec, ppl


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    dataset = sys.argv[1]
    for path in sys.argv[2:]:
        mu, aa, split, use = load(dataset, path)
        tr, te = use & (split == 0), use & (split == 2)
        m, s = mu[tr].mean(0), mu[tr].std(0) + 1e-6
        xtr, ytr = torch.from_numpy((mu[tr] - m) / s), torch.from_numpy(aa[tr])
        xte, yte = torch.from_numpy((mu[te] - m) / s), torch.from_numpy(aa[te])
        dim = mu.shape[1]
        lin = fit(torch.nn.Linear(dim, 20), xtr, ytr)
        mlp = fit(torch.nn.Sequential(torch.nn.Linear(dim, 128), torch.nn.GELU(), torch.nn.Linear(128, 128),
                                      torch.nn.GELU(), torch.nn.Linear(128, 20)), xtr, ytr)
        for name, model in (("linear", lin), ("mlp", mlp)):
            rtr, _ = score(model, xtr, ytr)
            rec, ppl = score(model, xte, yte)
            print(f"probe {name:6s} {path}: test recovery {rec:.4f}, perplexity {ppl:.2f} "
                  f"(train {rtr:.4f}; {int(tr.sum())} train / {int(te.sum())} test residues, dim {dim})")


if __name__ == "__main__":
    main()
