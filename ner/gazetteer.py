"""Gazetteers: lists of names by type, matched against a sentence's tokens as features.

A gazetteer file holds one name a line, ``TYPE<TAB>phrase`` (blank lines and lines starting with ``#``
are skipped). An English phrase's tokens are separated by spaces, as the tokenizer splits them
(``St. Louis``, ``U.S.``); a Chinese phrase is its characters, one token each. Matching ignores case
(``str.casefold``): the casing feature and the characters still tell ``Bill`` from ``bill``.

Each token gets, for every type, four flags: it begins (B), continues (I) or ends (E) a matched phrase of
that type, or is one (S). Every match counts, overlapping ones too: which of them is a name is the
model's to learn from context, as with the Chinese dictionary matches of :mod:`ner.lexicon`.

``features.gazetteer`` names a file, or NAME for one shipped as ``ner/pretrained/gazetteer-NAME.tsv``;
it is read when training and carried in the checkpoint, so serving needs neither the file nor what it
was built from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ner.shipped import PRETRAINED, resolve_shipped, shipped_file

SHIPPED = PRETRAINED
POSITIONS = ("B", "I", "E", "S")
MAX_PHRASE_TOKENS = 8  # longer phrases are refused
MAX_TYPES = 32


def split_phrase(phrase: str, chars: bool) -> tuple[str, ...]:
    """A phrase's tokens in lookup form: case-folded, split at spaces, or (``chars``) one per character."""
    if chars:
        return tuple(c.casefold() for c in phrase if not c.isspace())
    return tuple(t.casefold() for t in phrase.split())


