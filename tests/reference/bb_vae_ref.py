#!/usr/bin/env python3
# bb_vae_ref.py — independent references for the backbone VAE tests (tests/models):
#   graph IN -   numpy (float64) recomputation of SPEC.md section 5 (kNN, RBFs, F_i F_j^T, relative
#                position, decoder labels) from the raw backbone the C test wrote; exit 0 if equal.
#   model IN OUT the SPEC.md section 7 backbone VAE as a torch nn.Module (float64) fed the C graph,
#                weights and noise; writes the loss terms and every parameter gradient to OUT.
#                Decoder positions (rotary, index + 1000 * chain) and the pair head's relative-
#                position classes are derived here from the node offsets and chain indices.
#   oracle H5 -  (a measurement, not a test) on a dataset file's valid split: the distance-bin
#                accuracy of the marginal baseline and of the best predictor that sees only the
#                pair's relative-position class (its most frequent distance class), which bounds
#                what the decoder's relative-position table alone can add; the same with each
#                residue's local geometry added; and the accuracy of the true distances blurred
#                by Gaussian noise, what a model that places pairs to within sigma would score
#                (docs/models/bb_vae.md).
# Bundles use the format of nn_bundle.py. Exit 0 pass, 1 fail, 77 skip (no torch).
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

_NP = {0: np.float32, 1: np.int32, 2: np.uint8}


def read_bundle(path):
    out = {}
    with open(path, "rb") as f:
        assert f.read(6) == b"PDTB1\n", "not a tensor bundle"
        while True:
            head = f.read(4)
            if not head:
                break
            (n,) = struct.unpack("<I", head)
            name = f.read(n).decode()
            dtype, ndim = struct.unpack("<II", f.read(8))
            shape = struct.unpack("<%dq" % ndim, f.read(8 * ndim))
            dt = np.dtype(_NP[dtype]).newbyteorder("<")
            count = int(np.prod(shape)) if ndim else 1
            out[name] = np.frombuffer(f.read(dt.itemsize * count), dtype=dt).reshape(shape)
    return out


# ---------------------------------------------------------------- section 2 / 5 in numpy
def virtual_cb(n, ca, c):
    b, cc = ca - n, c - ca
    a = np.cross(b, cc)
    return -0.58273431 * a + 0.56802827 * b - 0.54067466 * cc + ca


def unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def frame(n, ca, c, cb):
    y = unit(cb - ca)
    u = c - n
    x = unit(u - np.sum(u * y, -1, keepdims=True) * y)
    z = np.cross(x, y)
    return np.stack([x, y, z], -2)  # rows x, y, z


