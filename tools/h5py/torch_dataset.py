#!/usr/bin/python3
"""torch_dataset.py — a PyTorch Dataset over a proteindiff dataset file (docs/dataset-format.md),
for training your own models on what `proteindiff featurize` wrote.

    import sys; sys.path.insert(0, "tools/h5py")
    from torch.utils.data import DataLoader
    from torch_dataset import ProteinDataset, pad_collate
    ds = ProteinDataset("runs/quickstart/dataset.h5", split="train")
    item = ds[0]      # one entry: name, sequence, aa (L,), backbone (L,4,3), atom_mask (L,4),
                      # mask (L,) valid backbone, cb (L,3), voxels (L,V,V,V) float32
    for batch in DataLoader(ds, batch_size=4, shuffle=True, collate_fn=pad_collate):
        batch["voxels"]       # (B, Lmax, V, V, V), zero-padded; batch["pad_mask"] (B, Lmax)

Coordinates are in A; missing atoms (NaN in the file) are 0 here, with atom_mask/mask saying
which are real. The HDF5 file is opened lazily in each process, so DataLoader workers
(num_workers > 0) each get their own handle. Run as a script: prints the first batch's shapes.
"""
import sys

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset

SPLITS = {"train": 0, "valid": 1, "test": 2}
LETTERS = "ACDEFGHIKLMNPQRSTVWYX"


class ProteinDataset(Dataset):
    """One item per entry (chain or assembly) of the dataset, optionally only one split."""

    def __init__(self, path, split=None, voxels=True, distogram=False):
        if split is not None and split not in SPLITS:
            raise ValueError("split must be one of %s or None, not %r" % (sorted(SPLITS), split))
        self.path, self.voxels, self.distogram = path, voxels, distogram
        with h5py.File(path, "r") as f:
            fmt = f.attrs.get("format", b"")
            fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
            if fmt != "proteindiff-dataset" or int(f.attrs.get("complete", 0)) != 1:
                raise ValueError("%s: not a complete proteindiff dataset" % path)
            self.names = f["entries/name"].asstr()[()]
            self.lengths = f["entries/length"][()].astype(np.int64)
            self.offsets = f["entries/residue_offset"][()]
            self.image_offsets = f["entries/distogram_offset"][()]
            splits = f["entries/split"][()]
        self.rows = np.arange(len(self.names)) if split is None else np.flatnonzero(splits == SPLITS[split])
        self._file = None

    def __len__(self):
        return len(self.rows)

    def _h5(self):
        if self._file is None:  # opened here, not in __init__, so each worker process has its own
            self._file = h5py.File(self.path, "r")
        return self._file

    def __getitem__(self, k):
        i = int(self.rows[k])
        f, L, r = self._h5(), int(self.lengths[i]), int(self.offsets[i])
        aa = f["residues/aa"][r:r + L].astype(np.int64)
        backbone = f["residues/atom14"][r:r + L, :4]
        cb = f["residues/cb"][r:r + L]
        item = {
            "name": self.names[i],
            "sequence": "".join(LETTERS[a] for a in aa),
            "aa": torch.from_numpy(aa),
            "backbone": torch.from_numpy(np.nan_to_num(backbone, nan=0.0)),
            "atom_mask": torch.from_numpy(~np.isnan(backbone).any(-1)),
            "mask": torch.from_numpy((f["residues/mask"][r:r + L] & 1) == 1),
            "cb": torch.from_numpy(np.nan_to_num(cb, nan=0.0)),
        }
        if self.voxels:
            item["voxels"] = torch.from_numpy(f["voxels/divergence"][r:r + L].astype(np.float32))
        if self.distogram:
            d = int(self.image_offsets[i])
            item["distogram"] = torch.from_numpy(f["distograms/data"][d:d + 3 * L * L].reshape(L, L, 3))
        return item


def pad_collate(items):
    """Batch entries of different lengths: per-residue tensors are zero-padded to the longest
    (distograms to Lmax x Lmax), pad_mask marks real residues, strings become lists."""
    Lmax = max(len(it["aa"]) for it in items)
    batch = {"pad_mask": torch.zeros(len(items), Lmax, dtype=torch.bool)}
    for b, it in enumerate(items):
        batch["pad_mask"][b, :len(it["aa"])] = True
    for key, value in items[0].items():
        if isinstance(value, str):
            batch[key] = [it[key] for it in items]
            continue
        shape = (len(items), Lmax) + tuple(value.shape[1:])
        if key == "distogram":
            shape = (len(items), Lmax, Lmax, 3)
        out = torch.zeros(shape, dtype=value.dtype)
        for b, it in enumerate(items):
            L = it[key].shape[0]
            if key == "distogram":
                out[b, :L, :L] = it[key]
            else:
                out[b, :L] = it[key]
        batch[key] = out
    return batch


if __name__ == "__main__":
    from torch.utils.data import DataLoader

    if len(sys.argv) != 2:
        sys.exit("usage: torch_dataset.py DATASET.h5")
    data = ProteinDataset(sys.argv[1])
    batch = next(iter(DataLoader(data, batch_size=min(4, len(data)), collate_fn=pad_collate)))
    print("%d entries; first batch: %s" % (len(data), ", ".join(batch["name"])))
    for key, value in batch.items():
        if torch.is_tensor(value):
            print("  %-10s %-14s %s" % (key, str(value.dtype).replace("torch.", ""), tuple(value.shape)))
