#!/usr/bin/env python3
"""nn_reference.py — PyTorch reference data for the C op set (tests/nn/test_parity.c).

For every op case, and for two full blocks (pre-LN transformer block with RoPE attention and a
GELU MLP; an MPNN layer), it draws random inputs and weights with a fixed seed, runs PyTorch in
float32, and writes inputs, outputs and the gradients of L = sum(out * gout) (gout random) to a
tensor bundle. Usage: nn_reference.py OUT.bin. Needs torch (Debian python3-torch)."""
import math
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, __import__("os").path.dirname(__file__))
from nn_bundle import Bundle  # noqa: E402

torch.set_default_dtype(torch.float32)
B = Bundle()


def leaf(*shape, lo=-1.0, hi=1.0):
    return (torch.rand(*shape) * (hi - lo) + lo).requires_grad_(True)


def case(name, fn, inputs, extra=None):
    """inputs: list of tensors (those with requires_grad get a reference gradient)."""
    for i, t in enumerate(inputs):
        B.add(f"{name}.in{i}", t)
    for k, v in (extra or {}).items():
        B.add(f"{name}.{k}", v)
    out = fn(*inputs)
    gout = torch.rand(out.shape) * 2 - 1
    B.add(f"{name}.out", out)
    B.add(f"{name}.gout", gout)
    grads = torch.autograd.grad(out, [t for t in inputs if t.requires_grad], gout, allow_unused=True)
    gi = iter(grads)
    for i, t in enumerate(inputs):
        if t.requires_grad:
            g = next(gi)
            B.add(f"{name}.grad{i}", g if g is not None else torch.zeros_like(t))


def rope_ref(x, pos, n_heads, rope_dim, base=10000.0):
    """rotate_half convention on the first rope_dim dims of each head; angles in float64."""
    b, l, hd = x.shape
    dh = hd // n_heads
    half = rope_dim // 2
    inv = base ** (-torch.arange(0, half, dtype=torch.float64) * 2.0 / rope_dim)
    ang = pos.to(torch.float64).reshape(b, l, 1) * inv      # [B, L, half]
    cos = torch.cos(ang).to(torch.float32).unsqueeze(2)      # [B, L, 1, half]
    sin = torch.sin(ang).to(torch.float32).unsqueeze(2)
    xh = x.reshape(b, l, n_heads, dh)
    x1, x2, rest = xh[..., :half], xh[..., half:rope_dim], xh[..., rope_dim:]
    y = torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin, rest], dim=-1)
    return y.reshape(b, l, hd)


def attention_ref(q, k, v, n_heads, key_valid, scale=None, bias=None):
    """bias [B, Lq, Lk, H] (heads last, as pd_attention_biased) is added to the scaled scores."""
    b, lq, hd = q.shape
    lk = k.shape[1]
    dh = hd // n_heads
    qh = q.reshape(b, lq, n_heads, dh).transpose(1, 2)
    kh = k.reshape(b, lk, n_heads, dh).transpose(1, 2)
    vh = v.reshape(b, lk, n_heads, dh).transpose(1, 2)
    s = (qh @ kh.transpose(-1, -2)) * (scale if scale else 1.0 / math.sqrt(dh))
    if bias is not None:
        s = s + bias.permute(0, 3, 1, 2)
    if key_valid is not None:
        s = s.masked_fill(~key_valid.bool().reshape(b, 1, 1, lk), float("-inf"))
    p = torch.softmax(s, dim=-1)
    p = torch.nan_to_num(p, nan=0.0)   # fully padded rows attend to nothing
    return (p @ vh).transpose(1, 2).reshape(b, lq, hd)


