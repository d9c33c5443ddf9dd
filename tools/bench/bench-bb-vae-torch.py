#!/usr/bin/env python3
# bench-bb-vae-torch.py — times the PyTorch reference of the backbone VAE (tests/reference/bb_vae_ref.py,
# float32, torch.set_num_threads(THREADS)) on the batch, weights and noise that bench-bb-vae --dump wrote,
# so the step times compare like for like. Usage: bench-bb-vae-torch.py FILE [STEPS] [THREADS]
import os
import sys
import time

import torch

# BENCH_CLOCK=cpu: process CPU time (all threads), as the C drivers (tools/bench/bench_clock.h)
clock = time.process_time if os.environ.get("BENCH_CLOCK") == "cpu" else time.perf_counter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "reference"))
import bb_vae_ref  # noqa: E402


def main():
    path = sys.argv[1]
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    b = bb_vae_ref.read_bundle(path)
    model = bb_vae_ref.make_model(b).float()
    err = bb_vae_ref.load_weights(model, b)
    if err:
        sys.exit("bench-bb-vae-torch: " + err)
    g = bb_vae_ref.graph_from_bundle(b, torch.float32)
    times, loss = [], None
    for s in range(steps + 1):  # the first step warms up the allocator
        model.zero_grad(set_to_none=True)
        t0 = clock()
        loss = model(g)[0]
        loss.backward()
        times.append(clock() - t0)
    mean = sum(times[1:]) / steps
    times = sorted(times[1:])
    print("torch %s, %d thread(s): forward+backward median %.1f ms over %d steps (loss %.5f); step %.1f ms best, "
          "%.1f ms mean of %d" % (torch.__version__, torch.get_num_threads(), times[len(times) // 2] * 1e3, steps,
                                  float(loss), times[0] * 1e3, mean * 1e3, steps))


if __name__ == "__main__":
    main()
