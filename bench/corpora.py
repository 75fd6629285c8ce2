"""Benchmark texts: CoNLL-2003 sentences as raw English text, MSRA sentences as raw Chinese text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ner.conll import read_conll


@dataclass(frozen=True)
class Texts:
    """Raw texts and how many tokens (gold CoNLL tokens, or Chinese characters) they hold in all."""

    name: str
    texts: list[str]
    tokens: int


def load_texts(path: str | Path, lang: str, limit: int | None = None) -> Texts:
    """Sentences of a CoNLL-style file as raw text: English tokens joined by spaces, Chinese characters
    joined with nothing. ``tokens`` counts the file's own tokens, so every system is divided by the same
    number whatever its tokenizer does."""
    sentences = read_conll(path).sentences[:limit]
    joiner = " " if lang == "en" else ""
    texts = [joiner.join(s.tokens) for s in sentences]
    return Texts(Path(path).name, texts, sum(len(s.tokens) for s in sentences))


def load_documents(path: str | Path, lang: str, limit: int | None = None) -> Texts:
    """The file's documents (sentences between ``-DOCSTART-`` lines) as raw texts, each document's
    sentences joined as :func:`load_texts` joins tokens; ``limit`` counts sentences."""
    sentences = read_conll(path).sentences[:limit]
    joiner = " " if lang == "en" else ""
    docs: dict[int, list[str]] = {}
    for s in sentences:
        docs.setdefault(s.doc_id, []).append(joiner.join(s.tokens))
    return Texts(
        f"{Path(path).name} (documents)", [joiner.join(d) for d in docs.values()], sum(len(s.tokens) for s in sentences)
    )
