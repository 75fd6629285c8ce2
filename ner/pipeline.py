"""Text in, entity spans out: the :class:`Tagger` ties tokenizer, featurizer and model together.

``text → sentences of tokens → feature ids → batch → emissions → Viterbi → BIOES tags → token
spans → character spans``. Character offsets are Python string indices into the caller's text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ner import checkpoint
from ner.features import Featurizer, pack_sequences
from ner.model import BiLstmCrf
from ner.tags import to_spans
from ner.tokenize import Tokenizer, tokenizer_for
from ner.types import Span, Token

MAX_SENTENCE_TOKENS = 250  # longer "sentences" are cut into pieces of this size


@dataclass(frozen=True)
class Entity:
    """An entity found in a text: ``text == source[start:end]``."""

    text: str
    label: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "label": self.label, "start": self.start, "end": self.end}


def tag_sentences(
    model: BiLstmCrf, featurizer: Featurizer, sentences: Sequence[Sequence[str]], batch_size: int = 128
) -> list[list[str]]:
    """BIOES tags for tokenised sentences, batched by length; empty sentences get no tags."""
    was_training = model.training
    model.eval()
    out: list[list[str]] = [[] for _ in sentences]
    order = sorted((i for i, s in enumerate(sentences) if s), key=lambda i: len(sentences[i]))
    for k in range(0, len(order), batch_size):
        idx = order[k : k + batch_size]
        batch = featurizer.collate([featurizer.encode(sentences[i]) for i in idx])
        for i, path in zip(idx, model.decode(batch)):
            out[i] = [model.labels[j] for j in path]
    model.train(was_training)
    return out


def tokens_to_entities(text: str, tokens: Sequence[Token], tags: Sequence[str]) -> list[Entity]:
    """Character-level entities from one sentence's tokens and its (valid) BIOES tags."""
    spans: list[Span] = to_spans(tags, "bioes")[0]
    entities = []
    for span in spans:
        start, end = tokens[span.start].start, tokens[span.end - 1].end
        entities.append(Entity(text[start:end], span.label, start, end))
    return entities


class Tagger:
    """A loaded model with its tokenizer: ``Tagger.predict(texts)`` gives entities per text."""

    def __init__(self, model: BiLstmCrf, featurizer: Featurizer, config: dict[str, Any], name: str = "") -> None:
        self.model = model.eval()
        self.featurizer = featurizer
        self.config = config
        self.name = name
        self.lang: str = featurizer.config.lang
        self.tokenize: Tokenizer = tokenizer_for(self.lang)

    @classmethod
    def load(cls, name_or_path: str | Path) -> Tagger:
        """Load a shipped model by name (``en``, ``zh``) or a checkpoint directory."""
        model, featurizer, config = checkpoint.load(name_or_path)
        return cls(model, featurizer, config, name=str(name_or_path))

    @property
    def labels(self) -> list[str]:
        """Entity types the model can emit."""
        return sorted({t[2:] for t in self.model.labels if t != "O"})

    def predict(self, texts: Sequence[str], batch_size: int = 64) -> list[list[Entity]]:
        """Entities for each text, sorted by start offset, never overlapping."""
        pieces: list[tuple[int, list[Token]]] = []
        context = self.featurizer.config.context_tokens
        for i, text in enumerate(texts):
            sentences: list[list[Token]] = []
            for sentence in self.tokenize(text):
                sentences.extend(
                    sentence[k : k + MAX_SENTENCE_TOKENS] for k in range(0, len(sentence), MAX_SENTENCE_TOKENS)
                )
            # Models trained with document context read neighbouring sentences of a text together.
            for run in pack_sequences([0] * len(sentences), [len(s) for s in sentences], context):
                pieces.append((i, [tok for j in run for tok in sentences[j]]))
        with torch.inference_mode():
            tags = tag_sentences(self.model, self.featurizer, [[t.text for t in p] for _, p in pieces], batch_size)
        results: list[list[Entity]] = [[] for _ in texts]
        for (i, tokens), sentence_tags in zip(pieces, tags):
            results[i].extend(tokens_to_entities(texts[i], tokens, sentence_tags))
        for entities in results:
            entities.sort(key=lambda e: e.start)
        return results


def load(name_or_path: str | Path) -> Tagger:
    """Load a :class:`Tagger`: ``load("en")``, ``load("zh")`` or ``load("runs/my-model")``."""
    return Tagger.load(name_or_path)
