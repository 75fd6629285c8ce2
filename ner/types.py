"""Plain value types that flow through the pipeline.

All spans are half-open ``[start, end)``. For tokens and character spans the indices are Python
string indices (code points) into the caller's text; for tag spans they are token indices.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Token:
    """A token and where it sits in the original text: ``text == source[start:end]``."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Span:
    """A labelled half-open interval ``[start, end)`` (token or character indices)."""

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class Sentence:
    """One annotated sentence as read from a file, tags already converted to BIOES.

    ``doc_id`` counts ``-DOCSTART-`` markers seen before the sentence (0 when the file has none);
    ``line`` is the 1-based line number of the sentence's first token, for messages.
    """

    tokens: tuple[str, ...]
    tags: tuple[str, ...]
    doc_id: int = 0
    line: int = 0
