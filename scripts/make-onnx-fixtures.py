#!/usr/bin/env python3
"""Writes the ONNX Runtime reference fixtures of the cell variants PyTorch does not have: the GRU
with the reset gate before the recurrent product (ONNX `linear_before_reset = 0`) and the LSTM with
peepholes (ONNX's `P` input).

Run by hand, never by CI (the tests only read the committed files):

    python3 -m venv /work/onnx-venv && /work/onnx-venv/bin/pip install numpy onnx onnxruntime
    /work/onnx-venv/bin/python scripts/make-onnx-fixtures.py

Output: Tests/RNNKitTests/Fixtures/onnx/*.txt and README.txt there, in the format of
scripts/make-fixtures.py (`rnnkit-fixture 1`), without gradients (ONNX Runtime has no backward;
the gradients of these cells are held to finite differences and to the naive reference).

Each case draws RNNKit's parameters (PyTorch's names, order and gate order) from U(-0.6, 0.6),
maps them to one ONNX node per layer with the mapping of docs/file-format.md, builds the
one-node graph with onnx.helper, runs it with onnxruntime, and feeds layer k's output
Y [T, D, B, H], transposed to [T, B, D·H], to layer k + 1, as torch.onnx.export's glue does.

Mapping (RNNKit → ONNX), per layer and direction d:
    GRU  W[d] = weight_ih rows reordered r, z, n → z, r, n;  R[d] likewise from weight_hh;
         B[d] = [bias_ih, bias_hh] each reordered the same way;  linear_before_reset = 0.
    LSTM W[d], R[d] rows reordered i, f, g, o → i, o, f, g (ONNX's i, o, f, c);
         B[d] = [bias_ih, bias_hh] reordered likewise;
         P[d] = weight_peephole blocks i, f, o → i, o, f.
"""

import os

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper

FORMAT_VERSION = 1
OUTPUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "..", "Tests", "RNNKitTests", "Fixtures", "onnx")

INPUT, HIDDEN, STEPS, BATCH = 3, 4, 5, 3
LENGTHS = [3, 5, 1]

# ONNX's gate order as blocks of RNNKit's (PyTorch's) order.
GRU_ORDER = [1, 0, 2]        # z, r, n  from  r, z, n
LSTM_ORDER = [0, 3, 1, 2]    # i, o, f, c  from  i, f, g, o
PEEPHOLE_ORDER = [0, 2, 1]   # i, o, f  from  i, f, o


def reorder(matrix, order, hidden):
    """Rows (or entries) of `matrix` in blocks of `hidden`, rearranged to `order`."""
    return np.concatenate([matrix[k * hidden:(k + 1) * hidden] for k in order], axis=0)


