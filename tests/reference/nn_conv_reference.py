#!/usr/bin/env python3
"""nn_conv_reference.py — PyTorch reference data for the conv/norm/upsample/VQ ops.

Run at test time (tests/nn/test_conv_parity.sh): draws inputs and weights with a fixed seed,
runs torch.nn.functional on them in float32, and writes inputs, outputs and gradients to one
binary file that tests/nn/test_conv_parity.c reads and compares against our ops.

File format (little-endian), "PDREF001":
    8 bytes   magic b"PDREF001"
    uint32    number of arrays
    per array:
        uint32  name length, then the name (ASCII, "<case>.<what>")
        uint32  ndim, then ndim × int64 shape
        float32 × numel values (C order)
Every case writes its inputs, the upstream gradient `dy` (the backward seed), the outputs and
the gradients `d<input>`.
"""
import struct
import sys

import warnings

import torch
import torch.nn.functional as F

warnings.filterwarnings("ignore", message="Using padding=.same. with even kernel")
torch.manual_seed(1234)
torch.set_num_threads(1)
arrays = []


def put(name, t):
    arrays.append((name, t.detach().contiguous().to(torch.float32)))


def leaf(*shape, lo=-1.0, hi=1.0):
    return (torch.rand(*shape) * (hi - lo) + lo).requires_grad_(True)


def case(name, fn, inputs):
    """y = fn(*inputs); backward with a random dy; store inputs, dy, y, d<input>."""
    y = fn(*inputs.values())
    dy = torch.rand_like(y) * 2 - 1
    y.backward(dy)
    for k, v in inputs.items():
        put(f"{name}.{k}", v)
        put(f"{name}.d{k}", v.grad)
    put(f"{name}.dy", dy)
    put(f"{name}.y", y)


# ---- convolutions (k=2: 'same' pads 0 before / 1 after, as padding='same' does) --------------------
case("conv3d_same", lambda x, w, b: F.conv3d(x, w, b, padding="same"),
     dict(x=leaf(2, 3, 5, 4, 6), w=leaf(4, 3, 2, 2, 2), b=leaf(4)))
case("conv3d_s2", lambda x, w, b: F.conv3d(x, w, b, stride=2),
     dict(x=leaf(2, 3, 6, 4, 5), w=leaf(4, 3, 2, 2, 2), b=leaf(4)))
case("conv2d_same", lambda x, w, b: F.conv2d(x, w, b, padding="same"),
     dict(x=leaf(3, 2, 7, 6), w=leaf(5, 2, 2, 2), b=leaf(5)))
case("conv2d_s2", lambda x, w, b: F.conv2d(x, w, b, stride=2),
     dict(x=leaf(2, 3, 8, 7), w=leaf(4, 3, 2, 2), b=leaf(4)))
case("convT3d", lambda x, w, b: F.conv_transpose3d(x, w, b, stride=2),
     dict(x=leaf(2, 4, 3, 2, 3), w=leaf(4, 3, 2, 2, 2), b=leaf(3)))
case("convT2d", lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2),
     dict(x=leaf(2, 3, 4, 5), w=leaf(3, 2, 2, 2), b=leaf(2)))
case("conv2d_1x1", lambda x, w, b: F.conv2d(x, w, b),
     dict(x=leaf(2, 6, 4, 4), w=leaf(5, 6, 1, 1), b=leaf(5)))
case("conv3d_1x1", lambda x, w, b: F.conv3d(x, w, b),
     dict(x=leaf(2, 4, 2, 3, 2), w=leaf(3, 4, 1, 1, 1), b=leaf(3)))

# ---- normalisation -----------------------------------------------------------------------------------
case("groupnorm", lambda x, w, b: F.group_norm(x, 4, w, b, eps=1e-5),
     dict(x=leaf(3, 8, 4, 4, 4, lo=-2, hi=3), w=leaf(8, lo=0.5, hi=1.5), b=leaf(8)))

