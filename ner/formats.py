"""Output formats of ``ner predict``: JSON lines, CoNLL columns and spaCy/displaCy JSON.

- ``jsonl``: ``{"text", "entities": [{"text", "label", "start", "end", "score"}]}`` per input text;
- ``spacy``: ``{"text", "ents": [{"start", "end", "label"}]}`` per input text, what
  ``spacy.displacy.render(records, style="ent", manual=True)`` draws;
- ``conll``: one ``TOKEN TAG`` line per token with its BIOES tag and a blank line after each
  sentence, readable again by :func:`ner.conll.read_conll`.

Offsets are Python string indices (code points) into the text. Pure functions: no model, no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal, get_args

from ner.conll import format_conll
from ner.pipeline import Entity
from ner.tags import from_spans
from ner.types import Span, Token

Format = Literal["jsonl", "conll", "spacy"]
FORMATS: tuple[str, ...] = get_args(Format)


def jsonl_record(text: str, entities: Sequence[Entity]) -> str:
    """One JSON line: the text and its entities with offsets and scores."""
    return json.dumps({"text": text, "entities": [e.to_dict() for e in entities]}, ensure_ascii=False) + "\n"


def spacy_record(text: str, entities: Sequence[Entity]) -> str:
    """One JSON line in displaCy's manual format: ``{"text", "ents": [{"start", "end", "label"}]}``."""
    ents = [{"start": e.start, "end": e.end, "label": e.label} for e in entities]
    return json.dumps({"text": text, "ents": ents}, ensure_ascii=False) + "\n"


def sentence_tags(tokens: Sequence[Token], entities: Sequence[Entity]) -> list[str]:
    """BIOES tags of one sentence's tokens from character-offset entities.

    A token is inside an entity when its characters are; entities from :class:`ner.pipeline.Tagger`
    always start and end on token boundaries of the same tokenizer.
    """
    spans = []
    for e in entities:
        inside = [i for i, t in enumerate(tokens) if t.start >= e.start and t.end <= e.end]
        if inside:
            spans.append(Span(inside[0], inside[-1] + 1, e.label))
    return from_spans(spans, len(tokens), "bioes")


def conll_record(sentences: Sequence[Sequence[Token]], entities: Sequence[Entity]) -> str:
    """The sentences of one text as ``TOKEN TAG`` lines, a blank line after each sentence."""
    return "".join(format_conll([t.text for t in s], sentence_tags(s, entities)) for s in sentences)
