"""tokenizer_ref.py — PyTorch reference of the structure tokenizer (SPEC §7, readings in
docs/models/tokenizer.md), written from the spec as a plain nn.Module. As a script it reads the
tensor bundle written by tests/models/test_tokenizer_parity (configuration, parameters, codebooks,
images, lengths), computes in float64 the loss, the reconstruction, every parameter gradient
(codebooks frozen), the BatchNorm running statistics after the step and one EMA codebook update,
and writes them to a second bundle:   tokenizer_ref.py IN.bin OUT.bin
The module is also imported by tools/bench/bench-tokenizer-torch.py."""
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nn_bundle import Bundle  # noqa: E402

MEAN = (0.4081, 0.5336, 0.4414)
STD = (0.2538, 0.2752, 0.2157)


class WeightOnlyLayerNorm(nn.Module):
    """LayerNorm without bias (the spec's bias-free LayerNorm)."""

    def __init__(self, c, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.eps = eps

    def forward(self, x):
        return F.layer_norm(x, (x.shape[-1],), self.weight, None, self.eps)


def rope(x, heads, rope_dim, base=10000.0):
    """rotate_half on the first rope_dim dims of each head; positions 0..T-1 (the flattened grid)."""
    if rope_dim == 0:
        return x
    B, T, HD = x.shape
    dh = HD // heads
    half = rope_dim // 2
    inv = base ** (-torch.arange(0, half, dtype=torch.float64) * 2.0 / rope_dim)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]          # [T, half]
    cos, sin = torch.cos(ang).to(x.dtype)[None, :, None, :], torch.sin(ang).to(x.dtype)[None, :, None, :]
    xh = x.view(B, T, heads, dh)
    x1, x2, rest = xh[..., :half], xh[..., half:rope_dim], xh[..., rope_dim:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin, rest], dim=-1).view(B, T, HD)


class Block(nn.Module):
    """Pre-LN: x + Wo attn(rope(Wq h), rope(Wk h), Wv h), h = LN1 x; then x + MLP(LN2 x)."""

    def __init__(self, c, d, mlp, heads, rope_dim):
        super().__init__()
        self.heads, self.rope_dim = heads, rope_dim
        self.ln1 = WeightOnlyLayerNorm(c)
        self.attn = nn.ModuleDict({"q": nn.Linear(c, d, bias=False), "k": nn.Linear(c, d, bias=False),
                                   "v": nn.Linear(c, d, bias=False), "o": nn.Linear(d, c, bias=False)})
        self.ln2 = WeightOnlyLayerNorm(c)
        self.mlp = nn.ModuleDict({"fc1": nn.Linear(c, mlp), "fc2": nn.Linear(mlp, c)})

    def forward(self, x, key_valid):
        B, T, _ = x.shape
        h = self.ln1(x)
        q = rope(self.attn["q"](h), self.heads, self.rope_dim)
        k = rope(self.attn["k"](h), self.heads, self.rope_dim)
        v = self.attn["v"](h)
        dh = q.shape[-1] // self.heads
        q, k, v = (t.view(B, T, self.heads, dh).transpose(1, 2) for t in (q, k, v))
        s = q @ k.transpose(-1, -2) / math.sqrt(dh)
        s = s.masked_fill(~key_valid[:, None, None, :], float("-inf"))
        a = torch.nan_to_num(torch.softmax(s, dim=-1)) @ v
        x = x + self.attn["o"](a.transpose(1, 2).reshape(B, T, -1))
        return x + self.mlp["fc2"](F.gelu(self.mlp["fc1"](self.ln2(x))))


class EncStage(nn.Module):
    def __init__(self, cin, c, d, mlp, heads, rope_dim, blocks):
        super().__init__()
        self.conv = nn.Conv2d(cin, c, 2, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)
        self.blocks = nn.ModuleList([Block(c, d, mlp, heads, rope_dim) for _ in range(blocks)])


