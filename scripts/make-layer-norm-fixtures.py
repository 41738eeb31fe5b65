#!/usr/bin/env python3
"""Writes the reference fixtures of RNNKit's layer-normalised LSTM from a PyTorch autograd
implementation of the same equations (PyTorch has no such module).

Run by hand, never by CI (the tests only read the committed files):

    .perf-venv/bin/python scripts/make-layer-norm-fixtures.py

Output: Tests/RNNKitTests/Fixtures/layernorm/*.txt and README.txt there, in the format of
scripts/make-fixtures.py (its docstring describes it), config key layer_norm=1.

The cell (Ba, Kiros & Hinton 2016, eqs. 20-22), per layer and direction, gate order i, f, g, o:

    a  = LN(W_ih x; a_x, b_x) + LN(W_hh h; a_h, b_h) + b_ih + b_hh     LN over the 4H values
    c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
    h' = sigmoid(o) * tanh(LN(c'; a_c, b_c))                            LN over the H values

LN(z; a, b) = a * (z - mean z) / sqrt(var z + 1e-5) + b with the population variance.
Variable lengths follow PyTorch's packed sequences: row b is active at time t when
t < lengths[b]; an inactive row keeps its state and outputs 0, and the reverse direction starts
each row at its own last step. Parameters are drawn U(-1/sqrt(H), 1/sqrt(H)) like PyTorch's
LSTM, the gains 1 + 0.3 N(0, 1) and the shifts 0.1 N(0, 1) so that every one of them matters.
The loss is sum(y * dy) + sum(h_n * dh_n) + sum(c_n * dc_n) with random dy, dh_n, dc_n.
"""

import os
import sys

import torch

FORMAT_VERSION = 1
EPSILON = 1e-5
OUTPUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "..", "Tests", "RNNKitTests", "Fixtures", "layernorm")
LENGTH_PATTERNS = [[3, 5, 1], [1, 4, 5], [5, 1, 2]]
SITES = ["ih", "hh", "c"]


def cases():
    result = [
        dict(layers=1, bidirectional=False, packed=False, batch_first=False, input=3, hidden=4),
        dict(layers=2, bidirectional=True, packed=True, batch_first=False, input=3, hidden=5),
        dict(layers=2, bidirectional=False, packed=True, batch_first=True, input=2, hidden=4),
    ]
    for seed, case in enumerate(result):
        case["seed"] = 3000 + seed
        case["steps"] = 5
        case["batch"] = 3
    return result


def file_name(case):
    parts = ["lstm_layernorm", f"l{case['layers']}", "bi" if case["bidirectional"] else "uni",
             "packed" if case["packed"] else "plain"]
    if case["batch_first"]:
        parts.append("batchfirst")
    return "_".join(parts) + ".txt"


def layer_norm(z, gain, shift):
    mean = z.mean(-1, keepdim=True)
    variance = ((z - mean) ** 2).mean(-1, keepdim=True)
    return (z - mean) / torch.sqrt(variance + EPSILON) * gain + shift


def make_parameters(case):
    """RNNKit's names and order: per layer, per direction, the LSTM's four tensors then the six
    gains and shifts."""
    I, H, L = case["input"], case["hidden"], case["layers"]
    D = 2 if case["bidirectional"] else 1
    bound = 1 / H ** 0.5
    parameters = {}
    for layer in range(L):
        width = I if layer == 0 else D * H
        for direction in range(D):
            suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
            for name, shape in (("weight_ih", (4 * H, width)), ("weight_hh", (4 * H, H)),
                                ("bias_ih", (4 * H,)), ("bias_hh", (4 * H,))):
                parameters[name + suffix] = (torch.rand(*shape) * 2 - 1) * bound
            for site in SITES:
                size = H if site == "c" else 4 * H
                parameters[f"weight_ln_{site}{suffix}"] = 1 + 0.3 * torch.randn(size)
                parameters[f"bias_ln_{site}{suffix}"] = 0.1 * torch.randn(size)
    for value in parameters.values():
        value.requires_grad_(True)
    return parameters


def run_direction(p, suffix, x, lengths, h, c, reverse):
    """One layer and direction over x [T, B, I_k]; returns y [T, B, H], h_n, c_n."""
    T = x.shape[0]
    outputs = [None] * T
    for t in (reversed(range(T)) if reverse else range(T)):
        active = (torch.tensor(lengths) > t).float().unsqueeze(1)            # [B, 1]
        a = (layer_norm(x[t] @ p["weight_ih" + suffix].T, p["weight_ln_ih" + suffix], p["bias_ln_ih" + suffix])
             + layer_norm(h @ p["weight_hh" + suffix].T, p["weight_ln_hh" + suffix], p["bias_ln_hh" + suffix])
             + p["bias_ih" + suffix] + p["bias_hh" + suffix])
        i, f, g, o = a.chunk(4, dim=1)
        c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h_new = torch.sigmoid(o) * torch.tanh(layer_norm(c_new, p["weight_ln_c" + suffix], p["bias_ln_c" + suffix]))
        h = active * h_new + (1 - active) * h
        c = active * c_new + (1 - active) * c
        outputs[t] = active * h_new
    return torch.stack(outputs), h, c


