#!/usr/bin/env python3
# features_ref.py — an independent numpy implementation of SPEC.md sections 1-4 for simple PDB
# files (its own PDB parser, altlocs by occupancy, charges read from the TSV), compared with what
# the C code produces (tests/features/dump_features --out). Exit 0 pass, 1 fail, 77 skip.
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

FILES = ["1bpi.pdb", "1CZP_A.pdb"]  # single chain, standard residues only; 1CZP_A has altlocs
AA = "ACDEFGHIKLMNPQRSTVWY"
THREE = {"ALA": "A", "CYS": "C", "ASP": "D", "GLU": "E", "PHE": "F", "GLY": "G", "HIS": "H", "ILE": "I",
         "LYS": "K", "LEU": "L", "MET": "M", "ASN": "N", "PRO": "P", "GLN": "Q", "ARG": "R", "SER": "S",
         "THR": "T", "VAL": "V", "TRP": "W", "TYR": "Y"}
# AlphaFold's restype_name_to_atom14_names (typed in again here, not shared with the C table).
ATOM14 = {
    "A": "N CA C O CB", "R": "N CA C O CB CG CD NE CZ NH1 NH2", "N": "N CA C O CB CG OD1 ND2",
    "D": "N CA C O CB CG OD1 OD2", "C": "N CA C O CB SG", "Q": "N CA C O CB CG CD OE1 NE2",
    "E": "N CA C O CB CG CD OE1 OE2", "G": "N CA C O", "H": "N CA C O CB CG ND1 CD2 CE1 NE2",
    "I": "N CA C O CB CG1 CG2 CD1", "L": "N CA C O CB CG CD1 CD2", "K": "N CA C O CB CG CD CE NZ",
    "M": "N CA C O CB CG SD CE", "F": "N CA C O CB CG CD1 CD2 CE1 CE2 CZ", "P": "N CA C O CB CG CD",
    "S": "N CA C O CB OG", "T": "N CA C O CB OG1 CG2", "W": "N CA C O CB CG CD1 CD2 NE1 CE2 CE3 CZ2 CZ3 CH2",
    "Y": "N CA C O CB CG CD1 CD2 CE1 CE2 CZ OH", "V": "N CA C O CB CG1 CG2"}
F32 = np.float32


def read_pdb(path):
    """First model, protein residues in file order: list of (resname, resnum, icode, {atom: xyz})."""
    residues, index, best_occ = [], {}, {}
    with open(path) as f:
        for line in f:
            if line.startswith("ENDMDL"):
                break
            if not line.startswith(("ATOM  ", "HETATM")):
                continue
            name, resname = line[12:16].strip(), line[17:20]
            element = line[76:78].strip() if len(line) > 77 else ""
            if resname not in THREE or element in ("H", "D") or (not element and name.startswith("H")):
                continue
            key = (line[21], int(line[22:26]), line[26])
            if key not in index:
                index[key] = len(residues)
                residues.append((resname, key[1], key[2], {}))
            atoms = residues[index[key]][3]
            occ = float(line[54:60])
            if name in atoms and not occ > best_occ[(key, name)]:
                continue  # keep the highest occupancy, the first on a tie
            best_occ[(key, name)] = occ
            atoms[name] = np.array([float(line[30:38]), float(line[38:46]), float(line[46:54])])
    return residues


def read_charges(path):
    q = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#") or line.startswith("residue\t") or not line.strip():
                continue
            res, atom, charge = line.split()
            q[(res, atom)] = float(charge)
    return q


def read_dump(path):
    entries = []
    with open(path, "rb") as f:
        assert f.readline() == b"PDFEATS1\n"
        while True:
            header = f.readline()
            if not header:
                break
            _, name, L, V = header.decode().split()
            L, V = int(L), int(V)

            def take(dtype, n):
                return np.frombuffer(f.read(np.dtype(dtype).itemsize * n), dtype=dtype)

            e = {"name": name, "L": L, "V": V, "aa": take("u1", L), "chain": take("u1", L),
                 "resnum": take("<i4", L), "icode": take("u1", L), "mask": take("u1", L),
                 "atom14": take("<f4", L * 42).reshape(L, 14, 3), "cb": take("<f4", L * 3).reshape(L, 3),
                 "dist": take("u1", L * L * 3).reshape(L, L, 3),
                 "vox": take("<f2", L * V ** 3).astype(np.float64).reshape(L, V, V, V)}
            entries.append(e)
    return entries


