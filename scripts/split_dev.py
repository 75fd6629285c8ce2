"""Write the dev split that ``ner train`` holds out of a training file to two files of their own.

    python scripts/split_dev.py ../shared/data/msra/train.txt --out runs/msra-s1 --seed 1
    # runs/msra-s1.train.txt and runs/msra-s1.dev.txt, BIOES tags

The split is the one ``ner train --train FILE`` (no ``--dev``) draws with ``train.seed = SEED``,
``train.dev_fraction`` and ``train.dev_block``, so a run given the two files with ``--train`` and ``--dev`` trains
on the same sentences and selects on the same dev set, whatever its own ``train.seed``: several seeds of a model
then share one dev split, and a student shares its teachers' (``train.teachers``).

``--survey`` writes nothing: for each block size of ``--blocks`` and seed of ``--seeds`` it prints the share of the
dev split's mentions (type and tokens) that its training part never has as a mention, one JSON line a split. A held-out
test set of other articles has more such mentions than a split of single sentences, whose neighbours from the same
article stay in training (MSRA: 28.5% on test, 15.5% on the 5% split of seed 1; docs/ACCURACY.md):

    python scripts/split_dev.py ../shared/data/msra/train.txt --survey --blocks 1,50,100,250 --seeds 1,2,3
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ner.augment import mentions
from ner.conll import read_conll, write_conll
from ner.train import split_dev
from ner.types import Sentence


def unseen_share(train: list[Sentence], dev: list[Sentence]) -> tuple[int, float]:
    """The number of ``dev``'s mentions, and the share of them that ``train`` never has as a mention."""
    seen = {m for s in train for m in mentions(s)}
    found = [m for s in dev for m in mentions(s)]
    return len(found), (sum(m not in seen for m in found) / len(found) if found else 0.0)


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("train", type=Path, help="the training file (any scheme ner train reads)")
    parser.add_argument("--out", help="writes OUT.train.txt and OUT.dev.txt")
    parser.add_argument("--seed", type=int, default=1, help="train.seed of the split (default 1)")
    parser.add_argument("--fraction", type=float, default=0.05, help="train.dev_fraction (default 0.05)")
    parser.add_argument("--block", type=int, default=1, help="train.dev_block (default 1)")
    parser.add_argument("--survey", action="store_true", help="print each split's share of unseen mentions instead")
    parser.add_argument("--blocks", type=_ints, default=[1, 100], help="with --survey: block sizes (default 1,100)")
    parser.add_argument("--seeds", type=_ints, default=[1, 2, 3], help="with --survey: seeds (default 1,2,3)")
    args = parser.parse_args(argv)
    read = read_conll(args.train).sentences
    if args.survey:
        for block in args.blocks:
            for seed in args.seeds:
                train, dev = split_dev(read, args.fraction, seed, block)
                count, share = unseen_share(train, dev)
                row = {"block": block, "seed": seed, "sentences": len(dev), "mentions": count}
                print(json.dumps({**row, "unseen": round(share, 4)}))
        return 0
    if not args.out:
        parser.error("--out is needed (or --survey)")
    train, dev = split_dev(read, args.fraction, args.seed, args.block)
    summary = {}
    for name, sentences in (("train", train), ("dev", dev)):
        path = Path(f"{args.out}.{name}.txt")
        write_conll(path, sentences)
        summary[name] = {"path": str(path), "sentences": len(sentences)}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
