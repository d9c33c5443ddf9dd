#!/usr/bin/python3
"""read_tokens.py — load the structure tokens `proteindiff tokenize` writes (docs/tokens-format.md)
into numpy: per entry, one g x g grid of code indices per level, g = ceil(L / 2^(level+1)).

    import sys; sys.path.insert(0, "tools/h5py")
    from read_tokens import load_tokens, entry_tokens, code_vectors
    tok = load_tokens("tokens.h5")
    grids = entry_tokens(tok, 0)            # [level 0 (finest) ..]: int32 (g_l, g_l) code indices
    vecs = code_vectors(tok, 0, level=0)    # float32 (g_0, g_0, latent_dim), from the stored codebook
    tok["names"], tok["dataset_index"]      # entry i is entry dataset_index[i] of the dataset

Run as a script it prints each entry's grid sizes and its reconstruction RMSD:
    tools/h5py/read_tokens.py tokens.h5
"""
import sys

import h5py


def _text(v):
    return v.decode() if isinstance(v, bytes) else v


def load_tokens(path):
    """Attributes and per-entry tables in memory; token arrays and codebooks lazy."""
    f = h5py.File(path, "r")
    attrs = {k: _text(v) for k, v in f.attrs.items()}
    if attrs.get("format") != "proteindiff-tokens" or int(attrs.get("complete", 0)) != 1:
        f.close()
        raise ValueError("%s: not a complete proteindiff tokens file (format attribute %r, complete %r)"
                         % (path, attrs.get("format"), attrs.get("complete")))
    levels = int(attrs["levels"])
    return {"file": f, "attrs": attrs, "levels": levels,
            "names": f["entries/name"].asstr()[()],
            "dataset_index": f["entries/dataset_index"][()],
            "lengths": f["entries/length"][()],
            "split": f["entries/split"][()],
            "offsets": [f["entries/token_offset_%d" % l][()] for l in range(levels)],
            "tokens": [f["tokens/level_%d" % l] for l in range(levels)],
            "codebooks": [f["codebooks/level_%d" % l] for l in range(levels)]}


def entry_tokens(tok, i):
    """Entry i's code grids, finest level first: int32 arrays of shape (g_l, g_l)."""
    L, grids = int(tok["lengths"][i]), []
    for level in range(tok["levels"]):
        g = -(-L // 2 ** (level + 1))
        o = tok["offsets"][level]
        grids.append(tok["tokens"][level][o[i]:o[i + 1]].reshape(g, g))
    return grids


def code_vectors(tok, i, level):
    """Entry i's codes at one level replaced by their codebook vectors: (g, g, latent_dim)."""
    return tok["codebooks"][level][()][entry_tokens(tok, i)[level]]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: read_tokens.py TOKENS.h5")
    tok = load_tokens(sys.argv[1])
    a = tok["attrs"]
    rmsd = tok["file"]["entries/mds_cb_rmsd"][()]
    for i, name in enumerate(tok["names"]):
        sizes = " ".join("%dx%d" % g.shape for g in entry_tokens(tok, i))
        print("%-24s L=%4d grids %-20s C-beta RMSD after decoding %.2f A" % (name, tok["lengths"][i], sizes, rmsd[i]))
    print("%d entries, %d levels of %s codes (dim %s), checkpoint %s"
          % (len(tok["names"]), tok["levels"], a["codebook"], a["latent_dim"], a["checkpoint"]))
