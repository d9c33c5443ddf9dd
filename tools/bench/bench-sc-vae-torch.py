"""bench-sc-vae-torch.py — one training step (forward + backward) of the PyTorch reference side-chain
VAE (tests/reference/sc_vae_ref.py) in float32 on a batch of random voxels, for comparison with
tools/bench/bench-sc-vae (run both through bench-sc-vae.sh).
Usage: bench-sc-vae-torch.py [BATCH [STEPS [THREADS]]]"""
import os
import sys
import time

import torch

# BENCH_CLOCK=cpu: process CPU time (all threads), as the C drivers (tools/bench/bench_clock.h)
clock = time.process_time if os.environ.get("BENCH_CLOCK") == "cpu" else time.perf_counter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "reference"))
from sc_vae_ref import ScVae  # noqa: E402

batch = int(sys.argv[1]) if len(sys.argv) > 1 else 256
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
torch.manual_seed(1)
model = ScVae(voxel=16, width=8, latent=16, beta_kl=1e-3)
x = torch.randn(batch, 1, 16, 16, 16)
aa = torch.arange(batch) % 20
best, total = float("inf"), 0.0
for s in range(-1, steps):
    t0 = clock()
    model.zero_grad(set_to_none=False)
    loss, _ = model.loss(x, aa, torch.randn(batch, 16))
    loss.backward()
    dt = clock() - t0
    if s >= 0:
        total += dt
        best = min(best, dt)
print("torch %s: %d parameters, batch %d, %d thread(s): step %.1f ms best, %.1f ms mean of %d"
      % (torch.__version__, sum(p.numel() for p in model.parameters()), batch, torch.get_num_threads(),
         best * 1e3, total / steps * 1e3, steps))