class DecStage(nn.Module):
    def __init__(self, ccond, nq, c, d, mlp, heads, rope_dim, blocks):
        super().__init__()
        self.quant = nn.Linear(ccond, d)          # the 1x1 conv to the codebook dim (token layout)
        self.proj = nn.Linear(nq * d, c)          # 1x1 conv of [q_l, upsampled coarser q]
        self.blocks = nn.ModuleList([Block(c, d, mlp, heads, rope_dim) for _ in range(blocks)])
        self.up = nn.ConvTranspose2d(c, c, 2, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)


class Refine(nn.Module):
    def __init__(self, c, d, mlp, heads, rope_dim, blocks):
        super().__init__()
        self.proj = nn.Linear(c, c)
        self.blocks = nn.ModuleList([Block(c, d, mlp, heads, rope_dim) for _ in range(blocks)])
        self.out = nn.Linear(c, 3)


def tokens(x):        # [B, C, h, w] -> [B, h*w, C]
    return x.flatten(2).transpose(1, 2)


def grid(t, h):       # [B, h*h, C] -> [B, C, h, h]
    return t.transpose(1, 2).reshape(t.shape[0], t.shape[2], h, h)


class Tokenizer(nn.Module):
    def __init__(self, levels=3, width=128, mlp=256, heads=4, latent_dim=64, rope_dim=8, codebook=512, blocks=1,
                 beta=0.25):
        super().__init__()
        self.n, self.C, self.D, self.K, self.beta = levels, width, latent_dim, codebook, beta
        a = (latent_dim, mlp, heads, rope_dim, blocks)
        self.enc = nn.ModuleList([EncStage(3 if l == 0 else width, width, *a) for l in range(levels)])
        self.dec = nn.ModuleList([DecStage(width if l == levels - 1 else 2 * width, levels - l, width, *a)
                                  for l in range(levels)])
        self.refine = Refine(width, *a)
        self.register_buffer("codebooks", torch.randn(levels, codebook, latent_dim))

    @staticmethod
    def masks(lengths, S, r):
        """[B, (S>>r)^2] bool: cell (i, j) valid iff i, j < ceil(L / 2^r)."""
        h = S >> r
        ext = (lengths + (1 << r) - 1) >> r
        i = torch.arange(h)
        v = (i[None, :, None] < ext[:, None, None]) & (i[None, None, :] < ext[:, None, None])
        return v.reshape(len(lengths), h * h)

    def forward(self, images, lengths):
        B, _, S, _ = images.shape
        n, D = self.n, self.D
        m = [self.masks(lengths, S, r) for r in range(n + 1)]
        mf = [v.to(images.dtype)[..., None] for v in m]
        x = images * mf[0].view(B, 1, S, S)
        enc = []
        for l, st in enumerate(self.enc):
            h = tokens(F.gelu(st.bn(st.conv(x))))
            for blk in st.blocks:
                h = blk(h, m[l + 1])
            h = h * mf[l + 1]
            enc.append(h)
            x = grid(h, S >> (l + 1))
        q, pre, index, commit = [None] * n, [None] * n, [None] * n, [None] * n
        prev = None
        for l in range(n - 1, -1, -1):
            st, hl = self.dec[l], S >> (l + 1)
            cond = enc[l] if l == n - 1 else torch.cat([enc[l], prev], dim=-1)
            z = st.quant(cond)                                           # [B, T, D]
            book = self.codebooks[l]
            dist = (z * z).sum(-1, keepdim=True) - 2 * z @ book.t() + (book * book).sum(-1)[None, None, :]
            idx = dist.argmin(-1)
            e = book[idx]
            pre[l], index[l] = z, idx
            w = mf[l + 1]
            commit[l] = ((z - e.detach()) ** 2 * w).sum() / (w.sum() * D)
            q[l] = (z + (e - z).detach()) * w
            parts = [q[l]] + [tokens(F.interpolate(grid(q[k], S >> (k + 1)), size=(hl, hl), mode="bilinear",
                                                   align_corners=False)) for k in range(l + 1, n)]
            h = st.proj(torch.cat(parts, dim=-1))
            for blk in st.blocks:
                h = blk(h, m[l + 1])
            h = tokens(F.gelu(st.bn(st.up(grid(h, hl)))))
            prev = h * mf[l]
        r = self.refine
        h = r.proj(prev)
        for blk in r.blocks:
            h = blk(h, m[0])
        recon = r.out(h)                                                 # [B, S*S, 3]
        target = tokens(images)
        mse = ((recon - target) ** 2 * mf[0]).sum() / (mf[0].sum() * 3)
        loss = mse + self.beta * sum(commit)
        return loss, mse, commit, recon, pre, index, m


