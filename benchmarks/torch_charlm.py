#!/usr/bin/env python3
"""The PyTorch half of the end-to-end benchmark (scripts/perf-train): a plain character-level
language model script, written the way a PyTorch user would write it, with the same model,
data split, sampling, schedule, clipping and evaluation as the `rnnkit train` command it is
compared with. Run by the benchmark, never by CI's tests. Prints one JSON line:

    {"framework": "pytorch", "val_loss": nats/char, "validations": N, "train_seconds": s,
     "validation_seconds": s, "tokens_per_second": training tokens / train_seconds, ...}

What it does, matching rnnkit train:
  data        the text as Unicode code points; the last round(0.1 · n) characters (at least 2)
              are the validation text, the rest the training text.
  model       nn.Embedding(V, E) → nn.LSTM/nn.GRU(E, H, L) → nn.Linear(H, V), PyTorch's default
              initialisation.
  sampling    random: each step reads B windows of T characters at uniformly drawn positions of
              the training text, from a zero state (most PyTorch scripts); stream: B contiguous
              strips read T characters at a time with the state carried (char-rnn).
  step        cross-entropy over every position, backward, clip_grad_norm_(clip), optimizer step
              (Adam or AdamW, constant learning rate, optional linear warm-up).
  validation  every `eval_every` steps and after the last: the validation text read as `strips`
              contiguous strips side by side, windows of T with the state carried, the last
              strip continuing over the remainder; mean nats per predicted character.

Usage: torch_charlm.py --text FILE --cell lstm|gru --hidden H --layers L --embedding E
                       --seq-len T --batch B --steps N --lr R --clip C --threads K
                       [--eval-every N] [--sampling random|stream] [--seed S]
"""

import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn


class CharModel(nn.Module):
    def __init__(self, vocabulary, embedding, hidden, layers, cell):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, embedding)
        recurrent = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = recurrent(embedding, hidden, layers)
        self.head = nn.Linear(hidden, vocabulary)

    def forward(self, ids, state=None):              # ids [T, B] → logits [T, B, V]
        outputs, state = self.rnn(self.embedding(ids), state)
        return self.head(outputs), state


def detach(state):
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def last_row(state):
    """The state of the last batch row, as a batch of one: (L, B, H) → (L, 1, H)."""
    if isinstance(state, tuple):
        return tuple(s[:, -1:, :].contiguous() for s in state)
    return state[:, -1:, :].contiguous()


@torch.inference_mode()
def validation_loss(model, ids, window, strips):
    model.eval()
    predictions = len(ids) - 1
    B = max(1, min(strips, predictions))
    strip_length = predictions // B
    total, count = 0.0, 0

    def run(firsts, length, state):
        nonlocal total, count
        for start in range(0, length, window):
            T = min(window, length - start)
            rows = torch.stack([ids[f + start: f + start + T + 1] for f in firsts], dim=1)   # [T + 1, B]
            logits, state = model(rows[:-1], state)
            total += nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), rows[1:].reshape(-1),
                                                 reduction="sum").item()
            count += rows[1:].numel()
        return state

    final = run([b * strip_length for b in range(B)], strip_length, None)
    tail = predictions - B * strip_length
    if tail > 0:
        run([B * strip_length], tail, last_row(final))
    model.train()
    return total / count


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--text", required=True)
    parser.add_argument("--cell", choices=["lstm", "gru"], default="lstm")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--embedding", type=int, default=256)
    parser.add_argument("--seq-len", type=int, default=100)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--lr", type=float, default=0.002)
    parser.add_argument("--optimizer", choices=["adam", "adamw"], default="adam")
    parser.add_argument("--clip", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--eval-every", type=int, default=0, help="0: validate once, after the last step")
    parser.add_argument("--eval-strips", type=int, default=0, help="strips of the validation text (default: --batch)")
    parser.add_argument("--sampling", choices=["random", "stream"], default="random")
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    started = time.perf_counter()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    with open(args.text, encoding="utf-8") as f:
        text = f.read()
    characters = sorted(set(text))
    index = {c: i for i, c in enumerate(characters)}
    ids = torch.tensor([index[c] for c in text], dtype=torch.long)
    validation_count = max(2, round(len(ids) * args.val_fraction))
    train_ids, val_ids = ids[:-validation_count], ids[-validation_count:]

    model = CharModel(len(characters), args.embedding, args.hidden, args.layers, args.cell)
    optimizer_type = torch.optim.Adam if args.optimizer == "adam" else torch.optim.AdamW
    optimizer = optimizer_type(model.parameters(), lr=args.lr)
    T, B = args.seq_len, args.batch
    eval_every = args.eval_every or args.steps
    strips = args.eval_strips or B
    generator = torch.Generator().manual_seed(args.seed)
    strip_length = (len(train_ids) - 1) // B
    windows_per_epoch = strip_length // T
    state = None

    train_seconds = validation_seconds = 0.0
    validations, losses = [], []
    for step in range(1, args.steps + 1):
        step_started = time.perf_counter()
        if args.sampling == "random":
            starts = torch.randint(0, len(train_ids) - T, (B,), generator=generator)
            state = None
        else:
            window = (step - 1) % windows_per_epoch
            if window == 0:
                state = None
            starts = torch.arange(B) * strip_length + window * T
        positions = starts[None, :] + torch.arange(T + 1)[:, None]            # [T + 1, B]
        rows = train_ids[positions]
        logits, state = model(rows[:-1], state)
        state = detach(state)
        loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), rows[1:].reshape(-1))
        optimizer.zero_grad(set_to_none=False)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        optimizer.step()
        losses.append(loss.item())
        train_seconds += time.perf_counter() - step_started
        if step % eval_every == 0 or step == args.steps:
            validation_started = time.perf_counter()
            validations.append(validation_loss(model, val_ids, T, strips))
            validation_seconds += time.perf_counter() - validation_started

    print(json.dumps({
        "framework": "pytorch", "torch": torch.__version__, "threads": args.threads,
        "val_loss": validations[-1], "validations": len(validations), "validation_losses": validations,
        "train_loss_last": sum(losses[-20:]) / len(losses[-20:]),
        "train_seconds": train_seconds, "validation_seconds": validation_seconds,
        "tokens_per_second": args.steps * B * T / train_seconds,
        "script_seconds": time.perf_counter() - started,
        "parameters": sum(p.numel() for p in model.parameters()),
    }))


if __name__ == "__main__":
    sys.exit(main())
