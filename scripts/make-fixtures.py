#!/usr/bin/env python3
"""Writes the PyTorch reference fixtures of the core recurrent layers.

Run by hand, never by CI (the tests only read the committed files):

    /work/venv/bin/python scripts/make-fixtures.py

Output: Tests/RNNKitTests/Fixtures/recurrent/*.txt and README.txt there.

Each case builds nn.RNN (tanh or relu), nn.LSTM or nn.GRU in float32 on the CPU with
torch.manual_seed(case seed), runs forward (optionally on a packed batch with unsorted
lengths and random initial states), then backpropagates

    loss = sum(y * dy) + sum(h_n * dh_n) [+ sum(c_n * dc_n)]

with random dy, dh_n, dc_n. dy is random and nonzero at padded positions too: packing
ignores it there, and RNNKit must ignore it the same way.

File format (plain text, one token per space, parseable from Swift and C):

    rnnkit-fixture 1
    config cell=lstm input=3 hidden=4 layers=2 bidirectional=1 steps=5 batch=3 batch_first=0 [proj=2]
    tensor <name> <element count>
    <values separated by single spaces, '%.9g' for floats, plain integers for lengths>
    ...
    end

Tensors, in this order: the parameters (state_dict order and names), x, lengths, h0, c0,
y, h_n, c_n, dy, dh_n, dc_n, dx, dh0, dc0, grad.<parameter name> (state_dict order).
lengths/h0/c0/dh0/dc0 appear only when the case passes them; c_n/dc_n/c0/dc0 only for LSTM.
Every tensor is flattened row-major in PyTorch's layout: x, y, dy, dx are [T, B, ·], or
[B, T, ·] when batch_first=1; states are [L·D, B, H]; weights are [G·H, I_k] and [G·H, H].
The projected LSTM cases (nn.LSTM(proj_size=P), config key proj=P) have h states [L·D, B, P],
outputs [·, ·, D·P], weight_hh [4H, P] and weight_hr [P, H]; their c states stay [L·D, B, H].
"""

import os
import sys

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

FORMAT_VERSION = 1
OUTPUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "..", "Tests", "RNNKitTests", "Fixtures", "recurrent")

CELLS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]

# Unsorted lengths for B = 3, T = 5; each contains 1 and T. Cases cycle through them so
# that the shortest and longest sequence sit at different batch rows.
LENGTH_PATTERNS = [[3, 5, 1], [1, 4, 5], [5, 1, 2]]


def make_module(cell, input_size, hidden_size, layers, bidirectional, batch_first, proj=0):
    common = dict(input_size=input_size, hidden_size=hidden_size, num_layers=layers,
                  bidirectional=bidirectional, batch_first=batch_first)
    if proj:
        return nn.LSTM(proj_size=proj, **common)
    if cell == "rnn_tanh":
        return nn.RNN(nonlinearity="tanh", **common)
    if cell == "rnn_relu":
        return nn.RNN(nonlinearity="relu", **common)
    if cell == "lstm":
        return nn.LSTM(**common)
    if cell == "gru":
        return nn.GRU(**common)
    raise ValueError(f"unknown cell {cell}")


def cases():
    """Every case as a dict: the cross product, then the batch-first cases."""
    result = []
    for cell in CELLS:
        for layers in (1, 2):
            for bidirectional in (False, True):
                for packed in (False, True):
                    # Two-layer unidirectional cases use I = 2, H = 3 so that I != H and the
                    # second layer's input width (H) differs from the first's.
                    small = layers == 2 and not bidirectional
                    result.append(dict(
                        cell=cell, layers=layers, bidirectional=bidirectional, packed=packed,
                        batch_first=False, input=2 if small else 3, hidden=3 if small else 4))
    # Batch-first, bidirectional, with lengths; the GRU case also has I > H.
    result.append(dict(cell="lstm", layers=2, bidirectional=True, packed=True,
                       batch_first=True, input=3, hidden=4))
    result.append(dict(cell="gru", layers=1, bidirectional=True, packed=True,
                       batch_first=True, input=5, hidden=2))
    # Projected LSTMs (proj_size): plain, stacked bidirectional with lengths, and batch-first
    # stacked with lengths; P < H and the second layer reads D·P features.
    result.append(dict(cell="lstm", layers=1, bidirectional=False, packed=False,
                       batch_first=False, input=3, hidden=4, proj=2))
    result.append(dict(cell="lstm", layers=2, bidirectional=True, packed=True,
                       batch_first=False, input=3, hidden=5, proj=3))
    result.append(dict(cell="lstm", layers=2, bidirectional=False, packed=True,
                       batch_first=True, input=2, hidden=4, proj=3))
    for seed, case in enumerate(result):
        case["seed"] = 1000 + seed
        case["steps"] = 5
        case["batch"] = 3
    return result


def file_name(case):
    parts = [case["cell"]] + ([f"proj{case['proj']}"] if case.get("proj") else [])
    parts += [f"l{case['layers']}", "bi" if case["bidirectional"] else "uni",
             "packed" if case["packed"] else "plain"]
    if case["batch_first"]:
        parts.append("batchfirst")
    return "_".join(parts) + ".txt"


def format_floats(tensor):
    return " ".join("%.9g" % v for v in tensor.detach().reshape(-1).tolist())


