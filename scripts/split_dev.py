"""Write the dev split that ``ner train`` holds out of a training file to two files of their own.

    python scripts/split_dev.py ../shared/data/msra/train.txt --out runs/msra-s1 --seed 1
    # runs/msra-s1.train.txt and runs/msra-s1.dev.txt, BIOES tags

The split is the one ``ner train --train FILE`` (no ``--dev``) draws with ``train.seed = SEED``,
``train.dev_fraction`` and ``train.dev_block``, so a run given the two files with ``--train`` and ``--dev`` trains
on the same sentences and selects on the same dev set, whatever its own ``train.seed``: several seeds of a model
then share one dev split, and a student shares its teachers' (``train.teachers``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ner.conll import read_conll, write_conll
from ner.train import split_dev


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("train", type=Path, help="the training file (any scheme ner train reads)")
    parser.add_argument("--out", required=True, help="writes OUT.train.txt and OUT.dev.txt")
    parser.add_argument("--seed", type=int, default=1, help="train.seed of the split (default 1)")
    parser.add_argument("--fraction", type=float, default=0.05, help="train.dev_fraction (default 0.05)")
    parser.add_argument("--block", type=int, default=1, help="train.dev_block (default 1)")
    args = parser.parse_args(argv)
    train, dev = split_dev(read_conll(args.train).sentences, args.fraction, args.seed, args.block)
    summary = {}
    for name, sentences in (("train", train), ("dev", dev)):
        path = Path(f"{args.out}.{name}.txt")
        write_conll(path, sentences)
        summary[name] = {"path": str(path), "sentences": len(sentences)}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