def run_node(cell, x, weights, lengths, h0, c0, bidirectional):
    """One ONNX GRU or LSTM node over x [T, B, I]; returns Y [T, D, B, H], Y_h, Y_c."""
    D = 2 if bidirectional else 1
    op = "GRU" if cell == "gru_reset_before" else "LSTM"
    feeds = {"X": x, "W": weights["W"], "R": weights["R"], "B": weights["B"]}
    names = ["X", "W", "R", "B", "sequence_lens", "initial_h"]
    if lengths is not None:
        feeds["sequence_lens"] = np.array(lengths, dtype=np.int32)
    if h0 is not None:
        feeds["initial_h"] = h0
    if op == "LSTM":
        names += ["initial_c", "P"]
        if c0 is not None:
            feeds["initial_c"] = c0
        feeds["P"] = weights["P"]
    node_inputs = [n if n in feeds else "" for n in names]
    outputs = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
    attributes = dict(hidden_size=HIDDEN, direction="bidirectional" if bidirectional else "forward")
    if op == "GRU":
        attributes["linear_before_reset"] = 0
    node = helper.make_node(op, node_inputs, outputs, **attributes)
    def info(name, array):
        kind = TensorProto.INT32 if array.dtype == np.int32 else TensorProto.FLOAT
        return helper.make_tensor_value_info(name, kind, list(array.shape))
    graph = helper.make_graph(
        [node], f"{cell}_layer", [info(n, feeds[n]) for n in names if n in feeds],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n, shape in
         zip(outputs, [[STEPS, D, BATCH, HIDDEN], [D, BATCH, HIDDEN], [D, BATCH, HIDDEN]])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    results = session.run(outputs, feeds)
    return results[0], results[1], results[2] if op == "LSTM" else None


def make_case(cell, layers, bidirectional, packed, seed):
    rng = np.random.default_rng(seed)
    D = 2 if bidirectional else 1
    G = 3 if cell == "gru_reset_before" else 4
    order = GRU_ORDER if G == 3 else LSTM_ORDER
    parameters = []   # (name, array) in RNNKit's order
    per_layer = []
    for layer in range(layers):
        width = INPUT if layer == 0 else D * HIDDEN
        onnx_weights = {"W": [], "R": [], "B": [], "P": []}
        for direction in range(D):
            suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
            w_ih = rng.uniform(-0.6, 0.6, (G * HIDDEN, width)).astype(np.float32)
            w_hh = rng.uniform(-0.6, 0.6, (G * HIDDEN, HIDDEN)).astype(np.float32)
            b_ih = rng.uniform(-0.6, 0.6, G * HIDDEN).astype(np.float32)
            b_hh = rng.uniform(-0.6, 0.6, G * HIDDEN).astype(np.float32)
            parameters += [("weight_ih" + suffix, w_ih), ("weight_hh" + suffix, w_hh),
                           ("bias_ih" + suffix, b_ih), ("bias_hh" + suffix, b_hh)]
            onnx_weights["W"].append(reorder(w_ih, order, HIDDEN))
            onnx_weights["R"].append(reorder(w_hh, order, HIDDEN))
            onnx_weights["B"].append(np.concatenate([reorder(b_ih, order, HIDDEN), reorder(b_hh, order, HIDDEN)]))
            if G == 4:
                peephole = rng.uniform(-0.6, 0.6, 3 * HIDDEN).astype(np.float32)
                parameters.append(("weight_peephole" + suffix, peephole))
                onnx_weights["P"].append(reorder(peephole, PEEPHOLE_ORDER, HIDDEN))
        per_layer.append({k: np.stack(v) for k, v in onnx_weights.items() if v})

    x = rng.standard_normal((STEPS, BATCH, INPUT)).astype(np.float32)
    lengths = LENGTHS if packed else None
    h0 = rng.uniform(-0.5, 0.5, (layers * D, BATCH, HIDDEN)).astype(np.float32) if packed else None
    c0 = rng.uniform(-0.5, 0.5, (layers * D, BATCH, HIDDEN)).astype(np.float32) if packed and G == 4 else None

    layer_input = x
    h_n, c_n = [], []
    for layer in range(layers):
        states = slice(layer * D, (layer + 1) * D)
        y, y_h, y_c = run_node(cell, layer_input, per_layer[layer], lengths,
                               None if h0 is None else np.ascontiguousarray(h0[states]),
                               None if c0 is None else np.ascontiguousarray(c0[states]), bidirectional)
        layer_input = np.ascontiguousarray(y.transpose(0, 2, 1, 3).reshape(STEPS, BATCH, D * HIDDEN))
        h_n.append(y_h)
        if y_c is not None:
            c_n.append(y_c)

    tensors = parameters + [("x", x)]
    if lengths is not None:
        tensors.append(("lengths", np.array(lengths)))
    if h0 is not None:
        tensors.append(("h0", h0))
    if c0 is not None:
        tensors.append(("c0", c0))
    tensors += [("y", layer_input), ("h_n", np.concatenate(h_n))]
    if c_n:
        tensors.append(("c_n", np.concatenate(c_n)))
    config = dict(cell="lstm" if G == 4 else cell, input=INPUT, hidden=HIDDEN, layers=layers,
                  bidirectional=int(bidirectional), steps=STEPS, batch=BATCH, batch_first=0)
    if G == 4:
        config["peepholes"] = 1
    return config, tensors


def write(path, config, tensors):
    with open(path, "w") as f:
        f.write(f"rnnkit-fixture {FORMAT_VERSION}\n")
        f.write("config " + " ".join(f"{k}={v}" for k, v in config.items()) + "\n")
        for name, array in tensors:
            flat = np.asarray(array).reshape(-1)
            f.write(f"tensor {name} {flat.size}\n")
            if flat.dtype.kind in "iu":
                f.write(" ".join(str(int(v)) for v in flat) + "\n")
            else:
                f.write(" ".join("%.9g" % float(v) for v in flat) + "\n")
        f.write("end\n")


def main():
    os.makedirs(OUTPUT_DIR, exist_ok=True)
    names = []
    seed = 100
    for cell, stem in [("gru_reset_before", "gru_reset_before"), ("lstm_peephole", "lstm_peephole")]:
        for layers in [1, 2]:
            for bidirectional in [False, True]:
                for packed in [False, True]:
                    seed += 1
                    config, tensors = make_case(cell, layers, bidirectional, packed, seed)
                    name = f"{stem}_l{layers}_{'bi' if bidirectional else 'uni'}_{'packed' if packed else 'plain'}.txt"
                    write(os.path.join(OUTPUT_DIR, name), config, tensors)
                    names.append(name)
    with open(os.path.join(OUTPUT_DIR, "README.txt"), "w") as f:
        f.write("ONNX Runtime reference fixtures for RNNKit's cell variants.\n\n")
        f.write(f"Generated by scripts/make-onnx-fixtures.py with onnxruntime {onnxruntime.__version__} "
                f"and onnx {onnx.__version__} (float32, CPU):\n\n")
        f.write("    /work/onnx-venv/bin/python scripts/make-onnx-fixtures.py\n\n")
        f.write("Do not edit by hand; change the script and regenerate. Cases: GRU reset-before\n"
                "(linear_before_reset = 0) and LSTM with peepholes x layers 1/2 x uni/bidirectional x\n"
                "plain (no lengths, zero initial states) / packed (lengths 3, 5, 1, random h0 and c0).\n"
                "Each file holds the parameters in RNNKit's (PyTorch's) names and order, x, lengths,\n"
                "h0, c0 and ONNX Runtime's y [T, B, D*H], h_n and c_n [L*D, B, H].\n\n")
        f.write(f"Files ({len(names)}):\n")
        for name in names:
            f.write(f"    {name}\n")


if __name__ == "__main__":
    main()
