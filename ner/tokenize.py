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


def english_tokenizer() -> Tokenizer:
    """A function from text to sentences of tokens, for English."""
    import spacy
    from spacy.util import compile_infix_regex

    nlp = spacy.blank("en")
    # CoNLL-2003 keeps hyphenated compounds and dates whole; spaCy splits them as infixes.
    infixes = [p for p in nlp.Defaults.infixes if "(?:-|" not in p and r"[+\-\*^]" not in p]
    nlp.tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
    nlp.add_pipe("sentencizer")

    # Memory zones share one string store: two threads in zones at once could free each other's
    # strings, so calls are serialised (tokenising is a small share of a model call).
    lock = threading.Lock()

    def tokenize(text: str) -> list[list[Token]]:
        # A memory zone frees the strings spaCy interns for this text; without it a long-running service
        # keeps every word it has ever seen. Tokens leave as plain str/int, so nothing outlives the zone.
        with lock, nlp.memory_zone():
            sentences = (_sentence_tokens(sent) for sent in nlp(text).sents)
            return [s for s in sentences if s]

    return tokenize


def _sentence_tokens(sent: Any) -> list[Token]:
    return [Token(t.text, t.idx, t.idx + len(t.text)) for t in sent if not t.is_space]


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
