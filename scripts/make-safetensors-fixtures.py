#!/usr/bin/env python3
"""Writes the safetensors fixtures that Tests/RNNKitTests/SafeTensorsTests.swift reads.

Run by hand (CI never needs Python or PyTorch):

    /work/venv/bin/python scripts/make-safetensors-fixtures.py

Outputs, in Tests/RNNKitTests/Fixtures/safetensors/:
  torch_lstm_l2_bi.safetensors  nn.LSTM(3, 4, num_layers=2, bidirectional=True) after
                                torch.manual_seed(0), saved exactly as a PyTorch user would:
                                safetensors.torch.save_file(m.state_dict(), path)
                                (no __metadata__, dtype F32, tensors ordered by the library).
  torch_lstm_l2_bi.txt          the expected values, one line per record:
                                  param <name> <d0,d1,...> <v0> <v1> ...   every state_dict tensor
                                  input <T,B,I> <values...>                 a deterministic input
                                  output <T,B,D*H> <values...>              m(input)[0]
                                  h_n / c_n <L*D,B,H> <values...>           final states
                                Floats are printed with 9 significant digits, which round-trips
                                float32 exactly.
  torch_lstm_proj_l2_bi.safetensors, torch_lstm_proj_l2_bi.txt
                                the same for nn.LSTM(3, 5, num_layers=2, bidirectional=True,
                                proj_size=2) after torch.manual_seed(1): weight_hr_l{k} [2, 5]
                                beside the usual tensors, h_n [L*D,B,P] and c_n [L*D,B,H].
"""
import pathlib

import torch
from safetensors.torch import save_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "RNNKitTests" / "Fixtures" / "safetensors"


def record(kind, name, tensor):
    shape = ",".join(str(d) for d in tensor.shape)
    values = " ".join(f"{v:.9g}" for v in tensor.detach().reshape(-1).tolist())
    label = f"{kind} {name}" if name else kind
    return f"{label} {shape} {values}\n"


def write_case(stem, seed, **lstm_arguments):
    torch.manual_seed(seed)
    model = torch.nn.LSTM(3, **lstm_arguments)
    state = model.state_dict()
    save_file(state, str(OUT / f"{stem}.safetensors"))

    # A deterministic input, T = 2, B = 1, I = 3, time-major.
    x = torch.tensor([[[0.5, -1.0, 0.25]], [[-0.75, 0.125, 1.5]]], dtype=torch.float32)
    with torch.no_grad():
        y, (h_n, c_n) = model(x)

    with open(OUT / f"{stem}.txt", "w") as f:
        for name, tensor in state.items():
            f.write(record("param", name, tensor))
        f.write(record("input", "", x))
        f.write(record("output", "", y))
        f.write(record("h_n", "", h_n))
        f.write(record("c_n", "", c_n))
    print(f"wrote {len(state)} tensors of {stem} to {OUT}")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    write_case("torch_lstm_l2_bi", 0, hidden_size=4, num_layers=2, bidirectional=True)
    write_case("torch_lstm_proj_l2_bi", 1, hidden_size=5, num_layers=2, bidirectional=True, proj_size=2)


if __name__ == "__main__":
    main()
