#!/usr/bin/env python3
# make_big_inputs.py PD_SHARED OUTDIR — the broken-input cases too big to commit, made at test
# time: a 100k-atom assembly (221 translated copies of 1BPI's chain as mmCIF chains C1..C221)
# and a PDB file whose first line is 1 MB long.
import os, sys

shared, out = sys.argv[1], sys.argv[2]
atoms = [l for l in open(os.path.join(shared, "data", "pdb", "1bpi.pdb")).read().splitlines() if l.startswith("ATOM")]
cols = ("group_PDB", "id", "type_symbol", "label_atom_id", "label_alt_id", "label_comp_id", "label_asym_id",
        "label_seq_id", "Cartn_x", "Cartn_y", "Cartn_z", "occupancy", "B_iso_or_equiv", "auth_seq_id",
        "auth_asym_id", "pdbx_PDB_model_num")
rows, serial = [], 0
for copy in range(221):
    dx, dy, dz = 45.0 * (copy % 8), 45.0 * (copy // 8 % 8), 45.0 * (copy // 64)
    cid = "C%d" % (copy + 1)
    for l in atoms:
        serial += 1
        r = int(l[22:26])
        rows.append("ATOM %d %s %s . %s %s %d %.3f %.3f %.3f 1.00 20.00 %d %s 1" % (
            serial, l[76:78].strip(), l[12:16].strip(), l[17:20], cid, r, float(l[30:38]) + dx,
            float(l[38:46]) + dy, float(l[46:54]) + dz, r, cid))
with open(os.path.join(out, "assembly-100k.cif"), "w") as f:
    f.write("data_assembly\nloop_\n" + "".join("_atom_site.%s\n" % c for c in cols) + "\n".join(rows) + "\n")
with open(os.path.join(out, "long-line.pdb"), "w") as f:
    f.write("REMARK " + "x" * (1 << 20) + "\n" + "\n".join(atoms) + "\n")
print(serial)
