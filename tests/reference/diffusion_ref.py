"""diffusion_ref.py — PyTorch/NumPy reference of the latent diffusion DiT (SPEC §7,
docs/models/diffusion.md), written from the spec and DiT (Peebles & Xie 2023), independently of
the C code. Modes (tensor bundles as in tests/reference/nn_bundle.py):

  diffusion_ref.py schedule OUT.bin T S [T S ...]
                                          per (T, S): the cosine schedule (alpha_bar.T, beta.T,
                                          posterior_variance.T) and the DDIM trailing timesteps
                                          (ddim_timesteps.T.S), computed in NumPy float64
  diffusion_ref.py loss IN.bin OUT.bin    the DiT loss and every parameter gradient in float64
                                          for the configuration, weights and draws in IN.bin

Entries are run one at a time WITHOUT padding (the C code pads a batch to [B, L]), so the
reference also checks the padding and masking. The module is imported by
tools/bench/bench-diffusion-torch.py for the step-time comparison."""
import math
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

TOKENS = 22
MASK = 21
FREQ_DIM = 256
MAX_PERIOD = 10000.0
MLP_RATIO = 4
LN_EPS = 1e-6
COSINE_S = 0.008
ALPHA_BAR_MIN = 1e-5


# ---- tensor bundles ----------------------------------------------------------------------------

def read_bundle(path):
    items = {}
    with open(path, "rb") as f:
        if f.read(6) != b"PDTB1\n":
            raise SystemExit("%s is not a tensor bundle" % path)
        while True:
            head = f.read(4)
            if not head:
                break
            (length,) = struct.unpack("<I", head)
            name = f.read(length).decode()
            dtype, ndim = struct.unpack("<II", f.read(8))
            shape = struct.unpack("<%dq" % ndim, f.read(8 * ndim))
            npdt = {0: np.float32, 1: np.int32, 2: np.uint8}[dtype]
            count = int(np.prod(shape)) if ndim else 1
            items[name] = np.frombuffer(f.read(count * np.dtype(npdt).itemsize), dtype=npdt).reshape(shape)
    return items


def write_bundle(path, items):
    """items: list of (name, array); floats stored as f32, ints as i32."""
    with open(path, "wb") as f:
        f.write(b"PDTB1\n")
        for name, a in items:
            a = np.asarray(a)
            a = a.astype(np.float32) if a.dtype.kind == "f" else a.astype(np.int32)
            if a.ndim == 0:
                a = a.reshape(1)
            nb = name.encode()
            f.write(struct.pack("<I", len(nb)) + nb)
            f.write(struct.pack("<II", 0 if a.dtype == np.float32 else 1, a.ndim))
            f.write(struct.pack("<%dq" % a.ndim, *a.shape))
            f.write(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes())


# ---- schedule ------------------------------------------------------------------------------------

def cosine_alpha_bar(T):
    """alpha_bar[t] = clip(f((t+1)/T) / f(0), 1e-5, 1), f(u) = cos((u+s)/(1+s) pi/2)^2."""
    u = np.arange(T + 1, dtype=np.float64) / T
    f = np.cos((u + COSINE_S) / (1 + COSINE_S) * np.pi / 2) ** 2
    return np.clip(f[1:] / f[0], ALPHA_BAR_MIN, 1.0)


def schedule_tables(T):
    ab = cosine_alpha_bar(T)
    ab_prev = np.concatenate([[1.0], ab[:-1]])
    beta = 1 - ab / ab_prev
    post_var = beta * (1 - ab_prev) / (1 - ab)
    return ab, beta, post_var


def ddim_trailing(T, S):
    """S timesteps ending at T-1, spaced by T/S (diffusers' "trailing" spacing), ascending."""
    return (np.round(np.arange(T, 0, -T / S)).astype(np.int64) - 1)[::-1]


# ---- the model -----------------------------------------------------------------------------------

def timestep_features(t, dtype=torch.float64):
    """DiT TimestepEmbedder.timestep_embedding with dim 256: [cos(t f), sin(t f)], f_j = 1e4^(-j/128)."""
    half = FREQ_DIM // 2
    freqs = torch.exp(-math.log(MAX_PERIOD) * torch.arange(half, dtype=torch.float64) / half)
    args = torch.as_tensor(t, dtype=torch.float64).reshape(-1, 1) * freqs.reshape(1, -1)
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1).to(dtype)


def modulate(x, shift, scale):
    return x * (1 + scale) + shift


class Mlp2(nn.Module):
    """Linear -> SiLU -> Linear."""

    def __init__(self, cin, width):
        super().__init__()
        self.fc1 = nn.Linear(cin, width)
        self.fc2 = nn.Linear(width, width)

    def forward(self, x):
        return self.fc2(F.silu(self.fc1(x)))


class Attention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x, key_valid):
        L, W = x.shape
        dh = W // self.heads
        q, k, v = self.qkv(x).reshape(L, 3, self.heads, dh).permute(1, 2, 0, 3)   # [H, L, dh] each
        scores = q @ k.transpose(-1, -2) / math.sqrt(dh)
        scores = scores.masked_fill(~key_valid.reshape(1, 1, L), float("-inf"))
        out = torch.softmax(scores, dim=-1) @ v                                    # [H, L, dh]
        return self.proj(out.permute(1, 0, 2).reshape(L, W))


