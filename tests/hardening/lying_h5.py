"""lying_h5.py — HDF5 dataset files that lie, made with h5py from a small valid dataset: every
reading command (`inspect`, `export --png`, `export --fasta`) and pd_dataset_open as the
training engine uses it (collective open on 2 ranks + every entry read, open_dataset.c) must
refuse each one with a message naming the file and the problem, exit non-zero and not crash.
Lies: truncated files, wrong/missing format, wrong version, complete = 0, .partial files,
offsets past the end or overlapping, impossible lengths, wrong shapes and dtypes, huge
extents whose sizes overflow 64-bit products, out-of-range split and amino-acid values."""
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

top_srcdir = os.environ["top_srcdir"]
top_builddir = os.environ["top_builddir"]
proteindiff = os.environ["PROTEINDIFF"]
mpirun_sh = os.path.join(top_srcdir, "tests", "mpirun.sh")
failures = 0


def check(cond, what):
    global failures
    print(("ok: " if cond else "FAIL: ") + what)
    failures += 0 if cond else 1


tmp = tempfile.mkdtemp(prefix="pd_lying_")
try:
    base = os.path.join(tmp, "base.h5")
    r = subprocess.run(["sh", os.path.join(top_srcdir, "tests", "fuzz", "make_dataset_base.sh"), base],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print("FAIL: cannot make the base dataset:\n" + r.stderr)
        sys.exit(1)

    lies = []  # (file name, expected message part, which readers must refuse)
    ALL = ("inspect", "png", "fasta", "open")

    def lie(name, expect, mutate, readers=ALL, suffix=".h5"):
        path = os.path.join(tmp, name + suffix)
        shutil.copy(base, path)
        if isinstance(mutate, int):  # truncate to this many bytes
            with open(path, "r+b") as f:
                f.truncate(mutate)
        else:
            with h5py.File(path, "r+") as f:
                mutate(f)
        lies.append((path, expect, readers))

    def recreate(f, path, data):
        del f[path]
        f.create_dataset(path, data=data)

    def set_value(path, index, value):
        def m(f):
            d = f[path]
            d[index] = value
        return m

    def set_attr(name, value):
        def m(f):
            f.attrs[name] = value
        return m

    def del_attr(name):
        def m(f):
            del f.attrs[name]
        return m

    def huge_extents(f):
        # Sparse chunked datasets may claim billions of rows at no cost: lengths and offsets
        # that then "fit" must still not overflow the reader's size arithmetic. The datasets are
        # made anew (serial h5py allocates chunks only when written; featurize's parallel files
        # allocate early, so resizing those would write terabytes).
        for path, inner, dtype in (("residues/aa", (), np.uint8), ("residues/chain", (), np.uint8),
                                   ("residues/resnum", (), np.int32), ("residues/icode", (), "S1"),
                                   ("residues/mask", (), np.uint8), ("residues/atom14", (14, 3), np.float32),
                                   ("residues/cb", (3,), np.float32), ("voxels/divergence", (4, 4, 4), np.float16),
                                   ("distograms/data", (), np.uint8)):
            rows = 1 << 40 if path.startswith("distograms") else 1 << 32
            del f[path]
            f.create_dataset(path, shape=(rows,) + inner, dtype=dtype, chunks=(4096,) + inner)
        f["entries/length"][0] = (1 << 31) - 1

    size = os.path.getsize(base)
    lie("truncated-half", "truncated file", size // 2)
    lie("truncated-1k", "truncated file", 1000)
    lie("empty", "not an HDF5 file", 0)
    lie("format-other", 'format is "proteindiff-checkpoint", expected "proteindiff-dataset"',
        set_attr("format", "proteindiff-checkpoint"), readers=("png", "fasta", "open"))
    lie("format-missing", "not a proteindiff", del_attr("format"))
    lie("version-2", "dataset format version 2, this proteindiff reads version 1", set_attr("version", np.int64(2)))
    lie("version-string", "no usable format version", set_attr("version", "1"))
    lie("complete-0", "incomplete dataset", set_attr("complete", np.int64(0)))
    lie("complete-missing", "incomplete dataset", del_attr("complete"))
    lie("partial", "incomplete dataset", set_attr("complete", np.int64(0)), suffix=".h5.partial")
    lie("partial-not-hdf5", "the .partial file of a featurize run that did not finish", 0, suffix=".h5.partial")
    lie("residue-offset-past-end", "runs past the end", set_value("entries/residue_offset", 5, 10 ** 6))
    lie("residue-offset-overlap", "overlaps the previous entry", set_value("entries/residue_offset", 2, 0))
    lie("residue-offset-negative", "overlaps the previous entry", set_value("entries/residue_offset", 0, -3))
    lie("distogram-offset-past-end", "distogram_offset", set_value("entries/distogram_offset", 5, 1 << 40))
    lie("distogram-offset-overlap", "overlaps the previous entry", set_value("entries/distogram_offset", 1, 0))
    lie("length-zero", "has length 0", set_value("entries/length", 1, 0))
    lie("length-huge", "has length 2147483647", set_value("entries/length", 0, (1 << 31) - 1))
    lie("extents-overflow", "/distograms/data holds only", huge_extents)
    lie("split-5", "has split 5", set_value("entries/split", 3, 5))
    lie("voxel-size-lie", "/voxels/divergence has dimension 3 = 4, expected 16", set_attr("voxel_size", np.int64(16)))
    lie("voxel-size-1000", "outside 1..64", set_attr("voxel_size", np.int64(1000)))
    lie("voxels-wrong-shape", "/voxels/divergence has dimension 1 = 5",
        lambda f: recreate(f, "voxels/divergence", np.zeros((126, 5, 4, 4), np.float16)))
    lie("atom14-float64", "/residues/atom14 should be float of 4 bytes",
        lambda f: recreate(f, "residues/atom14", np.zeros((126, 14, 3), np.float64)))
    lie("length-int64", "/entries/length should be signed integer of 4 bytes",
        lambda f: recreate(f, "entries/length", f["entries/length"][:].astype(np.int64)))
    lie("aa-short", "/residues/chain has 126 rows but /residues/aa has 100",
        lambda f: recreate(f, "residues/aa", f["residues/aa"][:100]))
    lie("cb-missing", "dataset /residues/cb is missing", lambda f: f.__delitem__("residues/cb"))
    lie("names-vlen", "/entries/name should be fixed-length string",
        lambda f: recreate(f, "entries/name", np.array([b"x"] * 6, dtype=h5py.string_dtype())))
    # A value the offsets cannot catch: only readers of the sequence see it.
    lie("aa-200", "has amino-acid index 200", set_value("residues/aa", 30, 200), readers=("fasta", "open"))

    def run(args):
        r = subprocess.run(args, capture_output=True, text=True, timeout=120)
        return r.returncode, r.stdout + r.stderr

    def commands(path):
        name = os.path.basename(path)
        return {"inspect": [proteindiff, "inspect", path],
                "png": [proteindiff, "export", path, "--png", os.path.join(tmp, "png-" + name)],
                "fasta": [proteindiff, "export", path, "--fasta", os.path.join(tmp, name + ".fasta")]}

    # Three commands at a time: each start-up (MPI singleton) takes most of a second. Under
    # --enable-sanitizers a start-up takes several seconds, so there the two export commands
    # (which open through the same pd_dataset_open as inspect) run only on the lies where
    # their answer differs from inspect's.
    sanitizers = os.environ.get("PD_SANITIZERS") == "yes"

    def wanted(path, readers, reader):
        return not sanitizers or reader == "inspect" or readers != ALL

    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        futures = {(path, reader): pool.submit(run, cmd) for path, _, readers in lies
                   for reader, cmd in commands(path).items() if wanted(path, readers, reader)}
    for path, expect, readers in lies:
        name = os.path.basename(path)
        outcomes = {reader: futures[(path, reader)].result() for reader in ("inspect", "png", "fasta")
                    if (path, reader) in futures}
        for reader in outcomes:
            rc, out = outcomes[reader]
            crashed = rc < 0 or rc > 100 or "Sanitizer" in out or "Segmentation" in out
            if reader in readers:
                check(rc != 0 and not crashed and path in out and expect in out,
                      "%s: %s refuses it naming the file and '%s' (rc %d: %s)" % (name, reader, expect, rc, out.strip()[-300:]))
            else:
                check(rc == 0 and not crashed, "%s: %s (which does not read what lies) works (rc %d)" % (name, reader, rc))

    # The training engine's open: all lies at once, collectively on 2 ranks.
    opener = os.path.join(top_builddir, "tests", "hardening", "open_dataset")
    env = dict(os.environ, PD_TEST_TIMEOUT="120")
    r = subprocess.run(["sh", mpirun_sh, "2", opener] + [p for p, _, _ in lies] + [base], capture_output=True,
                       text=True, env=env, timeout=180)
    lines = {l.split(" ", 2)[1].rstrip(":"): l for l in r.stdout.splitlines() if l.startswith(("OPEN ", "REFUSED "))}
    for path, expect, readers in lies:
        line = lines.get(path, "(no line: %s)" % (r.stdout + r.stderr)[-400:])
        check(line.startswith("REFUSED ") and expect in line,
              "%s: pd_dataset_open on 2 ranks refuses it with '%s' (%s)" % (os.path.basename(path), expect, line[-200:]))
    check(lines.get(base, "").startswith("OPEN "), "the untouched base dataset opens and reads on 2 ranks")
    check(r.returncode == len(lies), "open_dataset exit code counts %d refusals (got %d)" % (len(lies), r.returncode))
    print("%d lying files checked against 4 readers" % len(lies))
finally:
    shutil.rmtree(tmp, ignore_errors=True)
sys.exit(1 if failures else 0)
