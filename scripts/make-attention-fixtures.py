#!/usr/bin/env python3
"""Writes the PyTorch reference fixtures of RNNKit's attention (Sources/RNNKit/Models/Attention.swift).

Run by hand, never by CI (the tests only read the committed files):

    /work/main/.perf-venv/bin/python scripts/make-attention-fixtures.py

Output: Tests/RNNKitTests/Fixtures/attention/*.txt, read by AttentionTests.swift.

Each case computes, in float64 with autograd, for queries h [T, B, H], encoder outputs s [S, B, K]
and source lengths [B] (unsorted, containing 1 and S):

    dot:       e_tbj = h_tb . s_jb                                (K = H)
    general:   e_tbj = h_tb . (W_a s_jb)                          W_a = key.weight [H, K]
    additive:  e_tbj = v . tanh(W_q h_tb + W_k s_jb)              W_q = query.weight [A, H],
                                                                  W_k = key.weight [A, K], v = v.weight [1, A]
    e_tbj = -inf for j >= lengths[b];   alpha = softmax_j(e);   c_tb = sum_j alpha_tbj s_jb

then backpropagates loss = sum(c * dc) for a fixed random dc. Inputs and parameters are rounded
to 4 decimals before use, so the values Swift reads are the values PyTorch used; every value is
written with '%.17g', so that Swift's Double reads back PyTorch's float64 exactly.

File format (the one of scripts/make-fixtures.py, read by Tests/RNNKitTests/FixtureFile.swift):

    rnnkit-fixture 1
    config score=general query=3 key=6 attention=0 steps=4 source=5 batch=3
    tensor <name> <element count>
    <values separated by single spaces>
    ...
    end

Tensors, in this order: the parameters (query.weight, key.weight, v.weight, those the score has,
in PyTorch's [out, in] layout), queries [T, B, H], values [S, B, K], lengths [B], context [T, B, K],
weights [T, B, S] (0 at masked positions), dcontext [T, B, K], grad.queries [T, B, H],
grad.values [S, B, K], grad.<parameter name>.
"""

import os

import torch

torch.set_default_dtype(torch.float64)
OUTPUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "..", "Tests", "RNNKitTests", "Fixtures", "attention")

# name, score, H, K, A, T, S, B, lengths, seed. K = 2H stands for a bidirectional encoder.
CASES = [
    ("dot", "dot", 4, 4, 0, 3, 5, 3, [5, 1, 3], 11),
    ("general", "general", 3, 6, 0, 4, 5, 3, [2, 5, 1], 12),
    ("additive", "additive", 3, 6, 5, 4, 5, 3, [1, 3, 5], 13),
]


def rounded(t):
    """Round to 4 decimals so that '%.9g' text reproduces the value exactly (|x| < 10)."""
    return torch.round(t * 10000) / 10000


def text(t):
    return " ".join("%.17g" % v for v in t.detach().reshape(-1).tolist())


def attention(score, params, h, s, lengths):
    S = s.shape[0]
    if score == "dot":
        e = torch.einsum("tbh,jbh->tbj", h, s)
    elif score == "general":
        u = s @ params["key.weight"].T                                   # [S, B, H]
        e = torch.einsum("tbh,jbh->tbj", h, u)
    else:
        wq = h @ params["query.weight"].T                                # [T, B, A]
        wk = (s @ params["key.weight"].T).permute(1, 0, 2)               # [B, S, A]
        z = torch.tanh(wq[:, :, None, :] + wk[None, :, :, :])            # [T, B, S, A]
        e = z @ params["v.weight"][0]                                    # [T, B, S]
    masked = torch.arange(S)[None, :] >= torch.tensor(lengths)[:, None]  # [B, S]
    e = e.masked_fill(masked[None, :, :], float("-inf"))
    alpha = torch.softmax(e, dim=-1)
    c = torch.einsum("tbj,jbk->tbk", alpha, s)
    return c, alpha


def write_case(name, score, H, K, A, T, S, B, lengths, seed):
    gen = torch.Generator().manual_seed(seed)
    shapes = {"dot": [], "general": [("key.weight", [H, K])],
              "additive": [("query.weight", [A, H]), ("key.weight", [A, K]), ("v.weight", [1, A])]}[score]
    params = {n: rounded(torch.randn(*shape, generator=gen) * 0.7).requires_grad_(True) for n, shape in shapes}
    h = rounded(1.5 * torch.randn(T, B, H, generator=gen)).requires_grad_(True)
    s = rounded(torch.randn(S, B, K, generator=gen))
    for b in range(B):
        s[lengths[b]:, b] = 0                                            # the encoder's padded outputs are 0
    s.requires_grad_(True)
    dc = rounded(torch.randn(T, B, K, generator=gen))
    c, alpha = attention(score, params, h, s, lengths)
    (c * dc).sum().backward()

    lines = ["rnnkit-fixture 1",
             f"config score={score} query={H} key={K} attention={A} steps={T} source={S} batch={B}"]

    def tensor(tensor_name, values):
        lines.append(f"tensor {tensor_name} {values.numel()}")
        lines.append(text(values))

    for n, _ in shapes:
        tensor(n, params[n])
    tensor("queries", h)
    tensor("values", s)
    lines.append(f"tensor lengths {B}")
    lines.append(" ".join(str(n) for n in lengths))
    tensor("context", c)
    tensor("weights", alpha)
    tensor("dcontext", dc)
    tensor("grad.queries", h.grad)
    tensor("grad.values", s.grad)
    for n, _ in shapes:
        tensor("grad." + n, params[n].grad)
    lines.append("end")
    with open(os.path.join(OUTPUT_DIR, name + ".txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    os.makedirs(OUTPUT_DIR, exist_ok=True)
    for case in CASES:
        write_case(*case)
    with open(os.path.join(OUTPUT_DIR, "README.txt"), "w") as f:
        f.write(f"""PyTorch reference fixtures for RNNKit's attention (Sources/RNNKit/Models/Attention.swift).

Generated by scripts/make-attention-fixtures.py with PyTorch {torch.__version__} (float64, CPU):

    /work/main/.perf-venv/bin/python scripts/make-attention-fixtures.py

Do not edit by hand; change the script and regenerate. The script's docstring describes the
equations and the file format. Cases: {", ".join(c[0] for c in CASES)}, each with ragged source
lengths containing 1 and S; general and additive read keys twice as wide as the queries (a
bidirectional encoder).
""")


if __name__ == "__main__":
    main()
