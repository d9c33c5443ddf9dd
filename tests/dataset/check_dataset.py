"""check_dataset.py — h5py/zlib helpers for the dataset shell tests (not a test by itself):

  compare A.h5 B.h5          every dataset's bytes and every root attribute but `config` equal
  png DIR DATASET.h5         every PNG decodes (own zlib/filter decoder) to the stored image
  fasta FILE DATASET.h5      one record per entry; header, length and letters match
  corrupt IN.h5 OUT.h5       copy IN with the last entry's residue_offset moved past the end
"""
import shutil
import struct
import sys
import zlib

import h5py
import numpy as np


def datasets(f):
    out = {}
    f.visititems(lambda n, o: out.__setitem__(n, o) if isinstance(o, h5py.Dataset) else None)
    return out


def compare(a_path, b_path):
    a, b = h5py.File(a_path, "r"), h5py.File(b_path, "r")
    da, db = datasets(a), datasets(b)
    bad = 0
    if sorted(da) != sorted(db):
        print("dataset lists differ:", sorted(set(da) ^ set(db)))
        return 1
    for name in sorted(da):
        x, y = da[name][()], db[name][()]
        if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
            print("differs:", name, x.dtype, x.shape, y.dtype, y.shape)
            bad += 1
    for key in a.attrs:
        if key != "config" and not np.array_equal(a.attrs[key], b.attrs[key]):
            print("attribute differs:", key)
            bad += 1
    print("compared %d datasets of %s and %s: %d differ" % (len(da), a_path, b_path, bad))
    return 1 if bad else 0


def png_pixels(path):
    """Decode an 8-bit RGB non-interlaced PNG with zlib and the five PNG filters."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    assert depth == 8 and ctype == 2 and interlace == 0, "expected 8-bit RGB"
    raw = zlib.decompress(idat)
    stride, bpp = w * 3, 3
    img = np.zeros((h, stride), dtype=np.int64)
    prev = np.zeros(stride, dtype=np.int64)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)], dtype=np.uint8).astype(np.int64)
        cur = np.zeros(stride, dtype=np.int64)
        for x in range(stride):
            left = cur[x - bpp] if x >= bpp else 0
            up = prev[x]
            ul = prev[x - bpp] if x >= bpp else 0
            if f == 0:
                pred = 0
            elif f == 1:
                pred = left
            elif f == 2:
                pred = up
            elif f == 3:
                pred = (left + up) // 2
            else:
                p = left + up - ul
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - ul)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else ul)
            cur[x] = (line[x] + pred) & 255
        img[y] = cur
        prev = cur
    return w, h, img.reshape(h, w, 3).astype(np.uint8)


def length_bin(L):
    if L < 40:
        return 1, 39
    if L <= 64:
        return 40, 64
    lo = 65 + 64 * ((L - 65) // 64)
    return lo, lo + 63


def check_png(folder, ds_path):
    f = h5py.File(ds_path, "r")
    names = f["entries/name"].asstr()[()]
    lengths = f["entries/length"][()]
    offs = f["entries/distogram_offset"][()]
    data = f["distograms/data"]
    bad = 0
    for name, L, off in zip(names, lengths, offs):
        lo, hi = length_bin(int(L))
        w, h, img = png_pixels("%s/bin_%d_%d/%s.png" % (folder, lo, hi, name))
        want = data[off:off + 3 * L * L].reshape(L, L, 3)
        if (w, h) != (L, L) or not np.array_equal(img, want):
            print("PNG differs from the dataset:", name)
            bad += 1
        # SPEC section 3 sentinel: the diagonal is R = 255, G = 127, B = 0.
        if tuple(img[0, 0]) != (255, 127, 0):
            print("diagonal pixel of", name, "is", tuple(img[0, 0]), "not the sentinel (255, 127, 0)")
            bad += 1
    print("checked %d PNGs: %d bad" % (len(names), bad))
    return 1 if bad else 0


def check_fasta(path, ds_path):
    f = h5py.File(ds_path, "r")
    names = f["entries/name"].asstr()[()]
    sources = f["entries/source"].asstr()[()]
    lengths = f["entries/length"][()]
    offs = f["entries/residue_offset"][()]
    aa, chain = f["residues/aa"][()], f["residues/chain"][()]
    lines = open(path).read().split("\n")
    records = [(lines[i], lines[i + 1]) for i in range(0, len(lines) - 1, 2)]
    bad = 0 if len(records) == len(names) else 1
    letters = "ACDEFGHIKLMNPQRSTVWYX"
    for (head, seq), name, src, L, off in zip(records, names, sources, lengths, offs):
        want_head = ">%s length=%d source=%s" % (name, L, src)
        parts = []
        for r in range(off, off + L):
            if r > off and chain[r] != chain[r - 1]:
                parts.append("/")
            parts.append(letters[aa[r]])
        if head != want_head or seq != "".join(parts):
            print("FASTA record differs:", head, "vs", want_head)
            bad += 1
    print("checked %d FASTA records: %d bad" % (len(records), bad))
    return 1 if bad else 0


def corrupt(src, dst):
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        off = f["entries/residue_offset"]
        R = f["residues/aa"].shape[0]
        off[-1] = R + 10
    return 0


if __name__ == "__main__":
    cmd = sys.argv[1]
    fn = {"compare": compare, "png": check_png, "fasta": check_fasta, "corrupt": corrupt}[cmd]
    sys.exit(fn(*sys.argv[2:]))
