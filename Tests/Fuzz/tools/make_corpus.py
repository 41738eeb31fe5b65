"""Writes the seed corpus of the fuzz targets (Tests/Fuzz/corpus/<target>/).

Run once with /work/venv/bin/python (numpy + safetensors); the outputs are committed, so CI never
needs Python. Files are small (< 2 KB each): valid RNNKit network files of each cell, a PyTorch-style
file without metadata, every dtype, and a few edge cases (empty file, empty header, scalars, zeros).
"""
import json, os, struct, sys
import numpy as np
from safetensors.numpy import save

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")
rng = np.random.default_rng(7)
GATES = {"rnn_tanh": 1, "rnn_relu": 1, "gru": 3, "lstm": 4}


def state_dict(cell, inp, hid, layers, bi, dtype):
    g, d = GATES[cell], 2 if bi else 1
    out = {}
    for k in range(layers):
        for r in range(d):
            s = f"_l{k}" + ("_reverse" if r else "")
            width = inp if k == 0 else d * hid
            out["weight_ih" + s] = rng.uniform(-0.5, 0.5, (g * hid, width)).astype(dtype)
            out["weight_hh" + s] = rng.uniform(-0.5, 0.5, (g * hid, hid)).astype(dtype)
            out["bias_ih" + s] = rng.uniform(-0.5, 0.5, (g * hid,)).astype(dtype)
            out["bias_hh" + s] = rng.uniform(-0.5, 0.5, (g * hid,)).astype(dtype)
    return out


def metadata(cell, inp, hid, layers, bi, batch_first=False):
    return {"format": "rnnkit-recurrent", "format_version": "1", "cell": cell,
            "input_size": str(inp), "hidden_size": str(hid), "num_layers": str(layers),
            "bidirectional": "true" if bi else "false", "batch_first": "true" if batch_first else "false"}


def raw(header, data=b""):
    text = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text)) + text + data


def put(target, name, data):
    os.makedirs(os.path.join(root, target), exist_ok=True)
    with open(os.path.join(root, target, name), "wb") as f:
        f.write(data)


networks = {
    "lstm-3-4-2-bi.safetensors": save(state_dict("lstm", 3, 4, 2, True, np.float32), metadata("lstm", 3, 4, 2, True)),
    "lstm-3-4-2-bi-pytorch.safetensors": save(state_dict("lstm", 3, 4, 2, True, np.float32)),
    "lstm-3-4-2-bi-f64.safetensors": save(state_dict("lstm", 3, 4, 2, True, np.float64), metadata("lstm", 3, 4, 2, True)),
    "gru-2-3-1.safetensors": save(state_dict("gru", 2, 3, 1, False, np.float64), metadata("gru", 2, 3, 1, False)),
    "rnn_tanh-1-2-1-batch-first.safetensors": save(state_dict("rnn_tanh", 1, 2, 1, False, np.float32), metadata("rnn_tanh", 1, 2, 1, False, True)),
    "rnn_relu-2-2-2-bi.safetensors": save(state_dict("rnn_relu", 2, 2, 2, True, np.float32), metadata("rnn_relu", 2, 2, 2, True)),
    "metadata-only.safetensors": raw({"__metadata__": metadata("gru", 1, 1, 1, False)}),
    "empty-header.safetensors": raw({}),
    "empty.bin": b"",
}
for name, data in networks.items():
    put("network-file", name, data)
    put("safetensors", name, data)

# Every dtype the reader knows, with an odd shape, plus scalars and zero-size tensors.
tensors = {}
data = b""
def add(name, dtype, shape, nbytes):
    global data
    tensors[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + nbytes]}
    data += bytes(rng.integers(0, 256, nbytes, dtype=np.uint8))
for dtype, size in [("BOOL", 1), ("U8", 1), ("I8", 1), ("F8_E5M2", 1), ("F8_E4M3", 1), ("I16", 2), ("U16", 2),
                    ("F16", 2), ("BF16", 2), ("I32", 4), ("U32", 4), ("F32", 4), ("F64", 8), ("I64", 8),
                    ("U64", 8), ("C64", 8)]:
    add("t_" + dtype.lower(), dtype, [2, 3], 6 * size)
add("scalar", "F32", [], 4)
add("zeros", "F16", [0, 5], 0)
tensors["__metadata__"] = {"note": "every dtype", "empty": ""}
put("safetensors", "all-dtypes.safetensors", raw(tensors, data))
put("safetensors", "header-whitespace.safetensors", b"\x10\x00\x00\x00\x00\x00\x00\x00  {}            ")
put("safetensors", "nested.safetensors", raw({"a": {"dtype": "F32", "shape": [[1]], "data_offsets": [0, 4]}}, b"\0\0\0\0"))
print("corpus written to", os.path.normpath(root), file=sys.stderr)
