"""Write a copy of a column file as data without documents: no ``-DOCSTART-`` lines, sentences shuffled.

    python scripts/undocument.py ../shared/data/conll2003/train.txt /tmp/nodocs/conll2003/train.txt --seed 1

Datasets of one tweet, review or question per sentence have no document marks, so a model with a
document memory (``features.doc_memory``) reads them as one long text whose neighbouring sentences are
unrelated. Shuffling a documented corpus's sentences and dropping its marks makes that case out of a
corpus whose documented form is also measured, so the two can be compared on the same sentences. The
sentence blocks are copied as they are (every column, the original tag scheme); only their order changes.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from ner.conll import DOCSTART


def sentence_blocks(text: str) -> list[str]:
    """The blank-line separated blocks of a column file, without the ``-DOCSTART-`` blocks."""
    blocks = [b.strip("\n") for b in text.replace("\r\n", "\n").split("\n\n")]
    return [b for b in blocks if b.strip() and not b.lstrip().startswith(DOCSTART)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--seed", type=int, default=1, help="seed of the shuffle")
    args = parser.parse_args()
    blocks = sentence_blocks(args.source.read_text(encoding="utf-8"))
    random.Random(args.seed).shuffle(blocks)
    args.target.parent.mkdir(parents=True, exist_ok=True)
    args.target.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    print(f"{args.target}: {len(blocks)} sentences, no document marks")


if __name__ == "__main__":
    main()