# ---- SPEC section 2/3 in float32 (numpy keeps float32 through these expressions)
def unit(v):
    n = np.sqrt(v[..., 0] * v[..., 0] + v[..., 1] * v[..., 1] + v[..., 2] * v[..., 2])[..., None]
    return np.where(n == 0, F32(0), v / np.where(n == 0, F32(1), n))


def dot(a, b):
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1] + a[..., 2] * b[..., 2]


def dihedral(a, b, c, d):
    b0, b1, b2 = a - b, unit(c - b), d - c
    v = b0 - dot(b0, b1)[..., None] * b1
    w = b2 - dot(b2, b1)[..., None] * b1
    return np.arctan2(dot(np.cross(b1, v), w), dot(v, w))


def angle(a, b, c):
    return np.arccos(np.clip(dot(unit(a - b), unit(c - b)), F32(-1), F32(1)))


def virtual_cb(n, ca, c):
    b, cc = ca - n, c - ca
    a = np.cross(b, cc)
    return F32(-0.58273431) * a + F32(0.56802827) * b - F32(0.54067466) * cc + ca


def distogram_values(n, ca, cb, valid):
    """Pre-truncation pixel values (float32) of the L x L x 3 image."""
    L = len(cb)
    I, J = np.meshgrid(np.arange(L), np.arange(L), indexing="ij")
    d = np.sqrt(dot(cb[J] - cb[I], cb[J] - cb[I]))
    use = (I != J) & valid[I] & valid[J] & (d <= F32(80))
    with np.errstate(invalid="ignore", divide="ignore"):
        omega = np.nan_to_num(dihedral(ca[I], cb[I], cb[J], ca[J]))
        theta = np.nan_to_num(dihedral(n[I], ca[I], cb[I], cb[J]))
        phi = np.nan_to_num(angle(ca[I], cb[I], cb[J]))
    d = np.where(use, d, F32(80))
    omega, theta, phi = (np.where(use, x, F32(0)) for x in (omega, theta, phi))
    pi = F32(np.pi)
    red = np.where(I < J, omega / pi, d / F32(80) * F32(2) - F32(1))
    chans = [red, theta / pi, phi / pi * F32(2) - F32(1)]
    return np.stack([(x + F32(1)) / F32(2) * F32(255) for x in chans], axis=-1).astype(np.float32)