def run_case(case):
    torch.manual_seed(case["seed"])
    T, B, I, H, L = case["steps"], case["batch"], case["input"], case["hidden"], case["layers"]
    D = 2 if case["bidirectional"] else 1
    p = make_parameters(case)
    x = torch.randn(B, T, I) if case["batch_first"] else torch.randn(T, B, I)
    x.requires_grad_(True)
    lengths = LENGTH_PATTERNS[case["seed"] % len(LENGTH_PATTERNS)] if case["packed"] else [T] * B
    h0 = torch.randn(L * D, B, H, requires_grad=True) if case["packed"] else None
    c0 = torch.randn(L * D, B, H, requires_grad=True) if case["packed"] else None

    layer_input = x.transpose(0, 1) if case["batch_first"] else x              # [T, B, I]
    finals_h, finals_c = [], []
    for layer in range(L):
        outputs = []
        for direction in range(D):
            index = layer * D + direction
            h = h0[index] if h0 is not None else torch.zeros(B, H)
            c = c0[index] if c0 is not None else torch.zeros(B, H)
            suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
            y, h_n, c_n = run_direction(p, suffix, layer_input, lengths, h, c, reverse=direction == 1)
            outputs.append(y)
            finals_h.append(h_n)
            finals_c.append(c_n)
        layer_input = torch.cat(outputs, dim=2)
    y = layer_input.transpose(0, 1) if case["batch_first"] else layer_input
    h_n, c_n = torch.stack(finals_h), torch.stack(finals_c)

    dy, dh_n, dc_n = torch.randn_like(y), torch.randn_like(h_n), torch.randn_like(c_n)
    ((y * dy).sum() + (h_n * dh_n).sum() + (c_n * dc_n).sum()).backward()

    tensors = list(p.items()) + [("x", x)]
    if case["packed"]:
        tensors += [("lengths", lengths), ("h0", h0), ("c0", c0)]
    tensors += [("y", y), ("h_n", h_n), ("c_n", c_n), ("dy", dy), ("dh_n", dh_n), ("dc_n", dc_n), ("dx", x.grad)]
    if case["packed"]:
        tensors += [("dh0", h0.grad), ("dc0", c0.grad)]
    tensors += [("grad." + name, value.grad) for name, value in p.items()]
    rows = []
    for name, value in tensors:
        if name == "lengths":
            rows.append((name, " ".join(str(n) for n in value), len(value)))
        else:
            rows.append((name, " ".join("%.9g" % v for v in value.detach().reshape(-1).tolist()), value.numel()))
    return rows


def write_case(case):
    config = (f"config cell=lstm input={case['input']} hidden={case['hidden']} layers={case['layers']} "
              f"bidirectional={int(case['bidirectional'])} steps={case['steps']} batch={case['batch']} "
              f"batch_first={int(case['batch_first'])} layer_norm=1")
    lines = [f"rnnkit-fixture {FORMAT_VERSION}", config]
    for name, text, count in run_case(case):
        lines += [f"tensor {name} {count}", text]
    lines.append("end")
    path = os.path.join(OUTPUT_DIR, file_name(case))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return os.path.basename(path)


README = """Reference fixtures of RNNKit's layer-normalised LSTM.

Generated by scripts/make-layer-norm-fixtures.py with PyTorch {torch_version} autograd (float32,
CPU), from a direct implementation of the equations in the script's docstring:

    .perf-venv/bin/python scripts/make-layer-norm-fixtures.py

Do not edit by hand; change the script and regenerate. The format is that of
scripts/make-fixtures.py (config key layer_norm=1). Files ({count}):
{files}
"""


def main():
    torch.set_num_threads(1)
    os.makedirs(OUTPUT_DIR, exist_ok=True)
    names = sorted(write_case(case) for case in cases())
    with open(os.path.join(OUTPUT_DIR, "README.txt"), "w") as f:
        f.write(README.format(torch_version=torch.__version__, count=len(names),
                              files="\n".join("    " + n for n in names)))
    print(f"wrote {len(names)} fixtures to {os.path.normpath(OUTPUT_DIR)}", file=sys.stderr)


if __name__ == "__main__":
    main()
