"""Unlabelled English news text for distillation (``train.unlabelled``), from the Lee corpus that gensim ships.

``gensim`` (already in the ``train`` extra, for ``features.pretrained = "train-text"``) ships in its test data the
Lee corpus: 350 short news articles of the Australian Broadcasting Corporation (``lee_background.cor``, 300 of them,
and ``lee.cor``, 50 more; Lee, Pincombe and Welsh 2005), one article per line. That is the format ``train.unlabelled``
reads (``ner train`` splits each line into sentences and tokens as the service splits a request, and each line is a
document for a teacher with a document memory). This script writes them as UTF-8 (``lee.cor`` is Latin-1), each
article once (7 repeat), and prints one JSON line with what it read and wrote.

    python scripts/en_unlabelled_text.py --out runs/lee.txt

CoNLL-2003 is Reuters news of 1996; these articles are of another agency and years, and share no string of 8 tokens
with CoNLL-2003 dev beyond stock phrases (``, " he said . " It was``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ner.unlabelled import package_folder

SOURCES = ("lee_background.cor", "lee.cor")


def gensim_test_data() -> Path:
    """Where the installed ``gensim`` keeps its test data."""
    return package_folder("gensim", "pip install -e '.[train]'") / "test" / "test_data"


def articles(folder: Path) -> tuple[list[str], int]:
    """The articles of :data:`SOURCES` under ``folder``, each once, in order; and how many lines were read."""
    seen: set[str] = set()
    kept: list[str] = []
    read = 0
    for name in SOURCES:
        path = folder / name
        if not path.is_file():
            raise SystemExit(f"{path}: not found (is this gensim's test data?)")
        for line in path.read_bytes().decode("latin-1").splitlines():
            text = " ".join(line.split())
            if not text:
                continue
            read += 1
            if text not in seen:
                seen.add(text)
                kept.append(text)
    return kept, read


def main(argv: list[str] | None = None) -> int:
    """Write the articles to ``--out``, one per line; 0 when done."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="the text file to write (one article per line)")
    parser.add_argument("--source", type=Path, help="a folder holding the .cor files (default: gensim's test data)")
    args = parser.parse_args(argv)
    kept, read = articles(args.source or gensim_test_data())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(text + "\n" for text in kept), encoding="utf-8")
    words = sum(len(text.split()) for text in kept)
    print(json.dumps({"out": str(args.out), "articles_read": read, "articles_written": len(kept), "words": words}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
