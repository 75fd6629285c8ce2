"""Raw text → tokens with character offsets, and sentences of them, per language.

English uses spaCy's rule-based English tokenizer (no statistical model), adjusted to CoNLL-2003
conventions: hyphenated words and dates (``Italian-born``, ``1996-08-22``) stay one token, as in the
corpus; clitics and punctuation split as in the Penn Treebank. Sentences come from spaCy's
rule-based sentencizer. Chinese is one token per character, whitespace skipped; sentences end after
``。！？；`` (and their ASCII forms) or a newline.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ner.types import Token

Tokenizer = Callable[[str], list[list[Token]]]

_ZH_ENDS = frozenset("。！？；!?;\n")


MAX_LEXEMES = 30_000  # words spaCy may remember before the English tokenizer starts afresh (~23 MiB)


def _english_pipeline() -> Any:
    import spacy
    from spacy.util import compile_infix_regex

    nlp = spacy.blank("en")
    # CoNLL-2003 keeps hyphenated compounds and dates whole; spaCy splits them as infixes.
    infixes = [p for p in nlp.Defaults.infixes if "(?:-|" not in p and r"[+\-\*^]" not in p]
    nlp.tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
    nlp.add_pipe("sentencizer")
    return nlp


class EnglishTokenizer:
    """Text to sentences of tokens, for English, with spaCy's memory kept bounded.

    spaCy interns every word it sees as a lexeme, and building one costs tens of microseconds, so a warm
    vocabulary makes tokenising about five times faster than starting cold on every call. A long-running
    service sees endless new words, though: once the vocabulary holds more than ``max_lexemes`` entries
    the pipeline is rebuilt (about 50 ms), which keeps memory bounded. (``nlp.memory_zone()`` per call
    bounds memory too, but pays the cold cost on every request.)
    """

    def __init__(self, max_lexemes: int = MAX_LEXEMES) -> None:
        if max_lexemes < 1:
            raise ValueError(f"max_lexemes must be positive, got {max_lexemes}")
        self.max_lexemes = max_lexemes
        self.nlp = _english_pipeline()
        # Calls are serialised: spaCy's vocabulary is shared, mutable state.
        self._lock = threading.Lock()

    def __call__(self, text: str) -> list[list[Token]]:
        with self._lock:
            if len(self.nlp.vocab) > self.max_lexemes:
                self.nlp = _english_pipeline()
            return _sentences(text, self.nlp(text))


def english_tokenizer(max_lexemes: int = MAX_LEXEMES) -> Tokenizer:
    """A function from text to sentences of tokens, for English (see :class:`EnglishTokenizer`)."""
    return EnglishTokenizer(max_lexemes)


def _sentences(text: str, doc: Any) -> list[list[Token]]:
    """Sentences of non-space tokens, read from the doc's arrays (no spaCy ``Token`` objects: faster)."""
    from spacy.attrs import IDX, IS_SPACE, LENGTH, SENT_START

    sentences: list[list[Token]] = []
    current: list[Token] = []
    for start, length, sent_start, is_space in doc.to_array([IDX, LENGTH, SENT_START, IS_SPACE]).tolist():
        if sent_start == 1 and current:
            sentences.append(current)
            current = []
        if not is_space:
            current.append(Token(text[start : start + length], start, start + length))
    if current:
        sentences.append(current)
    return sentences


def chinese_tokenizer() -> Tokenizer:
    """A function from text to sentences of one-character tokens, for Chinese."""

    def tokenize(text: str) -> list[list[Token]]:
        sentences: list[list[Token]] = []
        current: list[Token] = []
        for i, ch in enumerate(text):
            if not ch.isspace():
                current.append(Token(ch, i, i + 1))
            if ch in _ZH_ENDS and current:
                sentences.append(current)
                current = []
        if current:
            sentences.append(current)
        return sentences

    return tokenize


def tokenizer_for(lang: str) -> Tokenizer:
    """The tokenizer of a language code (``en`` or ``zh``)."""
    makers = {"en": english_tokenizer, "zh": chinese_tokenizer}
    if lang not in makers:
        raise ValueError(f"no tokenizer for language {lang!r}; known: {', '.join(makers)}")
    return makers[lang]()
