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


GEO_RBF = 16
RELPOS_CLASSES = 66
SEQ_CLASSES = 20


def _unit(v):
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.where(n > 0, v / np.where(n > 0, n, 1), 0)


def _dihedral(a, b, c, d):
    b0, b1, b2 = a - b, _unit(c - b), d - c
    v = b0 - np.dot(b0, b1) * b1
    w = b2 - np.dot(b2, b1) * b1
    return math.atan2(np.dot(np.cross(b1, v), w), np.dot(v, w))


def _frames(atom14, valid):
    """N, CA, C, virtual Cβ, unit(Cβ − CA), the §2 frame [L, 3, 3] (rows x, y, z) and which
    residues have a backbone, in float64."""
    n, ca, c = atom14[:, 0].astype(np.float64), atom14[:, 1].astype(np.float64), atom14[:, 2].astype(np.float64)
    ok = valid.astype(bool) & np.isfinite(atom14[:, :3]).all(axis=(1, 2))
    b, cc = ca - n, c - ca
    cb = -0.58273431 * np.cross(b, cc) + 0.56802827 * b - 0.54067466 * cc + ca
    y = _unit(cb - ca)
    cn = c - n
    x = _unit(cn - (cn * y).sum(-1, keepdims=True) * y)
    return n, ca, c, cb, y, np.stack([x, y, np.cross(x, y)], axis=1), ok


def backbone_geometry(atom14, chain, valid):
    """model.diffusion.geometry = "backbone", written from docs/models/diffusion.md "Geometry"
    independently of the C code: node [L, 9], pair [L, L, 20], relpos classes [L, L]."""
    L = atom14.shape[0]
    n, ca, c, cb, y, frame, ok = _frames(atom14, valid)
    node = np.zeros((L, 9))
    pair = np.zeros((L, L, GEO_RBF + 4))
    relpos = np.zeros((L, L), np.int64)
    d = np.linalg.norm(cb[:, None] - cb[None], axis=-1)
    for i in range(L):
        for j in range(L):
            relpos[i, j] = min(max(j - i, -32), 32) + 32 if chain[i] == chain[j] else 65
        if not ok[i]:
            continue
        if i > 0 and ok[i - 1] and chain[i - 1] == chain[i]:
            phi = _dihedral(c[i - 1], n[i], ca[i], c[i])
            node[i, 0:2] = math.sin(phi), math.cos(phi)
        if i + 1 < L and ok[i + 1] and chain[i + 1] == chain[i]:
            psi = _dihedral(n[i], ca[i], c[i], n[i + 1])
            omega = _dihedral(ca[i], c[i], n[i + 1], ca[i + 1])
            node[i, 2:6] = math.sin(psi), math.cos(psi), math.sin(omega), math.cos(omega)
        others = ok & (np.arange(L) != i)
        for k, r in enumerate((8.0, 10.0, 12.0)):
            node[i, 6 + k] = (others & (d[i] < r)).sum() / 10.0
        for j in range(L):
            if not ok[j]:
                continue
            mu = 2.0 + 20.0 * np.arange(GEO_RBF) / (GEO_RBF - 1)
            pair[i, j, :GEO_RBF] = np.exp(-((d[i, j] - mu) / 1.25) ** 2)
            if i != j:
                pair[i, j, GEO_RBF:GEO_RBF + 3] = frame[i] @ _unit(cb[j] - cb[i])
                pair[i, j, GEO_RBF + 3] = np.dot(y[i], y[j])
    return node, pair, relpos


ENV_EDGE = 28
ENV_NODE = 15


def backbone_environment(atom14, chain, valid, k):
    """model.diffusion.environment = k, written from docs/models/diffusion.md "Environment":
    edge [L, k, 28], own atoms [L, 15], real-neighbour mask [L, k], neighbour index [L, k] (the
    residue itself in an empty slot)."""
    L = atom14.shape[0]
    n, ca, c, cb, _, frame, ok = _frames(atom14, valid)
    o = atom14[:, 3].astype(np.float64)
    o = np.where(np.isfinite(o).all(-1, keepdims=True), o, ca)
    atoms = np.stack([n, ca, c, o, cb], axis=1)                             # [L, 5, 3]
    edge = np.zeros((L, k, ENV_EDGE))
    own = np.zeros((L, ENV_NODE))
    real = np.zeros((L, k), bool)
    nbr = np.repeat(np.arange(L)[:, None], k, axis=1)
    d = np.linalg.norm(cb[:, None] - cb[None], axis=-1)
    for i in range(L):
        if not ok[i]:
            continue
        own[i] = ((atoms[i] - ca[i]) @ frame[i].T).reshape(-1) / 10.0
        others = [j for j in np.argsort(d[i], kind="stable") if j != i and ok[j]][:k]
        for s, j in enumerate(others):
            f = edge[i, s]
            f[:15] = ((atoms[j] - ca[i]) @ frame[i].T).reshape(-1) / 10.0
            f[15:24] = (frame[i] @ frame[j].T).reshape(-1)
            if chain[i] == chain[j]:
                sep = j - i
                f[24:27] = min(max(sep, -32), 32) / 32.0, float(abs(sep) == 1), math.log1p(abs(sep)) / 6.0
            else:
                f[24:27] = 0.0, 0.0, 1.0
            f[27] = d[i, j] / 10.0
            real[i, s] = True
            nbr[i, s] = j
    return edge, own, real, nbr


