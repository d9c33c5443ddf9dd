#!/usr/bin/env python3
"""compare_runs.py — compare two training runs of proteindiff from their own outputs
(metrics.jsonl and checkpoints), for the engine's parity and resume tests.

  compare_runs.py close   STAGE STEP RUN_A RUN_B [TOL]   losses of every step <= STEP and the
        parameters of the step-STEP checkpoints agree to TOL relative (default 1e-5)
  compare_runs.py bitwise STAGE STEP RUN_A RUN_B         same, bit for bit, including the
        AdamW moments, and the losses of steps in both files are identical
Exit 0 when they agree, 1 with a message saying where they differ."""
import json
import sys

import h5py
import numpy as np


def losses(run, stage, upto):
    out = {}
    with open(f"{run}/metrics.jsonl") as f:
        for line in f:
            rec = json.loads(line)
            if rec["stage"] == stage and rec["step"] <= upto:
                out[rec["step"]] = rec
    return out


def arrays(run, stage, step, groups):
    path = f"{run}/checkpoints/{stage}-step{step:08d}.h5"
    out = {}
    with h5py.File(path, "r") as f:
        if f.attrs["complete"] != 1:
            raise SystemExit(f"{path} is not complete")
        for g in groups:
            for name, ds in f[g].items():
                out[f"{g}/{name}"] = ds[()]
    return out


def main():
    mode, stage, step, a, b = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    tol = float(sys.argv[6]) if len(sys.argv) > 6 else 1e-5
    la, lb = losses(a, stage, step), losses(b, stage, step)
    common = sorted(set(la) & set(lb))
    bad = []
    if mode == "close":
        if len(common) != step:
            bad.append(f"{len(common)} common steps in the metrics, expected {step}")
        for s in common:
            x, y = la[s]["loss"], lb[s]["loss"]
            if abs(x - y) > tol * max(abs(y), 1e-30):
                bad.append(f"step {s}: loss {x!r} vs {y!r} (relative {abs(x - y) / abs(y):.3g})")
        groups = ["params"]
    else:
        if not common:
            bad.append("no common steps in the metrics")
        for s in common:
            if la[s]["loss"] != lb[s]["loss"] or la[s]["grad_norm"] != lb[s]["grad_norm"]:
                bad.append(f"step {s}: loss {la[s]['loss']!r} vs {lb[s]['loss']!r}")
        groups = ["params", "optimizer/m", "optimizer/v"]
    pa, pb = arrays(a, stage, step, groups), arrays(b, stage, step, groups)
    if sorted(pa) != sorted(pb):
        bad.append("the checkpoints hold different datasets")
    worst = 0.0
    for k in sorted(set(pa) & set(pb)):
        x, y = pa[k], pb[k]
        if x.shape != y.shape:
            bad.append(f"{k}: shape {x.shape} vs {y.shape}")
        elif mode == "bitwise":
            if x.tobytes() != y.tobytes():
                bad.append(f"{k}: differs in {(x != y).sum()} of {x.size} values (max {np.abs(x - y).max():.3g})")
        else:
            d = float((np.abs(x.astype(np.float64) - y) / np.maximum(1.0, np.abs(y))).max())
            worst = max(worst, d)
            if d > tol:
                bad.append(f"{k}: relative difference {d:.3g} > {tol}")
    first, last = lb[min(lb)]["loss"], lb[max(lb)]["loss"]
    print(f"{mode} {a} vs {b}: {len(common)} steps compared, losses {first:.6g} -> {last:.6g}, "
          f"{len(pa)} arrays, max parameter difference {worst:.3g}")
    for m in bad[:20]:
        print("  " + m)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
