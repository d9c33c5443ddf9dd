#!/usr/bin/python3
"""design-backbone-only.py — `proteindiff design` on backbone-only files it has never seen (issue 17).

Why this exists: `evaluate` scores the test split from the dataset's arrays. A user instead hands
`design` a PDB file that has only a backbone. This tool checks that the two agree: it writes every
entry of a split (default: test, never trained on) as a new backbone-only PDB file (N, CA, C, O and
the native residue names, nothing else: no side chains, no HETATM, one chain per entry), runs
`proteindiff design` on that folder with the run file's models, and reports the recovery of the
designs against the native residues, next to the amino-acid composition baseline of the train split:

  * `mean-distribution recovery`: argmax of the per-residue distribution averaged over the samples
    (`--probs`; what `evaluate` calls recovery with design.eval_samples samples), and its perplexity;
  * `per-sample recovery`: the FASTA `recovery=` of each sample at the given temperature, averaged.

Usage (Debian's python3 with numpy and h5py):
  tools/design-backbone-only.py RUN.cfg DATASET.h5 OUTDIR [--split test] [--samples 4]
      [--temperature 0] [--np 2] [--build build] [--set KEY=VALUE ...]
Writes OUTDIR/backbones/*.pdb, OUTDIR/designs.fasta, OUTDIR/probs.h5 and OUTDIR/summary.json.
"""
import argparse
import json
import math
import os
import subprocess
import sys

import h5py
import numpy as np

ALPHABET = "ACDEFGHIKLMNPQRSTVWY"
THREE = ["ALA", "CYS", "ASP", "GLU", "PHE", "GLY", "HIS", "ILE", "LYS", "LEU",
         "MET", "ASN", "PRO", "GLN", "ARG", "SER", "THR", "VAL", "TRP", "TYR"]
BACKBONE = ["N", "CA", "C", "O"]   # atom14 slots 0..3
SPLITS = {"train": 0, "valid": 1, "test": 2}


def write_backbone_pdb(path, atom14, aa, resnum, icode):
    """One chain 'A': N, CA, C, O of every residue whose N, CA, C are present; residue names from
    aa (UNK for a non-standard one)."""
    lines, serial = [], 1
    for i in range(len(aa)):
        xyz = atom14[i]
        if not np.all(np.isfinite(xyz[:3])):
            continue
        name = THREE[aa[i]] if aa[i] < 20 else "UNK"
        ic = icode[i].decode() if isinstance(icode[i], bytes) else str(icode[i])
        for k, atom in enumerate(BACKBONE):
            if not np.all(np.isfinite(xyz[k])):
                continue
            x, y, z = (float(v) for v in xyz[k])
            lines.append("ATOM  %5d  %-3s %3s A%4d%1s   %8.3f%8.3f%8.3f  1.00  0.00           %s"
                         % (serial, atom, name, int(resnum[i]), ic[:1] or " ", x, y, z, atom[0]))
            serial += 1
    lines.append("TER")
    lines.append("END")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_file")
    ap.add_argument("dataset")
    ap.add_argument("outdir")
    ap.add_argument("--split", default="test", choices=sorted(SPLITS))
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--temperature", default="0")
    ap.add_argument("--np", type=int, default=2, help="MPI ranks for design")
    ap.add_argument("--build", default="build", help="build directory holding proteindiff")
    ap.add_argument("--set", action="append", default=[], help="passed to proteindiff as --set")
    args = ap.parse_args()

    bb_dir = os.path.join(args.outdir, "backbones")
    os.makedirs(bb_dir, exist_ok=True)
    native = {}
    with h5py.File(args.dataset, "r") as f:
        e, r = f["entries"], f["residues"]
        split = e["split"][:]
        train_aa = []
        for i in range(len(split)):
            off, n = int(e["residue_offset"][i]), int(e["length"][i])
            aa = r["aa"][off:off + n]
            if split[i] == SPLITS["train"]:
                train_aa.append(aa[aa < 20])
                continue
            if split[i] != SPLITS[args.split]:
                continue
            name = e["name"][i].decode()
            atom14 = r["atom14"][off:off + n]
            keep = np.all(np.isfinite(atom14[:, :3].reshape(n, -1)), axis=1)
            write_backbone_pdb(os.path.join(bb_dir, name + ".pdb"), atom14, aa, r["resnum"][off:off + n],
                               r["icode"][off:off + n])
            native[name] = aa[keep]
    comp = np.bincount(np.concatenate(train_aa), minlength=20).astype(np.float64)
    comp /= comp.sum()

    fasta, probs = os.path.join(args.outdir, "designs.fasta"), os.path.join(args.outdir, "probs.h5")
    cmd = ["mpirun", "-np", str(args.np), "--oversubscribe", os.path.join(args.build, "proteindiff"), "design",
           args.run_file, "--structure", bb_dir, "--out", fasta, "--probs", probs, "--samples", str(args.samples),
           "--temperatures", args.temperature]
    for s in args.set:
        cmd += ["--set", s]
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)

    # mean-distribution recovery and perplexity from the probabilities file
    hits = total = 0
    nll = 0.0
    comp_hits = comp_nll = 0.0
    with h5py.File(probs, "r") as f:
        P, valid = f["probs"][:], f["valid"][:]
        names = [n.decode() for n in f["entries/name"][:]]
        off, length = f["entries/residue_offset"][:], f["entries/length"][:]
        for k, name in enumerate(names):
            rows = slice(int(off[k]), int(off[k] + length[k]))
            p, v, nat = P[rows], valid[rows].astype(bool), native[name]
            p = p[v]
            if len(p) != len(nat):
                sys.exit("%s: %d residues designed, %d native with a backbone" % (name, len(p), len(nat)))
            std = nat < 20
            hits += int((p[std].argmax(axis=1) == nat[std]).sum())
            nll -= float(np.log(np.maximum(p[std, nat[std]], 1e-12)).sum())
            comp_hits += float((nat[std] == comp.argmax()).sum())
            comp_nll -= float(np.log(comp[nat[std]]).sum())
            total += int(std.sum())
    # per-sample recovery from the FASTA headers
    per_sample = []
    with open(fasta) as f:
        for line in f:
            if line.startswith(">") and "recovery=" in line:
                per_sample.append(float(line.split("recovery=")[1].split(",")[0]))
    summary = {
        "split": args.split, "entries": len(native), "residues": total, "samples": args.samples,
        "mean_distribution": {"recovery": hits / max(total, 1), "perplexity": math.exp(nll / max(total, 1))},
        "per_sample": {"temperature": float(args.temperature), "designs": len(per_sample),
                       "recovery": float(np.mean(per_sample)) if per_sample else None},
        "composition": {"recovery": comp_hits / max(total, 1), "perplexity": math.exp(comp_nll / max(total, 1))},
    }
    with open(os.path.join(args.outdir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print("backbone-only %s split: %d files, %d residues; mean-distribution recovery %.3f (perplexity %.2f); "
          "per-sample recovery at T=%s %.3f; composition %.3f (perplexity %.2f)"
          % (args.split, len(native), total, summary["mean_distribution"]["recovery"],
             summary["mean_distribution"]["perplexity"], args.temperature,
             summary["per_sample"]["recovery"] or 0.0, summary["composition"]["recovery"],
             summary["composition"]["perplexity"]))


if __name__ == "__main__":
    main()