def ema_update(book, z, idx, valid, decay, eps):
    """One EMA step from the initial state c = 1, s = e (Laplace-smoothed counts)."""
    K, D = book.shape
    zv, iv = z.reshape(-1, D)[valid.reshape(-1)], idx.reshape(-1)[valid.reshape(-1)]
    counts = torch.zeros(K, dtype=book.dtype).index_add_(0, iv, torch.ones(len(iv), dtype=book.dtype))
    sums = torch.zeros(K, D, dtype=book.dtype).index_add_(0, iv, zv)
    c = decay * torch.ones(K, dtype=book.dtype) + (1 - decay) * counts
    s = decay * book + (1 - decay) * sums
    total = c.sum()
    smoothed = (c + eps) / (total + K * eps) * total
    return s / smoothed[:, None], c, s


def read_bundle(path):
    out = {}
    with open(path, "rb") as f:
        assert f.read(6) == b"PDTB1\n", "not a tensor bundle"
        while True:
            head = f.read(4)
            if not head:
                break
            name = f.read(struct.unpack("<I", head)[0]).decode()
            dtype, ndim = struct.unpack("<II", f.read(8))
            shape = struct.unpack("<%dq" % ndim, f.read(8 * ndim))
            np_dtype = {0: np.float32, 1: np.int32, 2: np.uint8}[dtype]
            count = int(np.prod(shape)) if ndim else 1
            out[name] = np.frombuffer(f.read(count * np.dtype(np_dtype).itemsize), dtype=np_dtype).reshape(shape)
    return out


def main(argv):
    torch.set_default_dtype(torch.float64)
    b = read_bundle(argv[1])
    cfg = {k[4:]: int(v[0]) for k, v in b.items() if k.startswith("cfg.") and v.dtype == np.int32}
    beta, decay, eps = (float(b["cfg.beta"][0]), float(b["cfg.ema_decay"][0]), float(b["cfg.vq_eps"][0]))
    model = Tokenizer(cfg["levels"], cfg["width"], cfg["mlp"], cfg["heads"], cfg["latent_dim"], cfg["rope_dim"],
                      cfg["codebook"], cfg["blocks"], beta)
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(torch.from_numpy(b["param." + name].astype(np.float64)).view_as(p))
        for l in range(cfg["levels"]):
            model.codebooks[l].copy_(torch.from_numpy(b["codebook.%d" % l].astype(np.float64)))
    model.train()
    images = torch.from_numpy(b["images"].astype(np.float64))
    lengths = torch.from_numpy(b["lengths"].astype(np.int64))
    loss, mse, commit, recon, pre, index, masks = model(images, lengths)
    loss.backward()
    out = Bundle()
    out.add("loss", loss.reshape(1))
    out.add("mse", mse.reshape(1))
    out.add("recon", recon)
    for l in range(cfg["levels"]):
        out.add("commit.%d" % l, commit[l].reshape(1))
        out.add("index.%d" % l, index[l].reshape(-1).to(torch.int32))
        e, c, s = ema_update(model.codebooks[l], pre[l].detach(), index[l], masks[l + 1], decay, eps)
        out.add("ema.%d.embed" % l, e)
        out.add("ema.%d.count" % l, c)
        out.add("ema.%d.sum" % l, s)
    for name, p in params.items():
        out.add("grad." + name, p.grad if p.grad is not None else torch.zeros_like(p))
    for name, mod in model.named_modules():
        if isinstance(mod, nn.BatchNorm2d):
            out.add(name + ".running_mean", mod.running_mean)
            out.add(name + ".running_var", mod.running_var)
    out.write(argv[2])
    print("tokenizer_ref: loss %.9g (mse %.9g), %d parameter tensors" % (loss.item(), mse.item(), len(params)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
