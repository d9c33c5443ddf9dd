#!/usr/bin/env python3
"""nn_train_reference.py — ten AdamW steps of a tiny model in PyTorch (llm.c's test_gpt2 idea),
for tests/nn/test_train.c: input Linear -> pre-LN transformer block (RoPE attention, GELU MLP)
-> Linear head -> cross-entropy with ignored (padded) positions. Warmup + cosine learning rate,
decoupled weight decay on >= 2-D tensors only, gradient clipping by global norm.
Writes initial weights, the ten batches, the per-step losses and the final weights to a tensor
bundle. Usage: nn_train_reference.py OUT.bin."""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from nn_bundle import Bundle  # noqa: E402
from nn_reference import PreLNBlock  # noqa: E402  (also writes nothing unless run as a script)

# RoPE covers the whole head here: with partial RoPE the key bias of the unrotated dims gets an
# exactly-zero gradient (softmax is shift invariant), and Adam turns its rounding noise into
# +-lr steps, which no two implementations can agree on. Partial RoPE is checked in nn_reference.py.
STEPS, BATCH, LEN, DIN, D, HEADS, MLP, ROPE, CLASSES = 10, 3, 9, 12, 32, 4, 64, 8, 7
LR, WARMUP, MIN_RATIO, WD, CLIP = 3e-3, 3, 0.1, 0.1, 0.5


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = torch.nn.Linear(DIN, D)
        self.block = PreLNBlock(D, HEADS, MLP, ROPE)
        self.head = torch.nn.Linear(D, CLASSES)

    def forward(self, x, pos, key_valid):
        return self.head(self.block(self.inp(x), pos, key_valid))


def lr_at(step):
    if step < WARMUP:
        return LR * (step + 1) / WARMUP
    progress = min(1.0, (step - WARMUP) / (STEPS - WARMUP))
    return LR * (MIN_RATIO + (1 - MIN_RATIO) * 0.5 * (1 + math.cos(math.pi * progress)))


def main(out_path):
    torch.manual_seed(77)
    model = Tiny()
    b = Bundle()
    for name, p in model.named_parameters():
        b.add(f"train.param.{name}", p)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=LR, betas=(0.9, 0.999), eps=1e-8)
    pos = torch.arange(LEN, dtype=torch.int32).repeat(BATCH, 1)
    lengths = [LEN, LEN - 3, 5]
    key_valid = torch.tensor([[1 if j < n else 0 for j in range(LEN)] for n in lengths], dtype=torch.uint8)
    b.add("train.pos", pos)
    b.add("train.key_valid", key_valid)
    losses = []
    for step in range(STEPS):
        x = torch.randn(BATCH, LEN, DIN)
        target = torch.randint(0, CLASSES, (BATCH, LEN), dtype=torch.int32)
        target[key_valid == 0] = -100
        b.add(f"train.x{step}", x)
        b.add(f"train.target{step}", target)
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        opt.zero_grad()
        logits = model(x, pos, key_valid)
        loss = F.cross_entropy(logits.reshape(-1, CLASSES), target.reshape(-1).long(), ignore_index=-100)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()
        losses.append(loss.item())
    b.add("train.losses", torch.tensor(losses))
    for name, p in model.named_parameters():
        b.add(f"train.final.{name}", p)
    b.write(out_path)


if __name__ == "__main__":
    main(sys.argv[1])
