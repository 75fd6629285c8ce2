"""Readers and writers for column files: CoNLL-style (token first, tag last) and character-per-line
Chinese files (``CHAR TAG``), which are the same format with one character per token.

Sentences are separated by blank lines; ``-DOCSTART-`` lines mark document boundaries and are kept
as document ids, never as sentences. Tags are converted to BIOES on reading. Problems that make a
file unreadable raise :class:`DataFormatError` naming the file and line; tag slips that conlleval
would read anyway are repaired and reported once per file as a warning.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ner.tags import SCHEME_PREFIXES, Scheme, TagError, detect_scheme, split_tag, to_bioes
from ner.types import Sentence

logger = logging.getLogger(__name__)

DOCSTART = "-DOCSTART-"
_COLUMNS = re.compile(r"[ \t]+")


class DataFormatError(ValueError):
    """A data file that cannot be parsed; the message names the file and line."""

    def __init__(self, path: str | Path, line: int, problem: str) -> None:
        super().__init__(f"{path}:{line}: {problem}")
        self.path = str(path)
        self.line = line
        self.problem = problem


@dataclass
class Corpus:
    """Sentences read from one file, with what was learned while reading it."""

    path: str
    sentences: list[Sentence]
    scheme: Scheme
    slips: list[int] = field(default_factory=list)  # line numbers of repaired tags

    @property
    def types(self) -> list[str]:
        """Sorted entity types present in the corpus."""
        return sorted({t[2:] for s in self.sentences for t in s.tags if t != "O"})


@dataclass
class _Raw:
    tokens: list[str]
    tags: list[str]
    lines: list[int]
    doc_id: int


def _parse(lines: Iterable[str], path: str) -> list[_Raw]:
    raws: list[_Raw] = []
    current: _Raw | None = None
    doc_id = 0
    ncols = 0
    for lineno, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if lineno == 1:
            line = line.lstrip("\ufeff")
        # Split on ASCII blanks only: some corpora have tokens that are Unicode spaces (U+3000).
        cols = _COLUMNS.split(line.strip(" \t"))
        if cols == [""]:
            cols = []
        if not cols:
            current = None
            continue
        if cols[0] == DOCSTART:
            doc_id += 1
            current = None
            continue
        if len(cols) < 2:
            raise DataFormatError(path, lineno, f"expected a token and a tag, got one column: {line!r}")
        if ncols and len(cols) != ncols:
            raise DataFormatError(path, lineno, f"expected {ncols} columns as on earlier lines, got {len(cols)}")
        ncols = len(cols)
        token, tag = cols[0], cols[-1]
        if not token:
            raise DataFormatError(path, lineno, "empty token")
        try:
            split_tag(tag)
        except TagError as e:
            raise DataFormatError(path, lineno, str(e)) from None
        if current is None:
            current = _Raw([], [], [], doc_id)
            raws.append(current)
        current.tokens.append(token)
        current.tags.append(tag)
        current.lines.append(lineno)
    return raws


def parse_lines(lines: Iterable[str], path: str = "<input>", scheme: Scheme | None = None) -> Corpus:
    """Parse column-format lines into a :class:`Corpus` with BIOES tags.

    Args:
        lines: the file's lines.
        path: the name used in messages.
        scheme: the tag scheme; detected from the tags when ``None``.

    Raises:
        DataFormatError: a line cannot be parsed, or the tags fit no single scheme.
    """
    raws = _parse(lines, path)
    if scheme is None:
        try:
            scheme = detect_scheme([r.tags for r in raws])
        except TagError as e:
            raise DataFormatError(path, _first_conflict_line(raws), str(e)) from None
    sentences: list[Sentence] = []
    slips: list[int] = []
    for raw in raws:
        try:
            bioes, bad = to_bioes(raw.tags, scheme)
        except TagError as e:
            line = next((n for t, n in zip(raw.tags, raw.lines) if not _valid_in(t, scheme)), raw.lines[0])
            raise DataFormatError(path, line, str(e)) from None
        slips.extend(raw.lines[i] for i in bad)
        sentences.append(Sentence(tuple(raw.tokens), tuple(bioes), raw.doc_id, raw.lines[0]))
    if slips:
        where = ", ".join(f"{path}:{n}" for n in slips[:5])
        logger.warning(
            "%s: repaired %d tag(s) that break the %s scheme (read as conlleval does), first at %s",
            path,
            len(slips),
            scheme,
            where,
        )
    return Corpus(str(path), sentences, scheme, slips)


def _valid_in(tag: str, scheme: Scheme) -> bool:
    try:
        to_bioes([tag], scheme)
    except TagError:
        return False
    return True


def _first_conflict_line(raws: Sequence[_Raw]) -> int:
    """The line of the first tag whose prefix fits no scheme together with the prefixes before it."""
    seen: set[str] = set()
    for raw in raws:
        for tag, line in zip(raw.tags, raw.lines):
            seen.add(split_tag(tag)[0])
            if not any(seen - {"O"} <= set(roles) for roles in SCHEME_PREFIXES.values()):
                return line
    return raws[0].lines[0] if raws else 1


def read_conll(path: str | Path, scheme: Scheme | None = None) -> Corpus:
    """Read a CoNLL-style or character-per-line file (UTF-8) into BIOES-tagged sentences.

    Raises:
        DataFormatError: with the file and line of the first unreadable line.
        FileNotFoundError: the file does not exist.
    """
    path = Path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataFormatError(path, raw.count(b"\n", 0, e.start) + 1, "not valid UTF-8") from None
    # split("\n"), not splitlines(): Unicode line separators inside tokens must not shift line numbers.
    return parse_lines(text.split("\n"), str(path), scheme)


def format_conll(tokens: Sequence[str], tags: Sequence[str]) -> str:
    """One sentence in two-column format, followed by a blank line."""
    return "".join(f"{tok} {tag}\n" for tok, tag in zip(tokens, tags)) + "\n"


def write_conll(path: str | Path, sentences: Sequence[Sentence]) -> None:
    """Write ``sentences`` to ``path`` in two-column format, blank lines between them, as :func:`read_conll`
    reads them back (the same tokens, tags and documents: a ``-DOCSTART-`` line where the document changes)."""
    parts = []
    for i, sentence in enumerate(sentences):
        if i and sentence.doc_id != sentences[i - 1].doc_id:
            parts.append(f"{DOCSTART} O\n\n")
        parts.append(format_conll(sentence.tokens, sentence.tags))
    Path(path).write_text("".join(parts)[:-1], encoding="utf-8")