for mode in ("train", "eval"):
    rm0 = torch.rand(6) - 0.5
    rv0 = torch.rand(6) + 0.5
    rm, rv = rm0.clone(), rv0.clone()
    name = f"batchnorm_{mode}"
    case(name, lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=(mode == "train"), momentum=0.1, eps=1e-5),
         dict(x=leaf(4, 6, 5, 5, lo=-2, hi=3), w=leaf(6, lo=0.5, hi=1.5), b=leaf(6)))
    put(f"{name}.running_mean_in", rm0)
    put(f"{name}.running_var_in", rv0)
    put(f"{name}.running_mean_out", rm)
    put(f"{name}.running_var_out", rv)

# ---- bilinear upsampling (align_corners=False) --------------------------------------------------------
case("upsample_x2", lambda x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False),
     dict(x=leaf(2, 3, 5, 6)))
case("upsample_size", lambda x: F.interpolate(x, size=(7, 9), mode="bilinear", align_corners=False),
     dict(x=leaf(2, 3, 5, 6)))

# ---- vector quantisation (rosinality vq-vae-2 Quantize, channels-first input) -------------------------
K, D, beta, decay, eps = 16, 8, 0.25, 0.99, 1e-5
x = leaf(2, D, 4, 4)
embed = torch.rand(K, D) * 2 - 1
flat = x.permute(0, 2, 3, 1).reshape(-1, D)
dist = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ embed.t() + embed.pow(2).sum(1)[None, :]
idx = dist.argmin(1)
q = embed[idx].reshape(2, 4, 4, D).permute(0, 3, 1, 2)
st = x + (q - x).detach()
commit = beta * F.mse_loss(x, q.detach())
dy = torch.rand_like(st) * 2 - 1
((st * dy).sum() + commit).backward()
put("vq.x", x)
put("vq.embed", embed)
put("vq.dy", dy)
put("vq.q", st)
put("vq.index", idx.to(torch.float32))
put("vq.commitment", commit.reshape(1))
put("vq.dx", x.grad)
# One EMA update from this batch, starting from cluster_size = 1, embed_avg = embed.
onehot = F.one_hot(idx, K).to(torch.float32)
cluster_size = torch.ones(K) * decay + (1 - decay) * onehot.sum(0)
embed_avg = embed.clone() * decay + (1 - decay) * (onehot.t() @ flat.detach())
n = cluster_size.sum()
smoothed = (cluster_size + eps) / (n + K * eps) * n
put("vq.ema_count", cluster_size)
put("vq.ema_sum", embed_avg)
put("vq.embed_new", embed_avg / smoothed[:, None])

# ---- the side-chain VAE residual block: SiLU(x + GN(conv(SiLU(GN(conv(x)))))) -------------------------
def res_block(x, w1, b1, g1, be1, w2, b2, g2, be2):
    h = F.silu(F.group_norm(F.conv3d(x, w1, b1, padding="same"), 4, g1, be1, eps=1e-5))
    h = F.group_norm(F.conv3d(h, w2, b2, padding="same"), 4, g2, be2, eps=1e-5)
    return F.silu(x + h)


C = 8
case("resblock", res_block,
     dict(x=leaf(4, C, 4, 4, 4), w1=leaf(C, C, 2, 2, 2, lo=-0.2, hi=0.2), b1=leaf(C), g1=leaf(C, lo=0.5, hi=1.5),
          be1=leaf(C), w2=leaf(C, C, 2, 2, 2, lo=-0.2, hi=0.2), b2=leaf(C), g2=leaf(C, lo=0.5, hi=1.5),
          be2=leaf(C)))

with open(sys.argv[1], "wb") as f:
    f.write(b"PDREF001")
    f.write(struct.pack("<I", len(arrays)))
    for name, t in arrays:
        nb = name.encode("ascii")
        f.write(struct.pack("<I", len(nb)))
        f.write(nb)
        f.write(struct.pack("<I", t.dim()))
        f.write(struct.pack(f"<{t.dim()}q", *t.shape))
        f.write(t.numpy().astype("<f4").tobytes())
print(f"wrote {len(arrays)} arrays to {sys.argv[1]}")
