"""How far the teachers' mean tag marginals (what a student of ``train.teachers`` learns) are from the gold tags.

    python scripts/teacher_softness.py --data ../shared/data/msra/train.txt --train-part 1 --sentences 3000 \
        --teacher zh --teacher runs/zh-bi150k-avg5-f16-s1/model --teacher runs/zh-mem-seg/model
    python scripts/teacher_softness.py --data ../shared/data/msra/test.txt \
        --teacher zh --teacher runs/zh-bi150k-avg5-f16-s1/model --teacher runs/zh-mem-seg/model

``--train-part SEED``: the training part of ``ner train``'s 5% split of ``--data`` with that seed (what the
student trains on), of which ``--sentences`` consecutive ones from a seeded random start. Prints one JSON line: the
tokens, their mean entropy (nats), the share whose most likely tag has a marginal below 0.9, the gold tag's mean
marginal, and the share whose most likely tag is not the gold one.
"""

from __future__ import annotations

import argparse
import json
import random
import sys

import numpy as np

from ner import checkpoint
from ner.conll import read_conll
from ner.distill import teacher_marginals
from ner.train import split_dev


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--teacher", action="append", required=True, help="shipped name or checkpoint (repeat)")
    parser.add_argument("--train-part", type=int, default=None, help="the training part of the split with this seed")
    parser.add_argument("--sentences", type=int, default=0, help="this many consecutive sentences (0: all)")
    args = parser.parse_args(argv)
    sentences = read_conll(args.data).sentences
    if args.train_part is not None:
        sentences = split_dev(sentences, 0.05, args.train_part, 1)[0]
    if 0 < args.sentences < len(sentences):
        start = random.Random(0).randrange(len(sentences) - args.sentences)
        sentences = sentences[start : start + args.sentences]
    labels = checkpoint.load(args.teacher[0])[0].labels
    unary = np.concatenate([t.unary for t in teacher_marginals(args.teacher, sentences, labels)])
    gold = np.array([labels.index(tag) for s in sentences for tag in s.tags])
    entropy = -(unary * np.log(np.clip(unary, 1e-12, 1.0))).sum(axis=1)
    row = {
        "tokens": len(gold),
        "mean_entropy": float(entropy.mean()),
        "unsure": float((unary.max(axis=1) < 0.9).mean()),
        "gold_marginal": float(unary[np.arange(len(gold)), gold].mean()),
        "argmax_not_gold": float((unary.argmax(axis=1) != gold).mean()),
    }
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
