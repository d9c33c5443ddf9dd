#!/usr/bin/env python3
# make_small.py [PD_SHARED] — regenerates the small committed files of this broken-input
# corpus from the real structures in PD_SHARED/data/pdb (1BPI, 1CRN, 1BC8) and a fixed random
# seed. The big cases (a 100k-atom assembly, a 1 MB line) are made at test time by
# tests/hardening/broken_inputs.sh. EXPECTED.tsv says what featurize must make of each file.
import gzip, os, random, sys

shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../../../shared")
pdb = os.path.join(shared, "data", "pdb")
out = os.path.dirname(os.path.abspath(__file__))


def write(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def gz(data):
    return gzip.compress(data if isinstance(data, bytes) else data.encode(), 9, mtime=0)


atoms = [l for l in open(os.path.join(pdb, "1bpi.pdb")).read().splitlines() if l.startswith("ATOM")]
resnum = lambda l: int(l[22:26])
bpi20 = [l for l in atoms if resnum(l) <= 20]
text20 = "\n".join(bpi20) + "\n"
crn = open(os.path.join(pdb, "1CRN.cif")).read().splitlines(keepends=True)
crn150, n = [], 0
for l in crn:
    crn150.append(l)
    if l.startswith("ATOM"):
        n += 1
        if n == 150:
            break
crn150 = "".join(crn150)


def set_col(line, start, end, text):  # PDB columns are 1-based inclusive
    return line[:start - 1] + text.rjust(end - start + 1) + line[end:]


def chain(lines, cid):
    return [set_col(l, 22, 22, cid) for l in lines]


# Empty, blank, garbage, truncated.
write("empty.pdb", "")
write("whitespace.cif", "   \n\t\n\n   \r\n")
write("garbage.pdb", random.Random(12).randbytes(4096))
write("truncated-mid-atom.pdb", "\n".join(bpi20[:100]) + "\n" + bpi20[100][:40])
write("truncated-mid-loop.cif", crn150 + "ATOM 151 C CA . ILE A 1 ")
write("truncated-stream.pdb.gz", gz(text20)[:1500])
# Wrong extensions (the format is detected from the content).
write("mmcif-named.pdb", crn150)
write("pdb-named.cif", text20)
write("gzip-named.pdb", gz(text20))
write("double-gzip.pdb.gz", gz(gz(text20)))
write("empty.pdb.gz", gz(""))
write("garbage.cif.gz", gz(random.Random(13).randbytes(2048)))
# Not protein, or no usable backbone.
write("ca-only.pdb", "\n".join(l for l in atoms if l[12:16] == " CA ") + "\n")
na = [l for l in open(os.path.join(pdb, "1BC8.pdb")).read().splitlines()
      if l.startswith(("ATOM", "HETATM")) and l[17:20].strip() in ("DA", "DC", "DG", "DT", "A", "C", "G", "U")]
write("nucleic-only.pdb", "\n".join(na[:120]) + "\n")
write("no-n-chain.pdb", "\n".join(l for l in bpi20 if l[12:16] != " N  ") + "\n")
write("ligands-only.pdb",
      "HETATM    1  S   SO4 A 101      10.000  10.000  10.000  1.00 20.00           S\n"
      "HETATM    2  O1  SO4 A 101      11.000  10.000  10.000  1.00 20.00           O\n"
      "HETATM    3  O   HOH A 201      15.000  12.000   9.000  1.00 20.00           O\n")
write("header-only.pdb", "HEADER    HYDROLASE INHIBITOR                     01-JAN-00   XXXX\nREMARK   2 NOTHING ELSE\nEND\n")
# One-residue chains: ARG 1 as A, PRO 2 as B, GLY 12 without its O as C.
one = chain([l for l in bpi20 if resnum(l) == 1], "A") + chain([l for l in bpi20 if resnum(l) == 2], "B") + \
      chain([l for l in bpi20 if resnum(l) == 12 and l[12:16] != " O  "], "C")
write("one-residue-chains.pdb", "\n".join(one) + "\n")
# Non-finite and huge coordinates (PDB columns): nan in residue 5's CA x, residue 7 all y,
# 1e30 in residue 9's N; chain B is three residues with every coordinate nan.
bad = []
for l in bpi20:
    r, name = resnum(l), l[12:16]
    if r == 5 and name == " CA ":
        l = set_col(l, 31, 38, "nan")
    if r == 7:
        l = set_col(l, 39, 46, "NaN")
    if r == 9 and name == " N  ":
        l = set_col(l, 31, 38, "1e30")
    bad.append(l)
for l in bpi20:
    if 14 <= resnum(l) <= 16:
        l = set_col(set_col(set_col(l, 31, 38, "nan"), 39, 46, "nan"), 47, 54, "nan")
        bad.append(set_col(l, 22, 22, "B"))
write("nan-coords.pdb", "\n".join(bad) + "\n")
# mmCIF with 1e30 (residue 3), 1e300 (beyond float, residue 4), inf (residue 5), -1e38 (residue 6).
def cif_row(i, l, x=None, y=None, z=None, asym="A", seq=None):
    r = resnum(l)
    return "ATOM %d %s %s . %s %s %d %s %s %s 1.00 10.00 %s %s 1" % (
        i + 1, l[76:78].strip(), l[12:16].strip(), l[17:20], asym[:4].replace("/", "x").replace(".", "x"), r,
        x or l[30:38].strip(), y or l[38:46].strip(), z or l[46:54].strip(), seq or str(r), asym)


rows = []
for i, l in enumerate(bpi20):
    r, name = resnum(l), l[12:16]
    rows.append(cif_row(i, l, x="1e30" if r == 3 else "-1e38" if (r == 6 and name == " C  ") else None,
                        y="1e300" if (r == 4 and name == " CA ") else None, z="inf" if r == 5 else None))
cif_head = "data_huge\nloop_\n" + "".join("_atom_site.%s\n" % c for c in (
    "group_PDB", "id", "type_symbol", "label_atom_id", "label_alt_id", "label_comp_id", "label_asym_id", "label_seq_id",
    "Cartn_x", "Cartn_y", "Cartn_z", "occupancy", "B_iso_or_equiv", "auth_seq_id", "auth_asym_id",
    "pdbx_PDB_model_num"))
write("huge-coords.cif", cif_head + "\n".join(rows) + "\n")
# Duplicate atoms (every line twice) and overlapping atoms (N, C and CB of residues 3-5 put
# exactly on CA: the virtual CB then is CA, so charged atoms sit exactly at a voxel point).
write("duplicate-atoms.pdb", "".join(l + "\n" + l + "\n" for l in bpi20))
ov = []
ca = {resnum(l): l[30:54] for l in bpi20 if l[12:16] == " CA "}
for l in bpi20:
    if 3 <= resnum(l) <= 5 and l[12:16] in (" N  ", " C  ", " CB "):
        l = l[:30] + ca[resnum(l)] + l[54:]
    ov.append(l)
write("overlapping-atoms.pdb", "\n".join(ov) + "\n")
# Odd encodings: CRLF line ends, NUL bytes inside a line.
write("crlf.pdb", "\r\n".join(bpi20) + "\r\n")
write("nul-bytes.pdb", ("\n".join(bpi20[:50]) + "\n" + bpi20[50][:20] + "\0\0\0" + bpi20[50][23:] + "\n"
                        + "\n".join(bpi20[51:]) + "\n"))
# mmCIF chain ids: 40 characters (longer than an entry name has room for) and a path ("../../escape").
rows_long = [cif_row(i, l, asym="L" * 40) for i, l in enumerate(bpi20[:40])]
rows_path = [cif_row(40 + i, l, asym="../../escape") for i, l in enumerate(bpi20[:40])]
write("odd-chain-ids.cif", cif_head + "\n".join(rows_long + rows_path) + "\n")
# Residue numbers beyond 32 bits and an atom_site loop without coordinates.
write("huge-resnum.cif", cif_head + "\n".join(cif_row(i, l, seq="99999999999") for i, l in enumerate(bpi20[:40])) + "\n")
write("no-coordinates.cif", "data_x\nloop_\n_atom_site.group_PDB\n_atom_site.id\n_atom_site.label_atom_id\n"
      "_atom_site.label_comp_id\n_atom_site.auth_asym_id\n_atom_site.auth_seq_id\nATOM 1 N ALA A 1\nATOM 2 CA ALA A 1\n")