def check_graph(path):
    b = read_bundle(path)
    k = int(b["k"][0])
    offs = b["node_offset"].astype(np.int64)
    xyz = b["backbone"].astype(np.float64)  # [N, 3 atoms, 3]
    valid = (b["mask"] & 1).astype(bool) & np.all(np.isfinite(xyz.reshape(-1, 9)), 1)
    chain = b["chain"]
    if "node_chain" in b and not np.array_equal(b["node_chain"], chain):
        fails.append("node_chain differs from the input chain indices at %d nodes" %
                     int(np.sum(b["node_chain"] != chain)))
    nbr, ev = b["neighbor"], b["edge_valid"]
    rbf, rot, relpos = b["edge_rbf"].astype(np.float64), b["edge_rot"].astype(np.float64), b["edge_relpos"]
    dist_l, orient_l = b["dist_label"].view(np.int8), b["orient_label"].view(np.int8)
    N = xyz.shape[0]
    atoms = np.zeros((N, 4, 3))
    frames = np.zeros((N, 3, 3))
    v = np.where(valid)[0]
    atoms[v, :3] = xyz[v]
    atoms[v, 3] = virtual_cb(xyz[v, 0], xyz[v, 1], xyz[v, 2])
    frames[v] = frame(xyz[v, 0], xyz[v, 1], xyz[v, 2], atoms[v, 3])
    mu = np.linspace(2, 22, 16)
    dcent, ocent = np.linspace(2, 22, 64), np.linspace(-1, 1, 16)
    fails, ties, flips = [], 0, 0
    rbf_err = rot_err = 0.0
    pair_base = 0
    for e in range(len(offs) - 1):
        lo, hi = offs[e], offs[e + 1]
        L = hi - lo
        vn = [i for i in range(lo, hi) if valid[i]]
        for i in range(lo, hi):
            if not valid[i]:
                if ev[i].any() or (nbr[i] != i).any():
                    fails.append("invalid node %d has edges" % i)
                continue
            d = np.linalg.norm(atoms[vn, 1] - atoms[i, 1], axis=1)
            d[vn.index(i)] = -1.0  # self first
            order = [vn[j] for j in np.argsort(d, kind="stable")]
            real = min(k, len(vn))
            if int(ev[i].sum()) != real or ev[i, :real].min() != 1:
                fails.append("node %d: %d real slots, want %d" % (i, ev[i].sum(), real))
            for s in range(real):
                j = int(nbr[i, s])
                if j != order[s]:
                    dj = np.linalg.norm(atoms[j, 1] - atoms[i, 1])
                    do = np.linalg.norm(atoms[order[s], 1] - atoms[i, 1])
                    if s > 0 and abs(dj - do) < 1e-4:
                        ties += 1
                    else:
                        fails.append("node %d slot %d: neighbour %d, numpy %d" % (i, s, j, order[s]))
                        continue
                dd = np.linalg.norm(atoms[i][:, None, :] - atoms[j][None, :, :], axis=-1)  # [4, 4]
                want = np.exp(-(((dd[:, :, None] - mu) / 1.25) ** 2)).reshape(256)
                rbf_err = max(rbf_err, float(np.abs(want - rbf[i, s]).max()))
                want_rot = (frames[i] @ frames[j].T).reshape(9)
                rot_err = max(rot_err, float(np.abs(want_rot - rot[i, s]).max()))
                want_rel = 65 if chain[i] != chain[j] else int(np.clip(j - i, -32, 32)) + 32
                if relpos[i, s] != want_rel:
                    fails.append("node %d slot %d: relpos %d, numpy %d" % (i, s, relpos[i, s], want_rel))
            for s in range(real, k):
                if nbr[i, s] != i or np.any(rbf[i, s] != 0) or np.any(rot[i, s] != 0):
                    fails.append("node %d padding slot %d is not empty" % (i, s))
        for a in range(L):
            for c in range(L):
                got_d, got_o = dist_l[pair_base + a * L + c], orient_l[pair_base + a * L + c]
                ia, ic = lo + a, lo + c
                if not (valid[ia] and valid[ic]) or a == c:
                    if got_d != -1 or got_o != -1:
                        fails.append("pair %d,%d of entry %d should be ignored" % (a, c, e))
                    continue
                dist = np.linalg.norm(atoms[ic, 3] - atoms[ia, 3])
                cosv = float(np.dot(unit(atoms[ia, 3] - atoms[ia, 1]), unit(atoms[ic, 3] - atoms[ic, 1])))
                want_d, want_o = int(np.argmin(np.abs(dcent - dist))), int(np.argmin(np.abs(ocent - cosv)))
                if got_d != want_d or got_o != want_o:
                    fd, fo = (dist - 2) * 63 / 20, (cosv + 1) * 15 / 2
                    if abs(fd - np.floor(fd) - 0.5) < 1e-3 or abs(fo - np.floor(fo) - 0.5) < 1e-3:
                        flips += 1
                    else:
                        fails.append("pair %d,%d of entry %d: labels %d/%d, numpy %d/%d" %
                                     (a, c, e, got_d, got_o, want_d, want_o))
        pair_base += L * L
    print("graph vs numpy: max |rbf err| %.3g, max |rot err| %.3g, %d ties, %d boundary flips" %
          (rbf_err, rot_err, ties, flips))
    if rbf_err > 5e-5:
        fails.append("rbf error %g > 5e-5" % rbf_err)
    if rot_err > 5e-5:
        fails.append("rotation error %g > 5e-5" % rot_err)
    if ties > 3 or flips > 3:
        fails.append("too many ties (%d) or boundary flips (%d)" % (ties, flips))
    for f in fails[:20]:
        print("FAIL:", f)
    return 1 if fails else 0


