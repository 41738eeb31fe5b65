#!/usr/bin/env python3
"""Reference values for RNNKit's training building blocks, computed by PyTorch in float64.

Run by hand from the repository root:
    /work/venv/bin/python scripts/make-training-fixtures.py
It writes Tests/RNNKitTests/Fixtures/training/*.txt, read by OptimizerTests.swift and LossTests.swift.

File format: for each tensor, a line `tensor <name> <count>` and then one line of `count`
space-separated values printed with '%.9g' (integers are printed exactly).
Inputs are rounded to 4 decimals before use, so the values Swift reads are exactly the values
PyTorch used; outputs carry 9 significant digits.

The hyperparameters of every optimizer configuration below are repeated in OptimizerTests.swift
under the same names; change both together.
"""
import math
import os

import torch

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "RNNKitTests", "Fixtures", "training")


def rounded(t):
    """Round to 4 decimals so that '%.9g' text reproduces the value exactly (|x| < 10)."""
    return torch.round(t * 10000) / 10000


class Writer:
    def __init__(self, name):
        self.path = os.path.join(OUT, name)
        self.lines = []

    def tensor(self, name, values):
        flat = values.detach().reshape(-1).tolist() if torch.is_tensor(values) else list(values)
        self.lines.append(f"tensor {name} {len(flat)}")
        self.lines.append(" ".join(f"{v:.9g}" if isinstance(v, float) else str(v) for v in flat))

    def close(self):
        with open(self.path, "w") as f:
            f.write("\n".join(self.lines) + "\n")


def optimizers():
    gen = torch.Generator().manual_seed(1234)
    steps, size = 5, 7
    initial = rounded(torch.randn(size, generator=gen))
    gradients = rounded(torch.randn(steps, size, generator=gen))
    # Name -> (constructor, keyword arguments). Mirrored in OptimizerTests.swift.
    configurations = {
        "sgd_plain": (torch.optim.SGD, dict(lr=0.1)),
        "sgd_momentum_dampening": (torch.optim.SGD, dict(lr=0.05, momentum=0.8, dampening=0.3)),
        "sgd_nesterov_weight_decay": (torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
        "adam": (torch.optim.Adam, dict(lr=0.01)),
        "adam_weight_decay": (torch.optim.Adam, dict(lr=0.01, weight_decay=0.1)),
        "adam_amsgrad": (torch.optim.Adam, dict(lr=0.02, betas=(0.8, 0.95), eps=1e-6, amsgrad=True)),
        "adamw": (torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1)),
        "rmsprop": (torch.optim.RMSprop, dict(lr=0.01)),
        "rmsprop_centered_momentum": (torch.optim.RMSprop, dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.05)),
    }
    w = Writer("optimizers.txt")
    w.tensor("initial", initial)
    w.tensor("gradients", gradients)
    for name, (constructor, kwargs) in configurations.items():
        p = torch.nn.Parameter(initial.clone())
        opt = constructor([p], foreach=False, **kwargs)
        for step in range(steps):
            p.grad = gradients[step].clone()
            opt.step()
            w.tensor(f"{name}.step{step + 1}", p)
        for key, value in opt.state[p].items():
            if key != "step":
                w.tensor(f"{name}.state.{key}", value)
    w.close()


def clipping():
    gen = torch.Generator().manual_seed(99)
    first = rounded(torch.randn(4, generator=gen))
    second = rounded(torch.randn(3, generator=gen))
    w = Writer("clipping.txt")
    w.tensor("first", first)
    w.tensor("second", second)
    for label, max_norm in (("clip", 1.0), ("noclip", 100.0)):
        a, b = torch.nn.Parameter(torch.zeros(4)), torch.nn.Parameter(torch.zeros(3))
        a.grad, b.grad = first.clone(), second.clone()
        total = torch.nn.utils.clip_grad_norm_([a, b], max_norm, foreach=False)
        w.tensor(f"{label}.max_norm", [max_norm])
        w.tensor(f"{label}.total_norm", [total.item()])
        w.tensor(f"{label}.first", a.grad)
        w.tensor(f"{label}.second", b.grad)
    a, b = torch.nn.Parameter(torch.zeros(4)), torch.nn.Parameter(torch.zeros(3))
    a.grad, b.grad = first.clone(), second.clone()
    torch.nn.utils.clip_grad_value_([a, b], 0.5, foreach=False)
    w.tensor("value.clip_value", [0.5])
    w.tensor("value.first", a.grad)
    w.tensor("value.second", b.grad)
    w.close()


