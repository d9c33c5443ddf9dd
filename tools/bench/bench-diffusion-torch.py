"""bench-diffusion-torch.py — the PyTorch side of tools/bench/bench-diffusion: one training step
(forward + backward, float32) of the reference DiT (tests/reference/diffusion_ref.py) at the
CPU-default sizes on the same entry lengths as the C bench (130, 140, ..., 170 up to RESIDUES),
batched with padding and a key mask as a PyTorch trainer would run it, and 50 DDIM network calls
on one chain of SAMPLE_LEN residues under no_grad.
Usage: bench-diffusion-torch.py [RESIDUES [STEPS [THREADS [SAMPLE_LEN]]]] (SAMPLE_LEN 0: no sampling)"""
import math
import os
import sys
import time

import torch

# BENCH_CLOCK=cpu: process CPU time (all threads), as the C drivers (tools/bench/bench_clock.h)
clock = time.process_time if os.environ.get("BENCH_CLOCK") == "cpu" else time.perf_counter
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "reference"))
import diffusion_ref as ref  # noqa: E402


def entry_lengths(residues):
    lens, total = [], 0
    while total < residues:
        n = 130 + 10 * (len(lens) % 5)
        n = min(n, residues - total)
        lens.append(n)
        total += n
    return lens


def batched_forward(model, x_t, bb, t, tokens, key_valid):
    """The reference DiT on a padded batch: x_t [B, L, sc], bb [B, L, bb], t [B], tokens [B, L]
    (padding: any token), key_valid [B, L] bool."""
    B, L, _ = x_t.shape
    x = model.x_embed(torch.cat([x_t, bb], dim=-1))
    temb = ref.timestep_features(t, x.dtype).reshape(B, 1, ref.FREQ_DIM).expand(B, L, ref.FREQ_DIM)
    c = model.c_embed(torch.cat([temb, model.aa_embed(tokens)], dim=-1))
    sc = F.silu(c)
    mask = torch.zeros(B, 1, 1, L, dtype=x.dtype).masked_fill(~key_valid.reshape(B, 1, 1, L), float("-inf"))
    for blk in model.blocks:
        W = x.shape[-1]
        s1, g1, a1, s2, g2, a2 = blk.adaLN(sc).split(W, dim=-1)
        h = ref.modulate(F.layer_norm(x, (W,), eps=ref.LN_EPS), s1, g1)
        H = blk.attn.heads
        q, k, v = blk.attn.qkv(h).reshape(B, L, 3, H, W // H).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(W // H) + mask, dim=-1) @ v
        x = x + a1 * blk.attn.proj(att.permute(0, 2, 1, 3).reshape(B, L, W))
        x = x + a2 * blk.mlp(ref.modulate(F.layer_norm(x, (W,), eps=ref.LN_EPS), s2, g2))
    W = x.shape[-1]
    shift, scale = model.final.adaLN(sc).split(W, dim=-1)
    return model.final.linear(ref.modulate(F.layer_norm(x, (W,), eps=ref.LN_EPS), shift, scale))


def main(argv):
    residues = int(argv[1]) if len(argv) > 1 else 2048
    steps = int(argv[2]) if len(argv) > 2 else 5
    threads = int(argv[3]) if len(argv) > 3 else 1
    sample_len = int(argv[4]) if len(argv) > 4 else 300
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    depth, width, heads, sc_dim, bb_dim = 4, 128, 4, 16, 32
    model = ref.DiT(depth, width, heads, sc_dim, bb_dim)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.02)
    lens = entry_lengths(residues)
    B, L = len(lens), max(lens)
    key_valid = torch.zeros(B, L, dtype=torch.bool)
    for b, n in enumerate(lens):
        key_valid[b, :n] = True
    alpha_bar = torch.tensor(ref.cosine_alpha_bar(1000), dtype=torch.float32)
    x0 = torch.randn(B, L, sc_dim)
    bb = torch.randn(B, L, bb_dim)
    tokens = torch.randint(0, ref.TOKENS, (B, L))
    best, total = 1e30, 0.0
    for s in range(-1, steps):
        t0 = clock()
        model.zero_grad()
        t = torch.randint(0, 1000, (B,))
        noise = torch.randn(B, L, sc_dim)
        ab = alpha_bar[t].reshape(B, 1, 1)
        x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * noise
        pred = batched_forward(model, x_t, bb, t.to(torch.float64), tokens, key_valid)
        loss = (((pred - noise) ** 2).sum(-1) * key_valid).sum() / (key_valid.sum() * sc_dim)
        loss.backward()
        dt = clock() - t0
        if s >= 0:
            total += dt
            best = min(best, dt)
    n_params = sum(p.numel() for p in model.parameters())
    print("torch: depth %d width %d heads %d, %d parameters, %d residues in %d entries: step %.1f ms best, "
          "%.1f ms mean of %d" % (depth, width, heads, n_params, sum(lens), B, best * 1e3, total / steps * 1e3, steps))
    if sample_len <= 0:  # SAMPLE_LEN 0: the training step only
        return 0
    with torch.no_grad():
        x = torch.randn(1, sample_len, sc_dim)
        bbs = torch.randn(1, sample_len, bb_dim)
        toks = torch.full((1, sample_len), ref.MASK)
        valid = torch.ones(1, sample_len, dtype=torch.bool)
        t0 = clock()
        for t in range(999, 0, -20):
            batched_forward(model, x, bbs, torch.tensor([float(t)], dtype=torch.float64), toks, valid)
        dt = clock() - t0
    print("torch: 50 DDIM network calls, one chain of %d residues: %.3f s (%.3f s per 100 residues)"
          % (sample_len, dt, dt * 100.0 / sample_len))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
