#!/usr/bin/env python3
"""Writes names.conll, the sequence-tagging example of docs/cli.md.

CoNLL lines `word X tag` (IOB2), a blank line after each sentence: one to three entities per
sentence among filler words, each of one or two names from one pool and followed by said/says
(a PER) or city/town (a LOC). A name's type shows only in the word after the entity, so a
tagger that reads forwards only cannot know it at the entity's first token.

    python3 scripts/make-names-conll.py [--sentences 1500] [--seed 11] [--out names.conll]
"""
import argparse
import random

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--sentences", type=int, default=1500)
parser.add_argument("--seed", type=int, default=11)
parser.add_argument("--out", default="names.conll")
args = parser.parse_args()

rng = random.Random(args.seed)
names = "alba bruno cara dino elsa fabio gina hugo ida jon kara leo mira nico olga pia".split()
filler = "the a and then we saw met near old new with at in".split()
lines = ["-DOCSTART- -X- O O", ""]
for _ in range(args.sentences):
    for _ in range(rng.randint(1, 3)):
        lines += [f"{rng.choice(filler)} X O" for _ in range(rng.randint(1, 3))]
        kind = rng.choice(["PER", "LOC"])
        for k in range(rng.randint(1, 2)):
            lines.append(f"{rng.choice(names)} X {'B' if k == 0 else 'I'}-{kind}")
        lines.append(f"{rng.choice(['said', 'says'] if kind == 'PER' else ['city', 'town'])} X O")
    lines.append("")
with open(args.out, "w") as f:
    f.write("\n".join(lines) + "\n")
