#!/usr/bin/env python3
"""Writes reviews.tsv, the text-classification example of docs/cli.md.

Each line is label<TAB>text: 4-12 filler words with one sentiment word inserted, preceded by
"not" in 30% of the lines, which flips the label (pos/neg), so a model has to read the word
before the sentiment word, not only count words.

    python3 scripts/make-reviews-tsv.py [--lines 2000] [--seed 8] [--out reviews.tsv]
"""
import argparse
import random

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--lines", type=int, default=2000)
parser.add_argument("--seed", type=int, default=8)
parser.add_argument("--out", default="reviews.tsv")
args = parser.parse_args()

rng = random.Random(args.seed)
filler = "the a movie film plot actors was is and it this really quite very story ending music scenes time with".split()
positive = "good great wonderful fun lovely".split()
negative = "bad awful boring dull terrible".split()
lines = []
for _ in range(args.lines):
    words = [rng.choice(filler) for _ in range(rng.randint(4, 12))]
    is_positive = rng.random() < 0.5
    word = rng.choice(positive if is_positive else negative)
    negated = rng.random() < 0.3
    words.insert(rng.randint(0, len(words)), "not " + word if negated else word)
    lines.append(("pos" if is_positive != negated else "neg") + "\t" + " ".join(words))
with open(args.out, "w") as f:
    f.write("\n".join(lines) + "\n")
