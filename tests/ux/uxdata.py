"""uxdata.py — shared by the tests/ux Python tests: check() bookkeeping and a small real dataset
featurized by the built proteindiff from structures in PD_SHARED (skips when they are absent)."""
import os
import subprocess
import sys
import tempfile

top_srcdir = os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
TOOLS = os.path.join(top_srcdir, "tools")
PROTEINDIFF = os.environ.get("PROTEINDIFF", "proteindiff")
failures = 0


def check(cond, what):
    global failures
    print(("ok: " if cond else "FAIL: ") + what)
    failures += 0 if cond else 1


def finish():
    sys.exit(1 if failures else 0)


def featurize(files, tmp):
    """Featurize the named files of PD_SHARED/data/pdb into tmp/d.h5 on one rank; returns the path."""
    pdb = os.path.join(os.environ.get("PD_SHARED", os.path.join(top_srcdir, "..", "shared")), "data", "pdb")
    if not os.path.isdir(pdb):
        print("SKIP: no", pdb)
        sys.exit(77)
    cfg = os.path.join(tmp, "run.cfg")
    with open(cfg, "w") as f:
        f.write('data = { inputs = [%s]; dataset = "%s/d.h5"; };\n'
                % (", ".join('"%s/%s"' % (pdb, x) for x in files), tmp))
    r = subprocess.run([PROTEINDIFF, "featurize", cfg], capture_output=True, text=True)
    if r.returncode != 0:
        print("FAIL: featurize exited %d: %s" % (r.returncode, r.stderr[-500:]))
        sys.exit(1)
    return os.path.join(tmp, "d.h5")


def scratch():
    return tempfile.TemporaryDirectory(prefix="pd_ux_")
