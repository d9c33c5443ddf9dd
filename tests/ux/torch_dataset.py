"""torch_dataset.py — tools/h5py/torch_dataset.py on a real featurized dataset: items carry the
entry's backbone, sequence, masks and float32 voxels equal to read_dataset.py's arrays; split
filtering follows /entries/split; a DataLoader (num_workers=0) with pad_collate batches entries
of different lengths with zero padding and a correct pad_mask; a bad split name is refused."""
import os
import sys

import numpy as np
import torch
from torch.utils.data import DataLoader

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from uxdata import TOOLS, check, featurize, finish, scratch  # noqa: E402

sys.path.insert(0, os.path.join(TOOLS, "h5py"))
from read_dataset import entry, load  # noqa: E402
from torch_dataset import ProteinDataset, pad_collate  # noqa: E402

with scratch() as tmp:
    data = featurize(["1CRN.cif", "1bpi.pdb", "1ctf.pdb.gz", "4hhb.pdb.gz"], tmp)
    ref = load(data)
    n = len(ref["entries/name"])
    ds = ProteinDataset(data, distogram=True)
    check(len(ds) == n, "one item per entry (%d)" % n)
    for k in range(n):
        it, e = ds[k], entry(ref, k)
        L = e["length"]
        same = (it["name"] == e["name"] and it["sequence"] == e["sequence"]
                and torch.equal(it["aa"], torch.from_numpy(e["aa"].astype(np.int64)))
                and torch.equal(it["voxels"], torch.from_numpy(e["voxels"]))
                and it["voxels"].dtype == torch.float32
                and torch.equal(it["distogram"], torch.from_numpy(e["distogram"])))
        check(same, "%s: name, sequence, aa, voxels (float32), distogram equal read_dataset's" % e["name"])
        bb = e["backbone"]
        check(it["backbone"].shape == (L, 4, 3) and torch.equal(it["atom_mask"], torch.from_numpy(~np.isnan(bb).any(-1)))
              and np.allclose(it["backbone"].numpy(), np.nan_to_num(bb)) and not torch.isnan(it["backbone"]).any(),
              "%s: backbone (L,4,3) without NaN, atom_mask marks the missing atoms" % e["name"])
        check(torch.equal(it["mask"], torch.from_numpy((e["mask"] & 1) == 1)), "%s: mask = valid-backbone bit" % e["name"])

    splits = ref["entries/split"]
    for name, code in (("train", 0), ("valid", 1), ("test", 2)):
        part = ProteinDataset(data, split=name, voxels=False)
        want = [ref["entries/name"][i] for i in np.flatnonzero(splits == code)]
        check([part[k]["name"] for k in range(len(part))] == want, "split=%s gives its %d entries" % (name, len(want)))
        check(len(part) == 0 or "voxels" not in part[0], "voxels=False leaves voxels out")

    loader = DataLoader(ds, batch_size=3, shuffle=False, num_workers=0, collate_fn=pad_collate)
    seen = 0
    for batch in loader:
        B, Lmax = batch["pad_mask"].shape
        lengths = [len(s) for s in batch["sequence"]]
        check(Lmax == max(lengths) and batch["pad_mask"].sum(1).tolist() == lengths, "batch of %d: pad_mask matches lengths %s" % (B, lengths))
        check(batch["voxels"].shape[:2] == (B, Lmax) and batch["distogram"].shape == (B, Lmax, Lmax, 3), "padded shapes")
        for b in range(B):
            item = ds[seen + b]
            L = lengths[b]
            check(torch.equal(batch["voxels"][b, :L], item["voxels"]) and not batch["voxels"][b, L:].any()
                  and not batch["aa"][b, L:].any(), "%s: padded copy equals the item, zeros after L" % item["name"])
        seen += B
    check(seen == n, "the loader visits every entry once (%d)" % seen)
    try:
        ProteinDataset(data, split="training")
        check(False, "bad split name refused")
    except ValueError as err:
        check("split must be one of" in str(err), "bad split name refused")
finish()
