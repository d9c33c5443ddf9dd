#!/usr/bin/env python3
"""bench-nn-torch.py — PyTorch time of one training step (forward + backward) of the same
transformer block and MPNN layer that tools/bench/bench-nn times, at the same thread counts.
Usage: bench-nn-torch.py [--threads "1 2"]. Run with /usr/bin/python3 (Debian python3-torch)."""
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "reference"))
from nn_reference import MPNNLayer, PreLNBlock  # noqa: E402


def best(fn, reps=5):
    fn()
    t = 1e30
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        t = min(t, time.perf_counter() - t0)
    return t


def main():
    threads = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "1 2"
    for nt in [int(x) for x in threads.replace(",", " ").split()]:
        torch.set_num_threads(nt)
        print(f"threads = {nt}")
        blk = PreLNBlock(128, 4, 256, 8)
        pos = torch.arange(128, dtype=torch.int32).repeat(4, 1)
        valid = torch.ones(4, 128, dtype=torch.uint8)

        def step_block():
            x = torch.rand(4, 128, 128, requires_grad=True)
            blk.zero_grad()
            y = blk(x, pos, valid)
            y.backward(y.detach())

        print("  step transformer block B4 L128 D128 H4 MLP256: %8.2f ms" % (1e3 * best(step_block)))
        n, k = 512, 16
        mp = MPNNLayer(64, 32, k)
        dst = torch.arange(n).repeat_interleave(k).to(torch.int32)
        src = ((torch.arange(n * k) // k + 1 + (torch.arange(n * k) % k) * 7) % n).to(torch.int32)

        def step_mpnn():
            h = torch.rand(n, 64, requires_grad=True)
            e = torch.rand(n * k, 32, requires_grad=True)
            mp.zero_grad()
            y = mp(h, e, src, dst)
            y.backward(y.detach())

        print("  step MPNN layer N512 k16 D64 De32:              %8.2f ms" % (1e3 * best(step_mpnn)))


if __name__ == "__main__":
    main()