class PreLNBlock(torch.nn.Module):
    """x + Attn(LN1 x) with RoPE on the first rope_dim dims of each head; then x + MLP(LN2 x)."""

    def __init__(self, d, heads, mlp, rope_dim):
        super().__init__()
        self.heads, self.rope_dim = heads, rope_dim
        self.ln1 = torch.nn.LayerNorm(d)
        self.wq = torch.nn.Linear(d, d)
        self.wk = torch.nn.Linear(d, d)
        self.wv = torch.nn.Linear(d, d)
        self.wo = torch.nn.Linear(d, d)
        self.ln2 = torch.nn.LayerNorm(d)
        self.fc1 = torch.nn.Linear(d, mlp)
        self.fc2 = torch.nn.Linear(mlp, d)

    def forward(self, x, pos, key_valid):
        h = self.ln1(x)
        q = rope_ref(self.wq(h), pos, self.heads, self.rope_dim)
        k = rope_ref(self.wk(h), pos, self.heads, self.rope_dim)
        a = attention_ref(q, k, self.wv(h), self.heads, key_valid)
        x = x + self.wo(a)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class MPNNLayer(torch.nn.Module):
    """h_i <- LN1(h_i + sum_j MLP([h_i, h_j, e_ij]) / k); h <- LN2(h + FFN(h))."""

    def __init__(self, d, de, k):
        super().__init__()
        self.k = k
        self.m1 = torch.nn.Linear(2 * d + de, d)
        self.m2 = torch.nn.Linear(d, d)
        self.ln1 = torch.nn.LayerNorm(d)
        self.f1 = torch.nn.Linear(d, 2 * d)
        self.f2 = torch.nn.Linear(2 * d, d)
        self.ln2 = torch.nn.LayerNorm(d)

    def forward(self, h, e, src, dst):
        m = torch.cat([h[dst.long()], h[src.long()], e], dim=-1)
        m = self.m2(F.gelu(self.m1(m)))
        agg = torch.zeros_like(h).index_add(0, dst.long(), m) / self.k
        h = self.ln1(h + agg)
        return self.ln2(h + self.f2(F.gelu(self.f1(h))))



def block_case(name, module, inputs, extra_args, extra):
    for pname, p in module.named_parameters():
        B.add(f"{name}.param.{pname}", p)
    for i, t in enumerate(inputs):
        B.add(f"{name}.in{i}", t)
    for k, v in extra.items():
        B.add(f"{name}.{k}", v)
    out = module(*inputs, *extra_args)
    gout = torch.rand(out.shape) * 2 - 1
    B.add(f"{name}.out", out)
    B.add(f"{name}.gout", gout)
    params = list(module.named_parameters())
    grads = torch.autograd.grad(out, list(inputs) + [p for _, p in params], gout)
    for i in range(len(inputs)):
        B.add(f"{name}.grad{i}", grads[i])
    for (pname, _), g in zip(params, grads[len(inputs):]):
        B.add(f"{name}.pgrad.{pname}", g)