class MlpBlock(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc1 = nn.Linear(width, MLP_RATIO * width)
        self.fc2 = nn.Linear(MLP_RATIO * width, width)

    def forward(self, x):
        return self.fc2(F.silu(self.fc1(x)))


class DiTBlock(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.adaLN = nn.Linear(width, 6 * width)
        self.attn = Attention(width, heads)
        self.mlp = MlpBlock(width)

    def forward(self, x, c, key_valid):
        W = x.shape[-1]
        shift1, scale1, gate1, shift2, scale2, gate2 = self.adaLN(F.silu(c)).split(W, dim=-1)
        x = x + gate1 * self.attn(modulate(F.layer_norm(x, (W,), eps=LN_EPS), shift1, scale1), key_valid)
        x = x + gate2 * self.mlp(modulate(F.layer_norm(x, (W,), eps=LN_EPS), shift2, scale2))
        return x


class FinalLayer(nn.Module):
    def __init__(self, width, out):
        super().__init__()
        self.adaLN = nn.Linear(width, 2 * width)
        self.linear = nn.Linear(width, out)

    def forward(self, x, c):
        W = x.shape[-1]
        shift, scale = self.adaLN(F.silu(c)).split(W, dim=-1)
        return self.linear(modulate(F.layer_norm(x, (W,), eps=LN_EPS), shift, scale))


class DiT(nn.Module):
    def __init__(self, depth, width, heads, sc_latent, bb_latent):
        super().__init__()
        self.x_embed = Mlp2(sc_latent + bb_latent, width)
        self.aa_embed = nn.Embedding(TOKENS, width)
        self.c_embed = Mlp2(FREQ_DIM + width, width)
        self.blocks = nn.ModuleList([DiTBlock(width, heads) for _ in range(depth)])
        self.final = FinalLayer(width, sc_latent)

    def forward(self, x_t, bb, t, tokens, key_valid):
        """One entry: x_t [L, sc], bb [L, bb], scalar t, tokens [L], key_valid [L] bool -> [L, sc]."""
        L = x_t.shape[0]
        x = self.x_embed(torch.cat([x_t, bb], dim=-1))
        temb = timestep_features(t, x.dtype).expand(L, FREQ_DIM)
        c = self.c_embed(torch.cat([temb, self.aa_embed(tokens)], dim=-1))
        for block in self.blocks:
            x = block(x, c, key_valid)
        return self.final(x, c)


def diffusion_loss(model, items, alpha_bar, target, normaliser, dtype=torch.float64):
    """Sum over valid residues of |pred - target|^2 / (normaliser * sc_latent); predictions [N, sc]."""
    offset = items["offset"].astype(np.int64)
    sc_mu = torch.tensor(items["sc_mu"], dtype=dtype)
    noise = torch.tensor(items["noise"], dtype=dtype)
    bb = torch.tensor(items["bb_mu"], dtype=dtype)
    tokens = torch.tensor(items["tokens"].astype(np.int64))
    valid = torch.tensor(items["valid"].astype(bool))
    t = items["t"].astype(np.int64)
    D = sc_mu.shape[1]
    total = torch.zeros((), dtype=dtype)
    preds = []
    for e in range(len(offset) - 1):
        rows = slice(int(offset[e]), int(offset[e + 1]))
        ab = float(alpha_bar[t[e]])
        x_t = math.sqrt(ab) * sc_mu[rows] + math.sqrt(1 - ab) * noise[rows]
        pred = model(x_t, bb[rows], float(t[e]), tokens[rows], valid[rows])
        goal = noise[rows] if target == 0 else sc_mu[rows]
        total = total + (((pred - goal) ** 2).sum(dim=-1) * valid[rows].to(dtype)).sum()
        preds.append(pred)
    return total / (normaliser * D), torch.cat(preds, dim=0)


def load_model(items, dtype=torch.float64):
    depth, width, heads, T, sc, bb, target = [int(v) for v in items["config"]]
    model = DiT(depth, width, heads, sc, bb).to(dtype)
    params = dict(model.named_parameters())
    for name, p in params.items():
        key = "param." + name
        if key not in items:
            raise SystemExit("diffusion_ref: the bundle has no %s" % key)
        if tuple(items[key].shape) != tuple(p.shape):
            raise SystemExit("diffusion_ref: %s has shape %s, the reference expects %s"
                             % (key, items[key].shape, tuple(p.shape)))
        with torch.no_grad():
            p.copy_(torch.tensor(items[key], dtype=dtype))
    extra = [k for k in items if k.startswith("param.") and k[6:] not in params]
    if extra:
        raise SystemExit("diffusion_ref: parameters the reference does not know: %s" % ", ".join(extra))
    return model, T, target


def main(argv):
    if len(argv) >= 5 and len(argv) % 2 == 1 and argv[1] == "schedule":
        out = []
        for T, S in zip(argv[3::2], argv[4::2]):
            T, S = int(T), int(S)
            ab, beta, post_var = schedule_tables(T)
            out += [("alpha_bar.%d" % T, ab), ("beta.%d" % T, beta), ("posterior_variance.%d" % T, post_var),
                    ("ddim_timesteps.%d.%d" % (T, S), ddim_trailing(T, S))]
        write_bundle(argv[2], out)
        return 0
    if len(argv) == 4 and argv[1] == "loss":
        items = read_bundle(argv[2])
        torch.set_num_threads(1)
        model, T, target = load_model(items)
        normaliser = float(items["normaliser"][0])
        loss, pred = diffusion_loss(model, items, cosine_alpha_bar(T), target, normaliser)
        loss.backward()
        out = [("loss", loss.detach().numpy()), ("pred", pred.detach().numpy())]
        for name, p in model.named_parameters():
            out.append(("grad." + name, p.grad.numpy()))
        write_bundle(argv[3], out)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
