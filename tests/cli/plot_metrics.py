"""plot_metrics.py — tools/plot-metrics turns a metrics.jsonl (SPEC section 8 format) into a
readable PNG: it runs, writes a real PNG of the expected size, survives a corrupt line, and
refuses a missing file with a clear message."""
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

top = os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
tool = os.path.join(top, "tools", "plot-metrics")
failures = 0


def check(cond, what):
    global failures
    print(("ok: " if cond else "FAIL: ") + what)
    failures += 0 if cond else 1


with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "metrics.jsonl")
    with open(path, "w") as f:
        for stage, n in (("sc_vae", 120), ("bb_vae", 80)):
            for step in range(1, n + 1):
                row = {"stage": stage, "step": step, "loss": 3.0 * math.exp(-step / 40) + 0.1, "lr": 1e-3,
                       "grad_norm": 1.0 / step ** 0.5, "residues_per_s": 5000.0, "step_ms": 40.0, "comm_ms": 2.0,
                       "loss_mse": 1.0 / step}
                if step % 40 == 0:
                    row.update({"val_mse": 0.5 / step, "val_baseline_mse": 0.02, "val_code_usage": [0.5, 0.7, 0.9]})
                f.write(json.dumps(row) + "\n")
        f.write("this line is corrupt\n")
    out = os.path.join(d, "curves.png")
    r = subprocess.run([sys.executable, tool, path, "-o", out], capture_output=True, text=True)
    check(r.returncode == 0, "plot-metrics exits 0: " + r.stderr.strip()[-300:])
    check("1 bad lines skipped" in r.stdout, "corrupt line reported")
    check(os.path.exists(out), "PNG written")
    if os.path.exists(out):
        with open(out, "rb") as f:
            head = f.read(24)
        check(head[:8] == b"\x89PNG\r\n\x1a\n", "file is a PNG")
        w, h = struct.unpack(">II", head[16:24])
        check(w >= 800 and h >= 300, f"PNG is a readable size ({w}x{h})")
    r = subprocess.run([sys.executable, tool, os.path.join(d, "nope.jsonl")], capture_output=True, text=True)
    check(r.returncode != 0 and "does not exist" in r.stderr, "missing file is a clear error")

sys.exit(1 if failures else 0)
