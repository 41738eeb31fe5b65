#!/usr/bin/env python3
"""Writes sensors.csv, the sequence-classification example of docs/cli.md.

One row per time step: recording,subject,t,ax,ay,az,activity. 'still' is noise around (0, 0, 1);
'walk' and 'run' turn (ax, ay) round a circle of radius 0.8 with periods of 10 and 5 steps, so
only the timing tells them apart. Recordings are 20-60 steps long.

    python3 scripts/make-sensor-csv.py [--recordings 300] [--seed 5] [--out sensors.csv]
"""
import argparse
import math
import random

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--recordings", type=int, default=300)
parser.add_argument("--seed", type=int, default=5)
parser.add_argument("--out", default="sensors.csv")
args = parser.parse_args()

rng = random.Random(args.seed)
lines = ["recording,subject,t,ax,ay,az,activity"]
for n in range(args.recordings):
    activity = rng.choice(["walk", "run", "still"])
    length = rng.randint(20, 60)
    phase = rng.random() * 2 * math.pi
    period = {"walk": 10, "run": 5}.get(activity)
    for t in range(length):
        if period is None:
            ax, ay = rng.gauss(0, 0.3), rng.gauss(0, 0.3)
        else:
            ax = 0.8 * math.sin(2 * math.pi * t / period + phase) + rng.gauss(0, 0.3)
            ay = 0.8 * math.cos(2 * math.pi * t / period + phase) + rng.gauss(0, 0.3)
        az = 1 + rng.gauss(0, 0.3)
        lines.append(f"rec{n},s{n % 7},{t},{ax:.4f},{ay:.4f},{az:.4f},{activity}")
with open(args.out, "w") as f:
    f.write("\n".join(lines) + "\n")
