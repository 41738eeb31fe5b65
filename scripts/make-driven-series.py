#!/usr/bin/env python3
"""Writes driven.csv, the multivariate forecasting example of docs/cli.md.

Columns t,x,y: x a seasonal driver (period 12) with noise, y following it two steps late,
y[t] = 2 x[t-2] + 1 + noise, so a model that reads x knows y's next two values.

    python3 scripts/make-driven-series.py [--rows 1200] [--seed 21] [--out driven.csv]
"""
import argparse
import math
import random

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--rows", type=int, default=1200)
parser.add_argument("--seed", type=int, default=21)
parser.add_argument("--out", default="driven.csv")
args = parser.parse_args()

rng = random.Random(args.seed)
x, lines = [], ["t,x,y"]
for t in range(args.rows):
    x.append(math.sin(2 * math.pi * t / 12) + rng.gauss(0, 0.3))
    y = 2 * x[t - 2] + 1 + rng.gauss(0, 0.05) if t >= 2 else 1.0
    lines.append(f"{t},{x[t]:.5f},{y:.5f}")
with open(args.out, "w") as f:
    f.write("\n".join(lines) + "\n")