# ---- SPEC section 4 in float64, in the global frame, projected afterwards
def voxel(resname, atoms, n, ca, c, cb, charges, V=16, cell=0.75):
    n, ca, c, cb = (x.astype(np.float64) for x in (n, ca, c, cb))
    y = (cb - ca) / np.linalg.norm(cb - ca)
    xr = (c - n) - np.dot(c - n, y) * y
    x = xr / np.linalg.norm(xr)
    z = np.cross(x, y)
    idx = np.arange(V)
    li, lj, lk = np.meshgrid(cell * (idx - V // 2), cell * (idx - V // 4), cell * (idx - V // 2), indexing="ij")
    p = cb + li[..., None] * x + lj[..., None] * y + lk[..., None] * z
    E = np.zeros(p.shape)
    amber = "HIE" if resname == "HIS" else resname
    for name, r in atoms.items():
        q = charges.get((amber, name))
        if q is None:
            continue
        dvec = p - r
        dist = np.linalg.norm(dvec, axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            contrib = q * dvec / (dist * np.maximum(dist, cell) ** 2)[..., None]
        contrib[dist == 0] = 0
        E += contrib
    local = np.stack([E @ x, E @ y, E @ z], axis=-1)
    norm = np.linalg.norm(local, axis=-1, keepdims=True)
    u = np.where(norm < 1e-12, 0.0, local / np.where(norm < 1e-12, 1.0, norm))
    return (np.gradient(u[..., 0], cell, axis=0) + np.gradient(u[..., 1], cell, axis=1) +
            np.gradient(u[..., 2], cell, axis=2))


def main():
    builddir, shared = os.environ.get("top_builddir"), os.environ.get("PD_SHARED")
    if not builddir or not shared:
        print("skip: run through make check (top_builddir, PD_SHARED)")
        return 77
    dump = os.path.join(builddir, "tests", "features", "dump_features")
    charges = read_charges(os.path.join(shared, "data", "ff19SB_united_atom.tsv"))
    failures = 0
    for fname in FILES:
        path = os.path.join(shared, "data", "pdb", fname)
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "dump.bin")
            subprocess.run([dump, "--min-len", "1", "--out", out, path], check=True, stdout=subprocess.DEVNULL)
            entries = read_dump(out)
        residues = read_pdb(path)
        if len(entries) != 1 or entries[0]["L"] != len(residues):
            print(f"FAIL {fname}: C gave {[(e['name'], e['L']) for e in entries]}, reference {len(residues)} residues")
            failures += 1
            continue
        e, L = entries[0], len(residues)
        # Section 1: sequence, numbering, atom14 (altloc choice included), masks.
        aa_ref = np.array([AA.index(THREE[r[0]]) for r in residues])
        atom14 = np.full((L, 14, 3), np.nan, dtype=np.float32)
        mask = np.zeros(L, dtype=np.uint8)
        for i, (resname, _, _, atoms) in enumerate(residues):
            names = ATOM14[THREE[resname]].split()
            for s, name in enumerate(names):
                if name in atoms:
                    atom14[i, s] = atoms[name]
            mask[i] = (all(a in atoms for a in ("N", "CA", "C")) * 1 + ("O" in atoms) * 2 +
                       all(a in atoms for a in names[4:]) * 4)
        checks = [
            ("aa", np.array_equal(e["aa"], aa_ref)),
            ("resnum", np.array_equal(e["resnum"], [r[1] for r in residues])),
            ("icode", bytes(e["icode"]).decode() == "".join(r[2] for r in residues)),
            ("mask", np.array_equal(e["mask"], mask)),
            ("atom14", np.array_equal(np.isnan(e["atom14"]), np.isnan(atom14)) and
             np.allclose(np.nan_to_num(e["atom14"]), np.nan_to_num(atom14), atol=0, rtol=0)),
        ]
        valid = (mask & 1).astype(bool)
        n, ca, c = atom14[:, 0], atom14[:, 1], atom14[:, 2]
        cb = virtual_cb(n, ca, c)
        checks.append(("cb", np.array_equal(e["cb"][valid], cb[valid])))
        # Section 3: pixels equal, except where float32 rounding sits within 1e-3 of a pixel edge.
        values = distogram_values(n, ca, np.where(valid[:, None], cb, F32(0)), valid)
        expected = np.clip(values, 0, 255).astype(np.uint8)
        differ = e["dist"] != expected
        near_edge = np.abs(values - np.round(values)) < 1e-3
        unexplained = int(np.sum(differ & ~near_edge))
        checks.append(("distogram", unexplained == 0 and int(differ.sum()) <= max(3, differ.size // 10000)))
        sentinel_ok = np.all(e["dist"][np.arange(L), np.arange(L)] == [255, 127, 0])
        checks.append(("diagonal sentinel", bool(sentinel_ok)))
        # Section 4: divergence against the float64 global-frame computation.
        worst, bad, total = 0.0, 0, 0
        for i, (resname, _, _, atoms) in enumerate(residues):
            if not valid[i]:
                bad += int(np.count_nonzero(e["vox"][i]))
                continue
            ref = voxel(resname, atoms, n[i], ca[i], c[i], cb[i], charges)
            err = np.abs(e["vox"][i] - ref)
            tol = 1e-2 + 4e-3 * np.abs(ref)
            bad += int(np.sum(err > tol))
            total += ref.size
            worst = max(worst, float(err.max()))
        checks.append(("voxels", bad <= total // 1000))
        for what, ok in checks:
            if not ok:
                failures += 1
        print(f"{fname}: L={L} distogram pixels differing {int(differ.sum())} of {differ.size} "
              f"({unexplained} away from an edge); voxel cells beyond tolerance {bad} of {total}, "
              f"max |diff| {worst:.3g}; " + ", ".join(f"{w} {'ok' if ok else 'FAIL'}" for w, ok in checks))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