def main(out_path):
    torch.manual_seed(1234)
    # single ops
    case("linear", lambda x, w, b: F.linear(x, w, b), [leaf(2, 5, 16), leaf(24, 16), leaf(24)])
    case("linear_nobias", lambda x, w: F.linear(x, w), [leaf(7, 33), leaf(9, 33)])
    case("matmul_tt", lambda a, b: a.transpose(-1, -2) @ b.transpose(-1, -2), [leaf(3, 6, 4), leaf(3, 5, 6)])
    case("matmul_shared", lambda a, b: a @ b, [leaf(2, 3, 4, 6), leaf(6, 5)])
    case("add_bcast", lambda a, b: a + b, [leaf(2, 3, 4), leaf(4)])
    case("mul_gate", lambda a, b: a * b, [leaf(2, 1, 8), leaf(2, 5, 8)])
    case("sub_outer", lambda a, b: a - b, [leaf(2, 4, 1, 3), leaf(2, 1, 4, 3)])
    case("modulate", lambda x, sh, sc: x * (1 + sc.unsqueeze(1)) + sh.unsqueeze(1), [leaf(2, 5, 8), leaf(2, 8), leaf(2, 8)])
    case("gelu", lambda x: F.gelu(x), [leaf(4, 9, lo=-4, hi=4)])
    case("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), [leaf(4, 9, lo=-4, hi=4)])
    case("silu", lambda x: F.silu(x), [leaf(4, 9, lo=-4, hi=4)])
    case("softmax", lambda x: torch.softmax(x, -1), [leaf(3, 4, 7, lo=-3, hi=3)])
    case("log_softmax", lambda x: torch.log_softmax(x, -1), [leaf(3, 4, 7, lo=-3, hi=3)])
    case("sum", lambda x: x.sum().reshape(1), [leaf(3, 5)])
    case("mean_axis", lambda x: x.mean(dim=1), [leaf(2, 6, 3)])
    case("layernorm", lambda x, w, b: F.layer_norm(x, (16,), w, b, 1e-5), [leaf(2, 3, 16, lo=-2, hi=3), leaf(16), leaf(16)])
    case("layernorm_nobias", lambda x, w: F.layer_norm(x, (16,), w, None, 1e-5), [leaf(5, 16), leaf(16)])
    case("layernorm_plain", lambda x: F.layer_norm(x, (16,), None, None, 1e-5), [leaf(5, 16)])
    case("concat", lambda a, b: torch.cat([a, b], dim=1), [leaf(2, 3, 4), leaf(2, 2, 4)])
    case("slice", lambda x: x[:, 2:5, :].contiguous(), [leaf(2, 6, 3)])
    case("permute", lambda x: x.permute(2, 0, 1).contiguous(), [leaf(2, 3, 4)])
    gidx = torch.tensor([3, 0, 0, 2, 5, 1], dtype=torch.int32)
    case("gather_rows", lambda x: x[gidx.long()], [leaf(6, 5)], {"idx": gidx})
    sidx = torch.tensor([1, 0, 3, 1, 1, 2, 0], dtype=torch.int32)
    case("scatter_add_rows", lambda x: torch.zeros(4, 5).index_add(0, sidx.long(), x), [leaf(7, 5)], {"idx": sidx})
    eidx = torch.tensor([2, 9, 0, 2], dtype=torch.int32)
    case("embedding", lambda t: F.embedding(eidx.long(), t), [leaf(10, 6)], {"idx": eidx})
    rpos = torch.tensor([[0, 1, 2, 3, 4], [7, 3, 250, 1000, 2]], dtype=torch.int32)
    case("rope", lambda x: rope_ref(x, rpos, 2, 6), [leaf(2, 5, 16)], {"pos": rpos})
    kv = torch.tensor([[1, 1, 1, 0, 0, 1], [1, 0, 1, 1, 1, 1]], dtype=torch.uint8)
    case("attention", lambda q, k, v: attention_ref(q, k, v, 2, kv), [leaf(2, 4, 8), leaf(2, 6, 8), leaf(2, 6, 8)],
         {"key_valid": kv})
    case("attention_biased", lambda q, k, v, bias: attention_ref(q, k, v, 2, kv, bias=bias),
         [leaf(2, 4, 8), leaf(2, 6, 8), leaf(2, 6, 8), leaf(2, 4, 6, 2)], {"key_valid": kv})
    case("reparameterize", lambda mu, lv, eps: mu + torch.exp(0.5 * lv) * eps, [leaf(3, 4), leaf(3, 4), leaf(3, 4)])
    rv = torch.tensor([1, 0, 1, 1], dtype=torch.uint8)
    case("kl_normal", lambda mu, lv: (-0.5 * (1 + lv - mu ** 2 - lv.exp())).sum(-1)[rv.bool()].sum().reshape(1) / 3.0,
         [leaf(4, 5), leaf(4, 5)], {"row_valid": rv})
    case("mse", lambda p, t: ((p - t) ** 2).sum(-1)[rv.bool()].sum().reshape(1) / 30.0, [leaf(4, 2, 5).reshape(4, 10).detach().requires_grad_(True), leaf(4, 10)],
         {"row_valid": rv})
    tgt = torch.tensor([3, -100, 0, 5, 1], dtype=torch.int32)
    case("cross_entropy", lambda x: F.cross_entropy(x, tgt.long(), ignore_index=-100).reshape(1), [leaf(5, 6, lo=-2, hi=2)],
         {"target": tgt})


    blk = PreLNBlock(32, 4, 64, 4)
    bpos = torch.tensor([[0, 1, 2, 3, 4, 5, 6], [0, 1, 2, 3, 4, 5, 6]], dtype=torch.int32)
    bvalid = torch.tensor([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0]], dtype=torch.uint8)
    block_case("transformer", blk, [leaf(2, 7, 32)], [bpos, bvalid], {"pos": bpos, "key_valid": bvalid})

    n_nodes, k_nb, d, de = 6, 3, 16, 8
    src = torch.stack([torch.randperm(n_nodes)[:k_nb] for _ in range(n_nodes)]).reshape(-1).to(torch.int32)
    dst = torch.arange(n_nodes).repeat_interleave(k_nb).to(torch.int32)
    mp = MPNNLayer(d, de, k_nb)
    block_case("mpnn", mp, [leaf(n_nodes, d), leaf(n_nodes * k_nb, de)], [src, dst], {"src": src, "dst": dst})

    # ops the cases above do not reach on their own (tests/nn/test_op_coverage asks every op for one)
    case("add_scalar", lambda x: x + 0.3, [leaf(3, 4)])
    case("relu", lambda x: F.relu(x), [leaf(4, 9, lo=-4, hi=4)])
    case("sigmoid", lambda x: torch.sigmoid(x), [leaf(4, 9, lo=-4, hi=4)])
    case("mean", lambda x: x.mean().reshape(1), [leaf(3, 5)])
    case("sum_axis", lambda x: x.sum(dim=0), [leaf(4, 3, 2)])
    case("reshape", lambda x: (x.reshape(6, 4) * 1.5), [leaf(2, 3, 4)])
    B.write(out_path)


if __name__ == "__main__":
    main(sys.argv[1])