def losses():
    gen = torch.Generator().manual_seed(7)
    w = Writer("losses.txt")

    # Per-time-step cross-entropy: logits [T, B, C], targets [T, B], lengths [B], ignore index -100.
    T, B, C = 4, 3, 5
    logits = rounded(3 * torch.randn(T, B, C, generator=gen))
    targets = torch.randint(0, C, (T, B), generator=gen)
    targets[1, 0] = -100                 # an ignored position inside a sequence
    targets[3, 1] = 17                   # padding past length 2: never read
    lengths = torch.tensor([4, 2, 3])
    masked = targets.clone()
    for b in range(B):
        masked[lengths[b]:, b] = -100
    x = logits.clone().requires_grad_(True)
    loss = torch.nn.CrossEntropyLoss(ignore_index=-100)(x.reshape(-1, C), masked.reshape(-1))
    loss.backward()
    counted = masked != -100
    correct = ((logits.argmax(dim=-1) == masked) & counted).sum().item()
    w.tensor("sequence.shape", [T, B, C])
    w.tensor("sequence.logits", logits)
    w.tensor("sequence.targets", targets)
    w.tensor("sequence.lengths", lengths)
    w.tensor("sequence.loss", [loss.item()])
    w.tensor("sequence.gradient", x.grad)
    w.tensor("sequence.counted", [int(counted.sum().item())])
    w.tensor("sequence.correct", [int(correct)])

    # Per-sequence classification: logits [N, C], targets [N], ignore index -1, no mask.
    N, C = 6, 4
    logits = rounded(2 * torch.randn(N, C, generator=gen))
    targets = torch.randint(0, C, (N,), generator=gen)
    targets[4] = -1
    x = logits.clone().requires_grad_(True)
    loss = torch.nn.CrossEntropyLoss(ignore_index=-1)(x, targets)
    loss.backward()
    counted = targets != -1
    correct = ((logits.argmax(dim=-1) == targets) & counted).sum().item()
    w.tensor("classification.shape", [N, C])
    w.tensor("classification.logits", logits)
    w.tensor("classification.targets", targets)
    w.tensor("classification.loss", [loss.item()])
    w.tensor("classification.gradient", x.grad)
    w.tensor("classification.counted", [int(counted.sum().item())])
    w.tensor("classification.correct", [int(correct)])

    # Large logits: the log-sum-exp must not overflow.
    logits = torch.tensor([[1000.0, 0.0, -1000.0], [-750.0, 750.0, 740.0]])
    targets = torch.tensor([0, 2])
    x = logits.clone().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(x, targets)
    loss.backward()
    w.tensor("large.logits", logits)
    w.tensor("large.targets", targets)
    w.tensor("large.loss", [loss.item()])
    w.tensor("large.gradient", x.grad)

    # Mean squared error over all elements.
    predictions = rounded(torch.randn(2, 5, generator=gen))
    targets = rounded(torch.randn(2, 5, generator=gen))
    x = predictions.clone().requires_grad_(True)
    loss = torch.nn.MSELoss()(x, targets)
    loss.backward()
    w.tensor("mse.predictions", predictions)
    w.tensor("mse.targets", targets)
    w.tensor("mse.loss", [loss.item()])
    w.tensor("mse.gradient", x.grad)
    w.close()


def schedules():
    """Learning rates before each of the first steps (the value used by update k is lrs[k])."""
    w = Writer("schedules.txt")

    def record(name, make, steps):
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=0.1)
        scheduler = make(opt)
        rates = []
        for _ in range(steps):
            rates.append(opt.param_groups[0]["lr"])
            opt.step()
            scheduler.step()
        w.tensor(name, rates)

    sched = torch.optim.lr_scheduler
    record("step_decay", lambda o: sched.StepLR(o, step_size=3, gamma=0.5), 10)
    record("cosine", lambda o: sched.CosineAnnealingLR(o, T_max=8, eta_min=0.001), 9)
    record("warmup_cosine", lambda o: sched.SequentialLR(
        o, [sched.LinearLR(o, start_factor=0.25, total_iters=4), sched.CosineAnnealingLR(o, T_max=6)],
        milestones=[4]), 11)
    w.close()


if __name__ == "__main__":
    import warnings
    warnings.filterwarnings("ignore")
    os.makedirs(OUT, exist_ok=True)
    optimizers()
    clipping()
    losses()
    schedules()
    print("wrote", sorted(os.listdir(OUT)))