class EnvLayer(nn.Module):
    """model.diffusion.environment_layers: one message-passing layer over the k-nearest graph,
    m_i = mean over real j of MLP([h_i, h_j, e_ij]) (3E -> E -> E, SiLU between);
    h = LN(h + m); h = LN(h + FFN(h)) (E -> 2E -> E)."""

    def __init__(self, width):
        super().__init__()
        self.msg = Mlp2In(3 * width, width, width)
        self.norm1 = nn.LayerNorm(width, eps=1e-5)
        self.ffn = Mlp2In(width, 2 * width, width)
        self.norm2 = nn.LayerNorm(width, eps=1e-5)

    def forward(self, x, e, real, nbr):
        xj = x[nbr]                                                      # [L, k, E]
        m = self.msg(torch.cat([x.unsqueeze(1).expand_as(xj), xj, e], dim=-1))
        w = real.to(x.dtype) / real.sum(1, keepdim=True).clamp(min=1).to(x.dtype)
        x = self.norm1(x + (m * w.unsqueeze(-1)).sum(1))
        return self.norm2(x + self.ffn(x))


class Mlp2In(nn.Module):
    """Linear(i, h), SiLU, Linear(h, o) as fc1 / fc2."""

    def __init__(self, i, h, o):
        super().__init__()
        self.fc1 = nn.Linear(i, h)
        self.fc2 = nn.Linear(h, o)

    def forward(self, x):
        return self.fc2(F.silu(self.fc1(x)))


class EnvEmbed(nn.Module):
    """The environment's shared neighbour MLP (28 -> E -> E, SiLU after each), pooled by a softmax
    over the real neighbours' scores and by their mean, beside the residue's own atoms; with
    `layers` > 0 then a node MLP (2E + 15 -> E -> E) and that many message-passing layers."""

    def __init__(self, width, layers=0):
        super().__init__()
        self.fc1 = nn.Linear(ENV_EDGE, width)
        self.fc2 = nn.Linear(width, width)
        self.att = nn.Linear(width, 1, bias=False)
        if layers:
            self.node = Mlp2In(2 * width + ENV_NODE, width, width)
            self.layers = nn.ModuleList([EnvLayer(width) for _ in range(layers)])

    def forward(self, edge, own, real, nbr):
        h = F.silu(self.fc2(F.silu(self.fc1(edge))))
        w = torch.softmax(self.att(h).squeeze(-1).masked_fill(~real, -1e9), dim=-1)
        pooled = (w.unsqueeze(-1) * h).sum(1)
        mean = (h * real.unsqueeze(-1).to(h.dtype)).sum(1) / real.sum(1, keepdim=True).clamp(min=1).to(h.dtype)
        x = torch.cat([pooled, mean, own], dim=-1)
        if not hasattr(self, "layers"):
            return x
        x = self.node(x)
        for layer in self.layers:
            x = layer(x, h, real, nbr)
        return x


class Attention(nn.Module):
    def __init__(self, width, heads, pair_values=False):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        if pair_values:
            self.pair_values = nn.Linear(heads * (GEO_RBF + 4), width, bias=False)

    def forward(self, x, key_valid, bias=None, pair=None):
        L, W = x.shape
        dh = W // self.heads
        q, k, v = self.qkv(x).reshape(L, 3, self.heads, dh).permute(1, 2, 0, 3)   # [H, L, dh] each
        scores = q @ k.transpose(-1, -2) / math.sqrt(dh)
        if bias is not None:
            scores = scores + bias.permute(2, 0, 1)                                # [L, L, H] -> [H, L, L]
        scores = scores.masked_fill(~key_valid.reshape(1, 1, L), float("-inf"))
        P = torch.softmax(scores, dim=-1)
        out = self.proj((P @ v).permute(1, 0, 2).reshape(L, W))                    # [H, L, dh] -> [L, W]
        if hasattr(self, "pair_values"):
            # model.diffusion.pair_values: sum_j P[h, i, j] pair[i, j, :] per head -> [L, H * F]
            pv = torch.einsum("hij,ijf->ihf", P, pair).reshape(L, -1)
            out = out + self.pair_values(pv)
        return out