def run_case(case):
    """Runs one case; returns [(name, text of values, count)] in file order."""
    torch.manual_seed(case["seed"])
    cell, T, B = case["cell"], case["steps"], case["batch"]
    I, H, L = case["input"], case["hidden"], case["layers"]
    P = case.get("proj", 0)
    D = 2 if case["bidirectional"] else 1
    batch_first = case["batch_first"]
    has_cell_state = cell == "lstm"

    module = make_module(cell, I, H, L, case["bidirectional"], batch_first, P).float()
    parameter_names = list(module.state_dict().keys())
    named = dict(module.named_parameters())
    assert parameter_names == list(named.keys()), "state_dict and parameters disagree"

    sequence_shape = (B, T) if batch_first else (T, B)
    x = torch.randn(*sequence_shape, I, requires_grad=True)
    lengths = LENGTH_PATTERNS[case["seed"] % len(LENGTH_PATTERNS)] if case["packed"] else None
    h0 = torch.randn(L * D, B, P or H, requires_grad=True) if case["packed"] else None
    c0 = torch.randn(L * D, B, H, requires_grad=True) if case["packed"] and has_cell_state else None

    if lengths is not None:
        packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first,
                                      enforce_sorted=False)
        state = (h0, c0) if has_cell_state else h0
        packed_out, final = module(packed, state)
        y, _ = pad_packed_sequence(packed_out, batch_first=batch_first, total_length=T)
    else:
        y, final = module(x)
    h_n, c_n = final if has_cell_state else (final, None)

    # Gradients of the loss: random everywhere, padded positions of dy included.
    dy = torch.randn_like(y)
    dh_n = torch.randn_like(h_n)
    dc_n = torch.randn_like(c_n) if has_cell_state else None
    loss = (y * dy).sum() + (h_n * dh_n).sum()
    if has_cell_state:
        loss = loss + (c_n * dc_n).sum()
    loss.backward()

    tensors = [(name, named[name]) for name in parameter_names]
    tensors.append(("x", x))
    if lengths is not None:
        tensors.append(("lengths", lengths))
    if h0 is not None:
        tensors.append(("h0", h0))
    if c0 is not None:
        tensors.append(("c0", c0))
    tensors += [("y", y), ("h_n", h_n)]
    if has_cell_state:
        tensors.append(("c_n", c_n))
    tensors += [("dy", dy), ("dh_n", dh_n)]
    if has_cell_state:
        tensors.append(("dc_n", dc_n))
    tensors.append(("dx", x.grad))
    if h0 is not None:
        tensors.append(("dh0", h0.grad))
    if c0 is not None:
        tensors.append(("dc0", c0.grad))
    tensors += [("grad." + name, named[name].grad) for name in parameter_names]

    rows = []
    for name, value in tensors:
        if name == "lengths":
            rows.append((name, " ".join(str(n) for n in value), len(value)))
        else:
            assert value is not None, f"{name} missing"
            rows.append((name, format_floats(value), value.numel()))
    return rows


def write_case(case):
    rows = run_case(case)
    config = (f"config cell={case['cell']} input={case['input']} hidden={case['hidden']} "
              f"layers={case['layers']} bidirectional={int(case['bidirectional'])} "
              f"steps={case['steps']} batch={case['batch']} batch_first={int(case['batch_first'])}")
    if case.get("proj"):
        config += f" proj={case['proj']}"
    lines = [f"rnnkit-fixture {FORMAT_VERSION}", config]
    for name, text, count in rows:
        lines.append(f"tensor {name} {count}")
        lines.append(text)
    lines.append("end")
    path = os.path.join(OUTPUT_DIR, file_name(case))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


README = """PyTorch reference fixtures for RNNKit's recurrent layers.

Generated by scripts/make-fixtures.py with PyTorch {torch_version} (float32, CPU):

    /work/venv/bin/python scripts/make-fixtures.py

Do not edit by hand; change the script and regenerate. The script's docstring describes
the file format. Cases: rnn_tanh, rnn_relu, lstm, gru x layers 1/2 x uni/bidirectional x
plain (no lengths, zero initial states) / packed (unsorted lengths containing 1 and T,
random h0 and c0), plus two batch-first packed bidirectional cases and three projected
LSTMs (proj_size; lstm_proj*: plain, 2-layer bidirectional packed, 2-layer batch-first
packed). Each file records the
parameters, inputs, outputs, upstream gradients dy/dh_n/dc_n (dy nonzero at padded
positions, which must be ignored) and the gradients of the loss
sum(y*dy) + sum(h_n*dh_n) + sum(c_n*dc_n) with respect to x, h0, c0 and every parameter.

Files ({count}):
{files}
"""


def main():
    torch.set_num_threads(1)
    os.makedirs(OUTPUT_DIR, exist_ok=True)
    written = [write_case(case) for case in cases()]
    names = sorted(os.path.basename(p) for p in written)
    with open(os.path.join(OUTPUT_DIR, "README.txt"), "w") as f:
        f.write(README.format(torch_version=torch.__version__, count=len(names),
                              files="\n".join("    " + n for n in names)))
    print(f"wrote {len(names)} fixtures to {os.path.normpath(OUTPUT_DIR)}", file=sys.stderr)


if __name__ == "__main__":
    main()
