#!/usr/bin/env python3
"""Checks that RNNKit model files and PyTorch modules exchange weights both ways.

Run by hand (not part of CI), after building librnnkit.so (scripts/install.sh or swift build -c release):

    /work/venv/bin/python scripts/check-torch-interop.py --library .build/release/librnnkit.so \
        [model.safetensors ...]

For each RNNKit sequence-model file (default: the two fixtures in Tests/CAPI/fixtures):
  1. RNNKit -> PyTorch: builds nn.Embedding (token models) + nn.LSTM/GRU/RNN(num_layers=L) + nn.Linear,
     loads the file with load_state_dict (the recurrent tensors via
     {k[4:]: v for k, v in sd.items() if k.startswith("rnn.")}), runs a sequence, and compares every
     step's output with RNNKit's own (rnnkit_model_step_token / _features through ctypes).
  2. PyTorch -> RNNKit: re-initialises the PyTorch modules with new random weights, writes their
     state_dicts with safetensors.torch.save_file under RNNKit's names and metadata, loads that file
     with rnnkit_model_load, and compares outputs again.
Prints the largest absolute difference of each comparison and exits nonzero if one exceeds 1e-5.
"""
import argparse
import ctypes
import os
import sys

import torch
from safetensors import safe_open
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOLERANCE = 1e-5


def load_library(path):
    lib = ctypes.CDLL(path)
    lib.rnnkit_last_error.restype = ctypes.c_char_p
    lib.rnnkit_model_load.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
    lib.rnnkit_model_destroy.argtypes = [ctypes.c_void_p]
    lib.rnnkit_model_step_token.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.POINTER(ctypes.c_float), ctypes.c_int64]
    lib.rnnkit_model_step_features.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float), ctypes.c_int64,
                                               ctypes.POINTER(ctypes.c_float), ctypes.c_int64]
    return lib


def rnnkit_outputs(lib, path, inputs, takes_tokens, output_size):
    """Steps the RNNKit model at path through inputs; returns a [T, O] tensor."""
    handle = ctypes.c_void_p()
    if lib.rnnkit_model_load(path.encode(), ctypes.byref(handle)) != 0:
        raise RuntimeError(lib.rnnkit_last_error().decode())
    out = (ctypes.c_float * output_size)()
    rows = []
    try:
        for step in inputs:
            if takes_tokens:
                status = lib.rnnkit_model_step_token(handle, int(step), out, output_size)
            else:
                x = (ctypes.c_float * len(step))(*[float(v) for v in step])
                status = lib.rnnkit_model_step_features(handle, x, len(step), out, output_size)
            if status != 0:
                raise RuntimeError(lib.rnnkit_last_error().decode())
            rows.append(list(out))
    finally:
        lib.rnnkit_model_destroy(handle)
    return torch.tensor(rows)


class TorchSequenceModel(torch.nn.Module):
    """The PyTorch twin of an RNNKit SequenceModel, with the same state_dict names."""

    def __init__(self, meta):
        super().__init__()
        self.takes_tokens = meta["model.input"] == "tokens"
        self.head_kind = meta["model.head"]
        hidden, layers = int(meta["model.hidden_size"]), int(meta["model.num_layers"])
        if self.takes_tokens:
            self.embedding = torch.nn.Embedding(int(meta["model.vocabulary_size"]), int(meta["model.embedding_size"]))
            input_size = int(meta["model.embedding_size"])
        else:
            input_size = int(meta["model.feature_size"])
        cell = meta["model.cell"]
        if cell == "lstm":
            self.rnn = torch.nn.LSTM(input_size, hidden, num_layers=layers)
        elif cell == "gru":
            self.rnn = torch.nn.GRU(input_size, hidden, num_layers=layers)
        else:
            self.rnn = torch.nn.RNN(input_size, hidden, num_layers=layers, nonlinearity="relu" if cell == "rnn_relu" else "tanh")
        if self.head_kind != "none":
            self.head = torch.nn.Linear(hidden, int(meta["model.output_size"]))

    def forward(self, inputs):
        x = self.embedding(inputs) if self.takes_tokens else inputs   # [T, 1, E or I]
        y, _ = self.rnn(x)                                              # [T, 1, H]
        return self.head(y) if self.head_kind == "every_step" else y    # [T, 1, O]

    def step_outputs(self, inputs):
        """Outputs per step as streaming sees them (a last-step head applies at every step)."""
        x = self.embedding(inputs) if self.takes_tokens else inputs
        y, _ = self.rnn(x)
        return (self.head(y) if self.head_kind != "none" else y)[:, 0, :]


def check(label, a, b):
    difference = (a - b).abs().max().item()
    ok = difference <= TOLERANCE
    print(f"{'ok    ' if ok else 'FAILED'} {label}: max |difference| = {difference:.3g}")
    return ok


def check_file(lib, path, work):
    with safe_open(path, "pt") as f:
        meta = f.metadata()
        state = {k: f.get_tensor(k) for k in f.keys() if not k.startswith(("optimizer.", "trainer."))}
    if meta.get("model_kind") != "sequence":
        print(f"skip   {path}: not a sequence model")
        return True
    torch.manual_seed(0)
    model = TorchSequenceModel(meta)
    # 1. RNNKit -> PyTorch. The recurrent part alone loads into the bare nn.LSTM/GRU/RNN module:
    model.rnn.load_state_dict({k[4:]: v for k, v in state.items() if k.startswith("rnn.")})
    model.load_state_dict(state)
    steps = 12
    if model.takes_tokens:
        inputs = torch.randint(0, int(meta["model.vocabulary_size"]), (steps, 1))
        flat = inputs[:, 0].tolist()
    else:
        inputs = torch.randn(steps, 1, int(meta["model.feature_size"]))
        flat = inputs[:, 0, :].tolist()
    with torch.no_grad():
        expected = model.step_outputs(inputs)
    name = os.path.basename(path)
    ok = check(f"{name}: RNNKit file loaded into PyTorch", rnnkit_outputs(lib, path, flat, model.takes_tokens, expected.shape[1]), expected)

    # 2. PyTorch -> RNNKit: fresh weights, saved by PyTorch under the same names and metadata.
    torch.manual_seed(1)
    fresh = TorchSequenceModel(meta)
    torch_path = os.path.join(work, "from-torch-" + name)
    save_file({k: v.contiguous() for k, v in fresh.state_dict().items()}, torch_path, metadata=meta)
    with torch.no_grad():
        expected = fresh.step_outputs(inputs)
    ok &= check(f"{name}: PyTorch state_dict loaded into RNNKit", rnnkit_outputs(lib, torch_path, flat, fresh.takes_tokens, expected.shape[1]), expected)
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--library", default=os.path.join(ROOT, ".build/release/librnnkit.so"))
    parser.add_argument("--work", default="/tmp")
    parser.add_argument("files", nargs="*", default=[os.path.join(ROOT, "Tests/CAPI/fixtures", n)
                                                      for n in ("char-model.safetensors", "feature-model.safetensors")])
    arguments = parser.parse_args()
    lib = load_library(arguments.library)
    ok = all([check_file(lib, path, arguments.work) for path in arguments.files])
    print("all comparisons within", TOLERANCE if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
