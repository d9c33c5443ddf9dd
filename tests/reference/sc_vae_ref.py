"""sc_vae_ref.py — PyTorch reference of the side-chain VAE + amino-acid classifier (SPEC §7,
docs/models/sc_vae.md), written independently of the C code from the spec. As a script it reads
a tensor bundle written by tests/models/test_sc_vae_parity (configuration, parameters, voxels, eps,
amino acids), computes the loss and every parameter gradient in float64, and writes them to a
second bundle:  sc_vae_ref.py IN.bin OUT.bin
The module is also imported by tools/bench/bench-sc-vae-torch.py for the step-time comparison."""
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CLASSES = 20
GN_EPS = 1e-5


def groups_for(channels, max_groups=8):
    """GroupNorm groups: the largest divisor of C that is <= min(max_groups, C // 4), else 1:
    every group has at least 4 channels."""
    cap = min(max_groups, channels // 4)
    for g in range(cap, 1, -1):
        if channels % g == 0:
            return g
    return 1


class ResBlock(nn.Module):
    """y = x + GN2(conv2(SiLU(GN1(conv1(x))))), both convs k=2 'same' at constant width."""

    def __init__(self, c, max_groups):
        super().__init__()
        g = groups_for(c, max_groups)
        self.conv1 = nn.Conv3d(c, c, 2, padding="same")
        self.gn1 = nn.GroupNorm(g, c, eps=GN_EPS)
        self.conv2 = nn.Conv3d(c, c, 2, padding="same")
        self.gn2 = nn.GroupNorm(g, c, eps=GN_EPS)

    def forward(self, x):
        return x + self.gn2(self.conv2(F.silu(self.gn1(self.conv1(x)))))


class Stage(nn.Module):
    """first layer -> GroupNorm -> SiLU -> residual block."""

    def __init__(self, kind, cin, cout, max_groups):
        super().__init__()
        if kind == "same":
            self.conv = nn.Conv3d(cin, cout, 2, padding="same")
        elif kind == "down":
            self.conv = nn.Conv3d(cin, cout, 2, stride=2)
        elif kind == "up":
            self.conv = nn.ConvTranspose3d(cin, cout, 2, stride=2)
        else:
            self.conv = nn.Conv3d(cin, cout, 1)
        self.gn = nn.GroupNorm(groups_for(cout, max_groups), cout, eps=GN_EPS)
        self.res = ResBlock(cout, max_groups)

    def forward(self, x):
        return self.res(F.silu(self.gn(self.conv(x))))


class Trunk(nn.Module):
    """Stem and down stages: the encoder's trunk, and the classifier's own copy of it."""
    def __init__(self, voxel, width, max_groups):
        super().__init__()
        levels = int(round(np.log2(voxel)))
        self.stem = Stage("same", 1, width, max_groups)
        self.down = nn.ModuleList([Stage("down", width << k, width << (k + 1), max_groups) for k in range(levels)])

    def forward(self, x):
        h = self.stem(x)
        for s in self.down:
            h = s(h)
        return h  # [N, C_top, 1, 1, 1]


class Encoder(Trunk):
    """The trunk plus the latent head (parameters enc.stem, enc.down.*, enc.head)."""
    def __init__(self, voxel, width, latent, max_groups):
        super().__init__(voxel, width, max_groups)
        self.head = nn.Conv3d(width * voxel, 2 * latent, 1)

    def trunk(self, x):
        return Trunk.forward(self, x)


class Decoder(nn.Module):
    def __init__(self, voxel, width, latent, max_groups):
        super().__init__()
        levels = int(round(np.log2(voxel)))
        self.proj = Stage("pointwise", latent, width * voxel, max_groups)
        self.up = nn.ModuleList([Stage("up", width << (levels - i), width << (levels - i - 1), max_groups)
                                 for i in range(levels)])
        self.out = nn.Conv3d(width, 1, 1)

    def forward(self, z):
        h = self.proj(z[:, :, None, None, None])
        for s in self.up:
            h = s(h)
        return self.out(h)


class ScVae(nn.Module):
    def __init__(self, voxel=16, width=8, latent=16, beta_kl=1e-3, max_groups=8, own_trunk=True, input_weight=0.0):
        super().__init__()
        self.voxel, self.latent, self.beta_kl, self.input_weight = voxel, latent, beta_kl, input_weight
        self.enc = Encoder(voxel, width, latent, max_groups)
        self.dec = Decoder(voxel, width, latent, max_groups)
        self.cls_trunk = Trunk(voxel, width, max_groups) if own_trunk else None
        self.cls = nn.Linear(width * voxel, CLASSES)

    def encode(self, x):
        stats = self.enc.head(self.enc.trunk(x)).flatten(1)
        return stats.chunk(2, dim=1)

    def classify(self, x):
        """The classifier's own trunk -> Linear -> 20 logits; without one, the encoder's trunk
        (shared weights, features detached: CE trains only the Linear head)."""
        if self.cls_trunk is not None:
            return self.cls(self.cls_trunk(x).flatten(1))
        return self.cls(self.enc.trunk(x).detach().flatten(1))

    def loss(self, x, aa, eps=None, normaliser=0.0):
        """Per-residue loss: mean-over-cells MSE + beta_kl KL + CE of the classifier on the detached
        reconstruction (+ input_weight x its CE on the input voxels, model.sc_vae.
        classifier_input_weight), each summed over residues and divided by `normaliser` (0: N).
        eps None: z = mu (evaluation)."""
        n = x.shape[0]
        norm = normaliser if normaliser > 0 else float(n)
        mu, logvar = self.encode(x)
        z = mu if eps is None else mu + torch.exp(0.5 * logvar) * eps
        recon = self.dec(z)
        logits = self.classify(recon.detach())
        mse = ((recon - x) ** 2).sum() / (norm * self.voxel ** 3)
        kl = -0.5 * (1 + logvar - mu * mu - torch.exp(logvar)).sum() / norm
        ce = F.cross_entropy(logits, aa.long(), ignore_index=-1, reduction="sum") / norm
        loss = mse + self.beta_kl * kl + ce
        ce_input = torch.zeros(())
        if self.input_weight > 0:
            ce_input = F.cross_entropy(self.classify(x), aa.long(), ignore_index=-1, reduction="sum") / norm
            loss = loss + self.input_weight * ce_input
        return loss, dict(mse=mse, kl=kl, ce=ce, ce_input=ce_input, mu=mu, logvar=logvar, recon=recon, logits=logits)


# ---- tensor bundles (format of nn_bundle.py) ----

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
            data = np.frombuffer(f.read(count * np.dtype(npdt).itemsize), dtype=npdt).reshape(shape)
            items[name] = data
    return items


def add_precise(bundle, name, value):
    """A float64 tensor as two f32 items: `name` = f32(value), `name.lo` = f32(value - f32(value)),
    so the double-precision C build compares against ~48 significant bits."""
    value = value.detach().double()
    hi = value.float().double()
    bundle.add(name, hi)
    bundle.add(name + ".lo", value - hi)


def main(argv):
    if len(argv) != 3:
        raise SystemExit("usage: sc_vae_ref.py IN.bin OUT.bin")
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from nn_bundle import Bundle

    torch.manual_seed(0)
    b = read_bundle(argv[1])
    cfg = {k: int(b["cfg." + k][0]) for k in ("voxel", "width", "latent", "max_groups")}
    beta_kl = float(b["cfg.beta_kl"][0])
    normaliser = float(b["cfg.normaliser"][0])
    own_trunk = any(k.startswith("param.cls_trunk.") for k in b)
    input_weight = float(b["cfg.classifier_input_weight"][0]) if "cfg.classifier_input_weight" in b else 0.0
    model = ScVae(cfg["voxel"], cfg["width"], cfg["latent"], beta_kl, cfg["max_groups"], own_trunk,
                  input_weight).double()

    # The C model must declare exactly this module's parameters, by name and shape.
    state = model.state_dict()
    c_names = {k[len("param."):] for k in b if k.startswith("param.")}
    if c_names != set(state):
        raise SystemExit("parameter names differ: only in C %s; only in torch %s"
                         % (sorted(c_names - set(state)), sorted(set(state) - c_names)))
    for name, t in state.items():
        if tuple(b["param." + name].shape) != tuple(t.shape):
            raise SystemExit("parameter %s: C shape %s, torch shape %s" % (name, b["param." + name].shape, tuple(t.shape)))
        t.copy_(torch.from_numpy(b["param." + name].astype(np.float64)))

    x = torch.from_numpy(b["voxels"].astype(np.float64))
    eps = torch.from_numpy(b["eps"].astype(np.float64))
    aa = torch.from_numpy(b["aa"].astype(np.int64))
    out = Bundle()

    loss, parts = model.loss(x, aa, eps, normaliser)
    model.zero_grad()
    loss.backward()
    add_precise(out, "loss", loss.reshape(1))
    for k in ("mse", "kl", "ce", "ce_input"):
        add_precise(out, k, parts[k].reshape(1))
    for k in ("mu", "logvar", "recon", "logits"):
        add_precise(out, k, parts[k])
    out.add("n_params", np.array([sum(p.numel() for p in model.parameters())], dtype=np.int32))
    for name, p in model.named_parameters():
        add_precise(out, "grad." + name, p.grad if p.grad is not None else torch.zeros_like(p))

    with torch.no_grad():
        loss_eval, _ = model.loss(x, aa, None, normaliser)
        add_precise(out, "loss_eval", loss_eval.reshape(1))
        # one weight moved: the C side must see the same change
        name = "enc.stem.conv.weight"
        state[name].view(-1)[0] += float(b["perturb.delta"][0])
        loss_pert, _ = model.loss(x, aa, eps, normaliser)
        add_precise(out, "loss_perturbed", loss_pert.reshape(1))
    out.write(argv[2])


if __name__ == "__main__":
    main(sys.argv)