# ---------------------------------------------------------------- section 7 in torch
def make_model(b):
    """The section 7 model as an nn.Module, sized by the bundle's config; parameter names match
    the C parameter store (enc.embed.*, enc.layers.<l>.*, enc.head, dec.*)."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    W, layers, k, latent, dec_layers, heads = [int(x) for x in b["config"]]
    beta = float(b["beta_kl"][0])
    rope_base = 10000.0

    def lin(i, o):
        return nn.Linear(i, o)

    class EdgeEmbed(nn.Module):
        def __init__(self):
            super().__init__()
            self.rbf_norm, self.rbf_proj, self.rot_proj = nn.LayerNorm(256), lin(256, W), lin(9, W)
            self.relpos = nn.Embedding(66, W)
            self.edge_norm, self.edge_mlp1, self.edge_mlp2 = nn.LayerNorm(3 * W), lin(3 * W, W), lin(W, W)
            self.node_start = nn.Parameter(torch.zeros(1, W))

        def forward(self, rbf, rot, relpos):
            e = torch.cat([self.rbf_proj(self.rbf_norm(rbf)), self.rot_proj(rot), self.relpos(relpos)], -1)
            return self.edge_mlp2(F.gelu(self.edge_mlp1(self.edge_norm(e))))

    class EncLayer(nn.Module):
        def __init__(self, edge_update):
            super().__init__()
            self.msg1, self.msg2, self.msg3 = lin(3 * W, W), lin(W, W), lin(W, W)
            self.norm1, self.norm2 = nn.LayerNorm(W), nn.LayerNorm(W)
            self.ffn1, self.ffn2 = lin(W, 4 * W), lin(4 * W, W)
            self.edge_update = edge_update
            if edge_update:
                self.edge1, self.edge2, self.edge3 = lin(3 * W, W), lin(W, W), lin(W, W)
                self.norm3 = nn.LayerNorm(W)

        def forward(self, h, e, src, nbr, evalid):
            x = torch.cat([h[src], h[nbr], e], -1)
            m = self.msg3(F.gelu(self.msg2(F.gelu(self.msg1(x))))) * evalid[:, None]
            agg = m.view(h.shape[0], k, W).sum(1) / k
            h = self.norm1(h + agg)
            h = self.norm2(h + self.ffn2(F.gelu(self.ffn1(h))))
            if self.edge_update:
                x = torch.cat([h[src], h[nbr], e], -1)
                e = self.norm3(e + self.edge3(F.gelu(self.edge2(F.gelu(self.edge1(x))))))
            return h, e

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = EdgeEmbed()
            self.layers = nn.ModuleList([EncLayer(l + 1 < layers) for l in range(layers)])
            self.head = lin(W, 2 * latent)

    class DecLayer(nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.k, self.v, self.o = lin(W, W), lin(W, W), lin(W, W), lin(W, W)
            self.norm1, self.norm2 = nn.LayerNorm(W), nn.LayerNorm(W)
            self.ffn1, self.ffn2 = lin(W, 4 * W), lin(4 * W, W)

        def forward(self, x, key_valid, pos):  # post-LN, x [B, L, W], pos [B, L] rotary positions
            B, L, _ = x.shape
            dh = W // heads
            half = dh // 2

            def split(t):
                return t.view(B, L, heads, dh).transpose(1, 2)

            # rotary embedding over the whole head dim, "rotate_half" pairing (j, j + dh/2)
            theta = pos.to(x.dtype)[:, None, :, None] * rope_base ** (-2.0 * torch.arange(half, dtype=x.dtype) / dh)
            cos, sin = torch.cos(theta), torch.sin(theta)

            def rope(t):
                t1, t2 = t[..., :half], t[..., half:]
                return torch.cat([t1 * cos - t2 * sin, t2 * cos + t1 * sin], -1)

            s = rope(split(self.q(x))) @ rope(split(self.k(x))).transpose(-1, -2) / dh ** 0.5
            s = s.masked_fill(~key_valid[:, None, None, :], float("-inf"))
            p = torch.softmax(s, -1).nan_to_num(0.0)
            a = (p @ split(self.v(x))).transpose(1, 2).reshape(B, L, W)
            x = self.norm1(x + self.o(a))
            return self.norm2(x + self.ffn2(F.gelu(self.ffn1(x))))

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.in_proj = lin(latent, W)
            self.layers = nn.ModuleList([DecLayer() for _ in range(dec_layers)])
            self.pair_q, self.pair_k = lin(W, W), lin(W, W)
            self.pair1, self.pair2 = lin(2 * W, W), lin(W, 80)
            self.pair_relpos = nn.Parameter(torch.zeros(66, W))  # per relative-position class, added to pair1
            self.seq = lin(W, 20)

    class BBVAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc, self.dec = Encoder(), Decoder()

        def forward(self, g):
            N = g["N"]
            src = torch.arange(N * k) // k
            e = self.enc.embed(g["rbf"], g["rot"], g["relpos"])
            h = self.enc.embed.node_start.expand(N, W)
            for layer in self.enc.layers:
                h, e = layer(h, e, src, g["nbr"], g["evalid"])
            mu, logvar = self.enc.head(h).split(latent, -1)
            z = mu + torch.exp(0.5 * logvar) * g["eps"]
            x = self.dec.in_proj(z)
            offs = g["offs"]
            B, Lmax = len(offs) - 1, g["Lmax"]
            slot = torch.cat([b_ * Lmax + torch.arange(offs[b_ + 1] - offs[b_]) for b_ in range(B)])
            xp = torch.zeros(B * Lmax, W).index_copy(0, slot, x).view(B, Lmax, W)
            kv = torch.zeros(B * Lmax, dtype=torch.bool).index_copy(0, slot, g["valid"]).view(B, Lmax)
            chain = g["chain"]
            local = torch.cat([torch.arange(offs[b_ + 1] - offs[b_]) for b_ in range(B)])
            pos = torch.zeros(B * Lmax, dtype=torch.int64).index_copy(0, slot, local + 1000 * chain).view(B, Lmax)
            for layer in self.dec.layers:
                xp = layer(xp, kv, pos)
            x = xp.reshape(B * Lmax, W)[slot]
            q, kk = self.dec.pair_q(x), self.dec.pair_k(x)
            ce_sum, pairs = 0.0, 0
            for b_ in range(B):
                lo, hi = offs[b_], offs[b_ + 1]
                qe, ke = q[lo:hi], kk[lo:hi]
                f = torch.cat([qe[None, :, :] * ke[:, None, :], ke[:, None, :] - qe[None, :, :]], -1)  # [a, b]
                idx = torch.arange(hi - lo)
                ce_ = chain[lo:hi]
                rel = torch.where(ce_[:, None] == ce_[None, :],
                                  torch.clamp(idx[None, :] - idx[:, None], -32, 32) + 32,
                                  torch.full((hi - lo, hi - lo), 65, dtype=torch.int64))  # [a, b]
                pre = self.dec.pair1(f) + self.dec.pair_relpos[rel]
                logits = self.dec.pair2(F.gelu(pre)).reshape(-1, 80)
                dl, ol = g["dist"][b_], g["orient"][b_]
                sel = dl >= 0
                ce_sum = ce_sum + F.cross_entropy(logits[sel, :64], dl[sel], reduction="sum") \
                    + F.cross_entropy(logits[sel, 64:], ol[sel], reduction="sum")
                pairs += int(sel.sum())
            pair_loss = ce_sum / max(pairs, 1)
            t = g["target"]
            sel = t >= 0
            seq_loss = F.cross_entropy(self.dec.seq(x)[sel], t[sel], reduction="sum") / max(int(sel.sum()), 1)
            v = g["valid"]
            kl = (-0.5 * (1 + logvar - mu ** 2 - logvar.exp())).sum(-1)[v].sum() / max(int(v.sum()), 1)
            return pair_loss + seq_loss + beta * kl, pair_loss, seq_loss, kl, mu

    return BBVAE()


def load_weights(model, b):
    """Copy param.<name> of the bundle into the model; returns an error text or None."""
    import torch
    names = dict(model.named_parameters())
    given = {n[len("param."):] for n in b if n.startswith("param.")}
    if given != set(names):
        return "parameter names differ; only in C: %s, only in torch: %s" % (
            sorted(given - set(names))[:10], sorted(set(names) - given)[:10])
    with torch.no_grad():
        for n, p in names.items():
            src = b["param." + n]
            if tuple(src.shape) != tuple(p.shape):
                return "%s shape %s in C, %s in torch" % (n, src.shape, tuple(p.shape))
            p.copy_(torch.from_numpy(src.astype(np.float64)))
    return None


def graph_from_bundle(b, dtype):
    """The C graph (and noise, targets) as torch tensors of the given float dtype."""
    import torch
    k = int(b["config"][2])
    offs = [int(x) for x in b["node_offset"]]
    dist = b["dist_label"].view(np.int8).astype(np.int64)
    orient = b["orient_label"].view(np.int8).astype(np.int64)
    pair_off = np.cumsum([0] + [(offs[i + 1] - offs[i]) ** 2 for i in range(len(offs) - 1)])
    N = offs[-1]

    def fl(a, *shape):
        return torch.from_numpy(a.astype(np.float64)).to(dtype).reshape(*shape)

    return {
        "N": N, "offs": offs, "Lmax": max(offs[i + 1] - offs[i] for i in range(len(offs) - 1)),
        "rbf": fl(b["edge_rbf"], N * k, 256), "rot": fl(b["edge_rot"], N * k, 9),
        "relpos": torch.from_numpy(b["edge_relpos"].astype(np.int64)).reshape(-1),
        "nbr": torch.from_numpy(b["neighbor"].astype(np.int64)).reshape(-1),
        "evalid": fl(b["edge_valid"], -1),
        "valid": torch.from_numpy(b["node_valid"].astype(bool)),
        "chain": torch.from_numpy(b["node_chain"].astype(np.int64)),
        "eps": fl(b["eps"], N, -1),
        "target": torch.from_numpy(b["target"].astype(np.int64)),
        "dist": [torch.from_numpy(dist[pair_off[i]:pair_off[i + 1]]) for i in range(len(offs) - 1)],
        "orient": [torch.from_numpy(orient[pair_off[i]:pair_off[i + 1]]) for i in range(len(offs) - 1)],
    }


def model_reference(inp, outp):
    try:
        import torch
    except ImportError:
        print("SKIP: no torch")
        return 77
    from nn_bundle import Bundle

    torch.set_default_dtype(torch.float64)
    b = read_bundle(inp)
    model = make_model(b)
    err = load_weights(model, b)
    if err:
        print("FAIL:", err)
        return 1
    loss, pair_loss, seq_loss, kl, mu = model(graph_from_bundle(b, torch.float64))
    loss.backward()
    out = Bundle()
    out.add("loss", loss)
    out.add("pair_loss", pair_loss)
    out.add("seq_loss", seq_loss)
    out.add("kl_loss", kl)
    out.add("mu", mu)
    for n, p in model.named_parameters():
        out.add("grad." + n, p.grad if p.grad is not None else torch.zeros_like(p))
    out.write(outp)
    return 0


def relpos_oracle(path):
    import h5py
    f = h5py.File(path, "r")
    split, length = f["entries/split"][:], f["entries/length"][:]
    offset = f["entries/residue_offset"][:]
    hist = np.zeros((66, 64), np.int64)  # [relative-position class, distance class]
    labels, keys, dists = [], [], []     # per labelled pair, for the oracles below
    for e in np.where(split == 1)[0]:
        lo, L = int(offset[e]), int(length[e])
        xyz = f["residues/atom14"][lo:lo + L, :3].astype(np.float64)
        valid = (f["residues/mask"][lo:lo + L] & 1).astype(bool) & np.all(np.isfinite(xyz.reshape(L, 9)), 1)
        cb = np.where(valid[:, None], virtual_cb(xyz[:, 0], xyz[:, 1], xyz[:, 2]), 0.0)
        chain = f["residues/chain"][lo:lo + L]
        d = np.linalg.norm(cb[:, None] - cb[None], axis=-1)
        dist_class = np.clip(np.floor((d - 2) * 63 / 20 + 0.5), 0, 63).astype(np.int64)
        i = np.arange(L)
        rel = np.where(chain[:, None] == chain[None], np.clip(i[None] - i[:, None], -32, 32) + 32, 65)
        sel = valid[:, None] & valid[None] & ~np.eye(L, dtype=bool)
        np.add.at(hist, (rel[sel], dist_class[sel]), 1)
        # A residue's local state: its Cb-Cb distance to residue i + 3 of its chain in whole
        # angstroms (helix ~5, strand ~10; 16 = none), what an encoder of local geometry knows.
        state = np.full(L, 16)
        j = i[:-3]
        ok = valid[j] & valid[j + 3] & (chain[j] == chain[j + 3])
        state[j[ok]] = np.minimum(d[j[ok], j[ok] + 3].astype(np.int64), 15)
        labels.append(dist_class[sel])
        keys.append((rel * 17 + state[:, None]) * 17 + state[None, :])
        keys[-1] = keys[-1][sel]
        dists.append(d[sel])
    pairs = hist.sum()
    best = hist.argmax(1)
    near_hits = sum(hist[r, best[r]] for r in range(66) if best[r] < 63)
    print("valid split: %d labelled pairs; marginal baseline accuracy %.4f; relative-position oracle "
          "accuracy %.4f (near pairs %.4f)" % (pairs, hist.sum(0).max() / pairs, hist.max(1).sum() / pairs,
                                               near_hits / hist[:, :63].sum()))
    for r in (33, 34, 35, 36, 40, 48, 64, 65):
        n = hist[r].sum()
        if n:
            print("  class %d (%s): %d pairs, most frequent distance class %d (%.3f of them)" %
                  (r, "other chain" if r == 65 else "b - a = %d" % (r - 32), n, best[r], hist[r].max() / n))
    labels, keys, dists = np.concatenate(labels), np.concatenate(keys), np.concatenate(dists)
    _, inverse = np.unique(keys, return_inverse=True)
    counts = np.zeros((inverse.max() + 1, 64), np.int64)
    np.add.at(counts, (inverse, labels), 1)
    print("local-structure oracle (relative position + both residues' Cb(i)-Cb(i+3) distance, 1 A bins): "
          "accuracy %.4f" % (counts.max(1).sum() / pairs))
    rng = np.random.default_rng(0)
    for sigma in (0.5, 1.0, 2.0, 3.0):
        noisy = dists + rng.normal(0.0, sigma, dists.shape)
        pred = np.clip(np.floor((noisy - 2) * 63 / 20 + 0.5), 0, 63)
        print("the true distance + N(0, %.1f A) noise, binned: accuracy %.4f" % (sigma, np.mean(pred == labels)))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("graph", "model", "oracle"):
        print("usage: bb_vae_ref.py graph IN - | model IN OUT | oracle DATASET.h5 -")
        sys.exit(2)
    if sys.argv[1] == "oracle":
        sys.exit(relpos_oracle(sys.argv[2]))
    sys.exit(check_graph(sys.argv[2]) if sys.argv[1] == "graph" else model_reference(sys.argv[2], sys.argv[3]))
