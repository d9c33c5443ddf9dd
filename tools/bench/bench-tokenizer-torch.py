"""bench-tokenizer-torch.py — one training step (forward + backward) of the PyTorch reference
structure tokenizer (tests/reference/tokenizer_ref.py, CPU defaults) in float32 on a batch of
random images, for comparison with tools/bench/bench-tokenizer (run both through
bench-tokenizer.sh). Usage: bench-tokenizer-torch.py [BATCH [SIDE [STEPS [THREADS]]]]"""
import os
import sys
import time

import torch

# BENCH_CLOCK=cpu: process CPU time (all threads), as the C drivers (tools/bench/bench_clock.h)
clock = time.process_time if os.environ.get("BENCH_CLOCK") == "cpu" else time.perf_counter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "reference"))
from tokenizer_ref import Tokenizer  # noqa: E402

batch = int(sys.argv[1]) if len(sys.argv) > 1 else 8
side = int(sys.argv[2]) if len(sys.argv) > 2 else 64
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
torch.set_num_threads(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
torch.manual_seed(1)
model = Tokenizer()
model.train()
x = torch.randn(batch, 3, side, side)
lengths = torch.full((batch,), side, dtype=torch.int64)
best, total = float("inf"), 0.0
for s in range(-1, steps):
    t0 = clock()
    model.zero_grad(set_to_none=False)
    loss = model(x, lengths)[0]
    loss.backward()
    dt = clock() - t0
    if s >= 0:
        total += dt
        best = min(best, dt)
print("torch %s: %d parameters, batch %d of %dx%d, %d thread(s): step %.1f ms best, %.1f ms mean of %d"
      % (torch.__version__, sum(p.numel() for p in model.parameters()), batch, side, side, torch.get_num_threads(),
         best * 1e3, total / steps * 1e3, steps))