class MlpBlock(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc1 = nn.Linear(width, MLP_RATIO * width)
        self.fc2 = nn.Linear(MLP_RATIO * width, width)

    def forward(self, x):
        return self.fc2(F.silu(self.fc1(x)))


class DiTBlock(nn.Module):
    def __init__(self, width, heads, pair_values=False):
        super().__init__()
        self.adaLN = nn.Linear(width, 6 * width)
        self.attn = Attention(width, heads, pair_values)
        self.mlp = MlpBlock(width)

    def forward(self, x, c, key_valid, bias=None, pair=None):
        W = x.shape[-1]
        shift1, scale1, gate1, shift2, scale2, gate2 = self.adaLN(F.silu(c)).split(W, dim=-1)
        x = x + gate1 * self.attn(modulate(F.layer_norm(x, (W,), eps=LN_EPS), shift1, scale1), key_valid, bias, pair)
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
        self.hidden = modulate(F.layer_norm(x, (W,), eps=LN_EPS), shift, scale)  # what sequence_head "hidden" reads
        return self.linear(self.hidden)


class GeoEmbed(nn.Module):
    """Pair features and relative-position class -> one attention bias per head and block."""

    def __init__(self, depth, heads):
        super().__init__()
        self.pair = nn.Linear(GEO_RBF + 4, depth * heads, bias=False)
        self.relpos = nn.Embedding(RELPOS_CLASSES, depth * heads)


class SeqHead(nn.Module):
    """model.diffusion.sequence_loss's latent classifier: Linear(sc, W), SiLU, Linear(W, 20)."""
    def __init__(self, sc_latent, width):
        super().__init__()
        self.fc1 = nn.Linear(sc_latent, width)
        self.fc2 = nn.Linear(width, SEQ_CLASSES)

    def forward(self, z, frozen=False):
        if not frozen:
            return self.fc2(F.silu(self.fc1(z)))
        h = F.linear(z, self.fc1.weight.detach(), self.fc1.bias.detach())
        return F.linear(F.silu(h), self.fc2.weight.detach(), self.fc2.bias.detach())


class HiddenHead(nn.Module):
    """model.diffusion.sequence_head = "hidden": Linear(W, W), SiLU, Linear(W, 20) on the final
    layer's modulated hidden state (the state final.linear reads x̂0 from)."""
    def __init__(self, width):
        super().__init__()
        self.fc1 = nn.Linear(width, width)
        self.fc2 = nn.Linear(width, SEQ_CLASSES)

    def forward(self, h):
        return self.fc2(F.silu(self.fc1(h)))


class DiT(nn.Module):
    def __init__(self, depth, width, heads, sc_latent, bb_latent, geometry=0, sequence_loss=0.0, pair_values=False,
                 environment=0, environment_width=0, environment_layers=0, sequence_head=0):
        super().__init__()
        self.sequence_head = sequence_head
        self.heads = heads
        self.sequence_loss = sequence_loss
        self.environment = environment
        env_in = (environment_width if environment_layers else 2 * environment_width + ENV_NODE) if environment else 0
        self.x_embed = Mlp2(sc_latent + bb_latent + (9 if geometry else 0) + env_in, width)
        self.aa_embed = nn.Embedding(TOKENS, width)
        self.c_embed = Mlp2(FREQ_DIM + width, width)
        if geometry:
            self.geo_embed = GeoEmbed(depth, heads)
        if environment:
            self.env_embed = EnvEmbed(environment_width, environment_layers)
        self.blocks = nn.ModuleList([DiTBlock(width, heads, pair_values) for _ in range(depth)])
        self.final = FinalLayer(width, sc_latent)
        if sequence_loss > 0:
            # model.diffusion.sequence_loss: the latent classifier sc -> width -> 20
            self.seq_head = SeqHead(sc_latent, width)
            if sequence_head:
                self.seq_head.hidden = HiddenHead(width)

    def forward(self, x_t, bb, t, tokens, key_valid, geo=None, env=None):
        """One entry: x_t [L, sc], bb [L, bb], scalar t, tokens [L], key_valid [L] bool, geo =
        (node, pair, relpos) of backbone_geometry when the model reads geometry -> [L, sc]."""
        L = x_t.shape[0]
        inputs = [x_t, bb]
        biases = [None] * len(self.blocks)
        pair_t = None
        if geo is not None:
            node, pair, relpos = geo
            inputs.append(torch.tensor(node, dtype=x_t.dtype))
            pair_t = torch.tensor(pair, dtype=x_t.dtype)
            all_bias = self.geo_embed.pair(pair_t) + self.geo_embed.relpos(torch.tensor(relpos))
            biases = all_bias.split(self.heads, dim=-1)
        if env is not None:
            edge, own, real, nbr = env
            inputs.append(self.env_embed(torch.tensor(edge, dtype=x_t.dtype), torch.tensor(own, dtype=x_t.dtype),
                                         torch.tensor(real), torch.tensor(nbr)))
        x = self.x_embed(torch.cat(inputs, dim=-1))
        temb = timestep_features(t, x.dtype).expand(L, FREQ_DIM)
        c = self.c_embed(torch.cat([temb, self.aa_embed(tokens)], dim=-1))
        for block, bias in zip(self.blocks, biases):
            x = block(x, c, key_valid, bias, pair_t)
        return self.final(x, c)


def diffusion_loss(model, items, alpha_bar, target, normaliser, dtype=torch.float64):
    """Sum over valid residues of |pred - target|^2 / (normaliser * sc_latent) (+ the sequence loss);
    predictions [N, sc]."""
    offset = items["offset"].astype(np.int64)
    sc_mu = torch.tensor(items["sc_mu"], dtype=dtype)
    noise = torch.tensor(items["noise"], dtype=dtype)
    bb = torch.tensor(items["bb_mu"], dtype=dtype)
    tokens = torch.tensor(items["tokens"].astype(np.int64))
    valid = torch.tensor(items["valid"].astype(bool))
    t = items["t"].astype(np.int64)
    atom14 = items["atom14"].reshape(-1, 14, 3) if "atom14" in items else None
    chain = items["chain"] if "chain" in items else None
    D = sc_mu.shape[1]
    total = torch.zeros((), dtype=dtype)
    seq_total = torch.zeros((), dtype=dtype)
    preds, seq_logits = [], []
    for e in range(len(offset) - 1):
        rows = slice(int(offset[e]), int(offset[e + 1]))
        ab = float(alpha_bar[t[e]])
        x_t = math.sqrt(ab) * sc_mu[rows] + math.sqrt(1 - ab) * noise[rows]
        geo = env = None
        if atom14 is not None:
            geo = backbone_geometry(atom14[rows], chain[rows], items["valid"][rows])
            if model.environment:
                env = backbone_environment(atom14[rows], chain[rows], items["valid"][rows], model.environment)
        pred = model(x_t, bb[rows], float(t[e]), tokens[rows], valid[rows], geo, env)
        goal = noise[rows] if target == 0 else sc_mu[rows]
        total = total + (((pred - goal) ** 2).sum(dim=-1) * valid[rows].to(dtype)).sum()
        if model.sequence_loss > 0:
            # residues that take part and have a standard amino acid; sums divided by the normaliser
            aa = torch.tensor(items["aa"][rows].astype(np.int64))
            keep = valid[rows] & (aa < SEQ_CLASSES)
            ce_head = F.cross_entropy(model.seq_head(sc_mu[rows])[keep], aa[keep], reduction="sum")
            if model.sequence_head:  # the hidden head on the final layer's hidden state
                logits = model.seq_head.hidden(model.final.hidden)
                seq_logits.append(logits)
                ce_hat = F.cross_entropy(logits[keep], aa[keep], reduction="sum")
            else:
                ce_hat = F.cross_entropy(model.seq_head(pred, frozen=True)[keep], aa[keep], reduction="sum")
            seq_total = seq_total + ce_head + model.sequence_loss * ce_hat
        preds.append(pred)
    model.seq_logits = torch.cat(seq_logits, dim=0) if seq_logits else None  # [N, 20] with sequence_head "hidden"
    return total / (normaliser * D) + seq_total / normaliser, torch.cat(preds, dim=0)


def load_model(items, dtype=torch.float64):
    config = [int(v) for v in items["config"]]
    depth, width, heads, T, sc, bb, target = config[:7]
    geometry = config[7] if len(config) > 7 else 0
    pair_values = bool(config[8]) if len(config) > 8 else False
    environment = config[9] if len(config) > 9 else 0
    environment_width = config[10] if len(config) > 10 else 0
    environment_layers = config[11] if len(config) > 11 else 0
    sequence_head = config[12] if len(config) > 12 else 0
    sequence_loss = float(items["sequence_loss"][0]) if "sequence_loss" in items else 0.0
    model = DiT(depth, width, heads, sc, bb, geometry, sequence_loss, pair_values, environment,
                environment_width, environment_layers, sequence_head).to(dtype)
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
        if model.seq_logits is not None:
            out.append(("seq_logits", model.seq_logits.detach().numpy()))
        for name, p in model.named_parameters():
            out.append(("grad." + name, p.grad.numpy()))
        write_bundle(argv[3], out)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
