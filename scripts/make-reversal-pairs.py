#!/usr/bin/env python3
"""Writes pairs.tsv, the sequence-to-sequence example of docs/cli.md.

Each line is source<TAB>target: a string of 3-10 letters from a-h, and the same string reversed.

    python3 scripts/make-reversal-pairs.py [--lines 3000] [--seed 3] [--out pairs.tsv]
"""
import argparse
import random

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--lines", type=int, default=3000)
parser.add_argument("--seed", type=int, default=3)
parser.add_argument("--out", default="pairs.tsv")
args = parser.parse_args()

rng = random.Random(args.seed)
lines = []
for _ in range(args.lines):
    source = "".join(rng.choice("abcdefgh") for _ in range(rng.randint(3, 10)))
    lines.append(source + "\t" + source[::-1])
with open(args.out, "w") as f:
    f.write("\n".join(lines) + "\n")