class Gazetteer:
    """Typed phrases, and their B/I/E/S flags on a sentence's tokens (:meth:`flags`)."""

    def __init__(self, types: Sequence[str], phrases: dict[tuple[str, ...], tuple[int, ...]]) -> None:
        """``types``: the type names; ``phrases``: each phrase's tokens (lookup form) and its type ids."""
        if not types:
            raise ValueError("a gazetteer needs at least one type")
        if len(types) > MAX_TYPES:
            raise ValueError(f"a gazetteer has at most {MAX_TYPES} types, got {len(types)}")
        self.types = tuple(types)
        self.phrases = phrases
        # every proper prefix of a phrase: a match is looked for at a longer length only while one can follow
        self._prefixes = {p[:n] for p in phrases for n in range(1, len(p))}

    @property
    def size(self) -> int:
        """The number of flags per token: 4 per type."""
        return len(POSITIONS) * len(self.types)

    def __len__(self) -> int:
        return len(self.phrases)

    @classmethod
    def from_entries(cls, entries: Iterable[tuple[str, Sequence[str]]], types: Sequence[str] = ()) -> Gazetteer:
        """A gazetteer of (type, tokens in lookup form) pairs; ``types`` first, in their order, even one without
        phrases, then the others numbered in order of first appearance."""
        type_ids: dict[str, int] = {name: i for i, name in enumerate(types)}
        phrases: dict[tuple[str, ...], set[int]] = {}
        for name, tokens in entries:
            phrases.setdefault(tuple(tokens), set()).add(type_ids.setdefault(name, len(type_ids)))
        return cls(list(type_ids), {p: tuple(sorted(ids)) for p, ids in phrases.items()})

    @classmethod
    def read(cls, path: str | Path, chars: bool = False) -> Gazetteer:
        """Read a gazetteer file (``TYPE<TAB>phrase`` lines; ``chars``: Chinese, one token per character).

        Raises:
            ValueError: naming the file and line of the first line that is not one, or the file when it
                cannot be read or holds no phrase.
        """
        path = Path(path)
        entries: list[tuple[str, tuple[str, ...]]] = []
        try:
            with path.open(encoding="utf-8") as f:
                for number, raw in enumerate(f, 1):
                    line = raw.rstrip("\r\n")
                    if not line.strip() or line.startswith("#"):
                        continue
                    name, tab, phrase = line.partition("\t")
                    tokens = split_phrase(phrase, chars)
                    if not tab or not name.strip() or not tokens:
                        raise ValueError(f"{path}:{number}: expected TYPE<TAB>phrase, got {line[:80]!r}")
                    if len(tokens) > MAX_PHRASE_TOKENS:
                        raise ValueError(
                            f"{path}:{number}: a phrase of {len(tokens)} tokens; at most {MAX_PHRASE_TOKENS}"
                        )
                    entries.append((name.strip(), tokens))
        except UnicodeDecodeError as e:
            raise ValueError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
        except OSError as e:
            raise ValueError(f"{path}: cannot read the gazetteer: {e.strerror}") from None
        if not entries:
            raise ValueError(f"{path}: the gazetteer holds no phrase")
        return cls.from_entries(entries)

    def limited(self, max_tokens: int) -> Gazetteer:
        """The same types with the phrases of at most ``max_tokens`` tokens (1: single tokens, flagged S only).

        Raises:
            ValueError: when no phrase is that short.
        """
        phrases = {p: ids for p, ids in self.phrases.items() if len(p) <= max_tokens}
        if not phrases:
            raise ValueError(f"the gazetteer holds no phrase of at most {max_tokens} token(s)")
        return Gazetteer(self.types, phrases)

    def to_json(self) -> dict[str, Any]:
        """What a checkpoint stores: per type, its phrases (tokens joined by spaces) in one string, a line each."""
        by_type: list[list[str]] = [[] for _ in self.types]
        for tokens, ids in self.phrases.items():
            for i in ids:
                by_type[i].append(" ".join(tokens))
        return {"types": list(self.types), "phrases": ["\n".join(sorted(p)) for p in by_type]}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Gazetteer:
        """The inverse of :meth:`to_json`."""
        types, lines = value["types"], value["phrases"]
        if len(types) != len(lines):
            raise ValueError("gazetteer: one line list per type expected")
        entries = (
            (name, tuple(phrase.split(" ")))
            for name, text in zip(types, lines)
            for phrase in text.split("\n")
            if phrase
        )
        return cls.from_entries(entries, types)  # every type keeps its flags, one without phrases too

    def flags(self, tokens: Sequence[str]) -> list[list[int]]:
        """Per token, the indices of its active flags (type id × 4 + position in :data:`POSITIONS`)."""
        keys = [t.casefold() for t in tokens]
        found: list[list[int]] = [[] for _ in keys]
        phrases, prefixes, n = self.phrases, self._prefixes, len(keys)
        for start in range(n):
            for end in range(start + 1, n + 1):
                key = tuple(keys[start:end])
                ids = phrases.get(key, ())
                for i in ids:
                    base = i * len(POSITIONS)
                    if end - start == 1:
                        found[start].append(base + 3)
                        continue
                    found[start].append(base)
                    found[end - 1].append(base + 2)
                    for k in range(start + 1, end - 1):
                        found[k].append(base + 1)
                if key not in prefixes:
                    break
        return [sorted(set(f)) if len(f) > 1 else f for f in found]


def resolve_gazetteer(name_or_path: str | Path) -> Path:
    """The file of ``features.gazetteer``: a path, or NAME for ``gazetteer-NAME.tsv`` shipped in :data:`SHIPPED`.
    Raises ``ValueError`` naming both places, and the shipped names, when neither holds one."""
    return resolve_shipped(name_or_path, "gazetteer", ".tsv", "gazetteer", "features.gazetteer")


def shipped_sources(name: str) -> list[str]:
    """The sources and licences of the shipped gazetteer ``name`` (its file's comment lines after the first, which
    names the file), for a model card; none for a gazetteer of the user's own (a path)."""
    path = shipped_file(name, "gazetteer", ".tsv")
    if path is None:
        return []
    comments: list[str] = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.startswith("#"):
                break
            comments.append(line[1:].strip())
    return comments[1:]


def load_gazetteer(name_or_path: str | Path, chars: bool = False, max_tokens: int = MAX_PHRASE_TOKENS) -> Gazetteer:
    """Read the gazetteer ``features.gazetteer`` names (:func:`resolve_gazetteer`), with its phrases of at most
    ``max_tokens`` tokens (``features.gazetteer_max_tokens``)."""
    return Gazetteer.read(resolve_gazetteer(name_or_path), chars=chars).limited(max_tokens)
