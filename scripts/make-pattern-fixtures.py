#!/usr/bin/env python3
"""Reference values for RNNKit's sequence-level heads and weighted cross-entropy, by PyTorch autograd in float64.

Run by hand from the repository root:
    .perf-venv/bin/python scripts/make-pattern-fixtures.py
It writes Tests/RNNKitTests/Fixtures/training/patterns.txt, read by SequencePatternTests.swift, in the
format of scripts/make-training-fixtures.py: for each tensor a line `tensor <name> <count>`, then one
line of `count` values printed with '%.9g'. Inputs and weights are rounded to 4 decimals first, so
the values Swift reads are exactly the values PyTorch used.

Cases:
  ce.*               CrossEntropyLoss(weight=w, label_smoothing=0.1, ignore_index=-100) over [T, B, C]
                     logits with a lengths mask (positions past a length are set to the ignore index).
  <head>.*           for head in last_step, mean_pool, max_pool: a feature model
                     x [T, B, I] -> nn.LSTM(I, H, num_layers=2, bidirectional=True) over packed sequences
                     -> pooled (B, 2H) -> nn.Linear(2H, C) -> the weighted, smoothed loss above;
                     the loss, the logits, and the gradients of x and of every parameter.
"""
import os
from importlib.machinery import SourceFileLoader

import torch
import torch.nn as nn
import torch.nn.functional as F

# The Writer (same format, same folder) and the 4-decimal rounding of the training fixtures.
training_fixtures = SourceFileLoader(
    "training_fixtures", os.path.join(os.path.dirname(os.path.abspath(__file__)), "make-training-fixtures.py")).load_module()
Writer, rounded = training_fixtures.Writer, training_fixtures.rounded

torch.set_default_dtype(torch.float64)
T, B, I, H, C = 5, 3, 3, 4, 3
LENGTHS = [5, 3, 2]
WEIGHTS = [1.0, 2.0, 0.5]
SMOOTHING = 0.1


def weighted_loss(logits, targets):
    return F.cross_entropy(logits, targets, weight=torch.tensor(WEIGHTS), label_smoothing=SMOOTHING, ignore_index=-100)


def cross_entropy_case(w):
    gen = torch.Generator().manual_seed(7)
    logits = rounded(torch.randn(T, B, C, generator=gen) * 2).requires_grad_()
    targets = torch.randint(0, C, (T, B), generator=gen)
    targets[1, 2] = -100
    masked = targets.clone()
    for b, n in enumerate(LENGTHS):
        masked[n:, b] = -100
    loss = weighted_loss(logits.reshape(-1, C), masked.reshape(-1))
    loss.backward()
    w.tensor("ce.shape", [T, B, C])
    w.tensor("ce.logits", logits)
    w.tensor("ce.targets", targets)
    w.tensor("ce.lengths", LENGTHS)
    w.tensor("ce.weights", WEIGHTS)
    w.tensor("ce.smoothing", [SMOOTHING])
    w.tensor("ce.loss", [loss.item()])
    w.tensor("ce.grad", logits.grad)


def head_case(w, head):
    gen = torch.Generator().manual_seed(11)
    rnn = nn.LSTM(I, H, num_layers=2, bidirectional=True)
    linear = nn.Linear(2 * H, C)
    with torch.no_grad():
        for p in list(rnn.parameters()) + list(linear.parameters()):
            p.copy_(rounded(torch.rand(p.shape, generator=gen) * 1.6 - 0.8))
    x = rounded(torch.randn(T, B, I, generator=gen)).requires_grad_()
    targets = torch.tensor([2, 0, 1])
    packed = nn.utils.rnn.pack_padded_sequence(x, torch.tensor(LENGTHS), enforce_sorted=False)
    out, (h_n, _) = rnn(packed)
    y, _ = nn.utils.rnn.pad_packed_sequence(out, total_length=T)             # (T, B, 2H)
    valid = (torch.arange(T)[:, None] < torch.tensor(LENGTHS)[None, :])[:, :, None]
    if head == "last_step":
        pooled = torch.cat([h_n[-2], h_n[-1]], dim=1)
    elif head == "mean_pool":
        pooled = (y * valid).sum(0) / torch.tensor(LENGTHS, dtype=torch.float64)[:, None]
    else:
        pooled = y.masked_fill(~valid, float("-inf")).max(0).values
    logits = linear(pooled)
    loss = weighted_loss(logits, targets)
    loss.backward()
    p = head + "."
    w.tensor(p + "x", x)
    w.tensor(p + "targets", targets)
    w.tensor(p + "loss", [loss.item()])
    w.tensor(p + "logits", logits)
    w.tensor(p + "grad.x", x.grad)
    for name, param in rnn.named_parameters():
        w.tensor(p + "rnn." + name, param)
        w.tensor(p + "grad.rnn." + name, param.grad)
    for name, param in linear.named_parameters():
        w.tensor(p + "head." + name, param)
        w.tensor(p + "grad.head." + name, param.grad)


def main():
    w = Writer("patterns.txt")
    w.tensor("shape", [T, B, I, H, C])
    w.tensor("lengths", LENGTHS)
    cross_entropy_case(w)
    for head in ["last_step", "mean_pool", "max_pool"]:
        head_case(w, head)
    w.close()
    print("wrote", w.path)


if __name__ == "__main__":
    main()
