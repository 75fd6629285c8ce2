"""Text in, entity spans out: the :class:`Tagger` ties tokenizer, featurizer and model together.

``text → sentences of tokens → feature ids → batch → emissions → Viterbi → BIOES tags → token
spans → character spans``. Character offsets are Python string indices into the caller's text.
Each entity's score is the CRF's probability of exactly that span with that label (forward-backward).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ner import checkpoint
from ner.crf import Posteriors
from ner.features import Batch, Encoded, Featurizer, memory_windows, pack_sequences
from ner.model import BiLstmCrf
from ner.tags import to_spans
from ner.tokenize import Tokenizer, tokenizer_for
from ner.types import Span, Token

BUCKET_GROWTH = 1.25  # a batch holds sentences up to this times its shortest one's length (+2 tokens) ...
MIN_BUCKET = 32  # ... once it holds this many sentences
MAX_SENTENCE_TOKENS = 250  # longer "sentences" are cut into pieces of at most this size
# Preferred places to cut an over-long sentence: after these tokens an entity rarely continues.
_SOFT_BREAKS = frozenset(",，、;；:：()（）[]【】\"“”'‘’「」《》")


@dataclass(frozen=True)
class Entity:
    """An entity found in a text: ``text == source[start:end]``."""

    text: str
    label: str
    start: int
    end: int
    score: float  # P(this span with this label | text) under the CRF, in [0, 1]

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "label": self.label, "start": self.start, "end": self.end, "score": self.score}


@dataclass(frozen=True)
class ScoredSpan:
    """A token span (``Span``) with the CRF probability of its label."""

    span: Span
    score: float


def _length_batches(
    featurizer: Featurizer, sentences: Sequence[Sequence[str]], batch_size: int
) -> Iterator[tuple[list[int], list[Encoded], Batch]]:
    """(sentence indices, their encoded sentences, batch) over the non-empty sentences, shortest first:
    at most ``batch_size`` sentences a batch, and once a batch holds :data:`MIN_BUCKET` sentences, a new
    one wherever the next sentence is longer than :data:`BUCKET_GROWTH` times the batch's first plus two
    tokens. Padding stays small for large calls; small calls stay one batch, since every batch costs a
    pass over its steps."""
    order = sorted((i for i, s in enumerate(sentences) if s), key=lambda i: len(sentences[i]))
    idx: list[int] = []
    for i in order:
        grown = len(idx) >= MIN_BUCKET and len(sentences[i]) > BUCKET_GROWTH * len(sentences[idx[0]]) + 2
        if idx and (len(idx) == batch_size or grown):
            items = [featurizer.encode(sentences[j]) for j in idx]
            yield idx, items, featurizer.collate(items)
            idx = []
        idx.append(i)
    if idx:
        items = [featurizer.encode(sentences[j]) for j in idx]
        yield idx, items, featurizer.collate(items)


def _scored_batches(
    model: BiLstmCrf,
    featurizer: Featurizer,
    sentences: Sequence[Sequence[str]],
    docs: Sequence[object] | None,
    batch_size: int,
) -> Iterator[tuple[list[int], Batch, torch.Tensor]]:
    """(sentence indices, batch, emissions) over the non-empty sentences, in :func:`_length_batches`.

    A model with a document memory needs the states of a whole memory window (``features.doc_memory``
    consecutive sentences of one document; ``docs`` gives each sentence's, ``None`` every sentence its
    own) before it can score any of its tokens. The BiLSTM reads each sentence alone, so the states are
    computed batch by batch first, by length as always; then each token's memory over its word's
    occurrences in its window (:class:`~ner.model.DocumentMemory`), and the emissions follow. Where the
    tag scores are linear in the memory (:meth:`~ner.model.BiLstmCrf.split_emissions`), the memory is read
    over each state's K tag-score projections instead of its H numbers: the same scores, less copying."""
    if not featurizer.config.doc_memory:
        for idx, _, batch in _length_batches(featurizer, sentences, batch_size):
            yield idx, batch, model.emissions(batch)
        return
    batches = list(_length_batches(featurizer, sentences, batch_size))
    if not batches:
        return
    kept = sorted(i for idx, _, _ in batches for i in idx)
    windows = memory_windows([i if docs is None else docs[i] for i in kept], featurizer.config.doc_memory)
    # model.alone_head: a window of few sentences (model.alone_head_sentences) is tagged without the memory
    few = model.config.alone_head_sentences if model.emit_alone is not None else 0
    lone = {kept[j] for window in windows if len(window) <= few for j in window}
    if len(lone) == len(kept):  # texts of few sentences only (the usual request): no memory to read at all
        for idx, _, batch in batches:
            yield idx, batch, model.alone_emissions(model.encode(batch))
        return
    window_of = {kept[j]: w for w, window in enumerate(windows) for j in window}
    groups: dict[tuple[int, str], int] = {}  # (window, word key) -> group id, from 1
    token_groups = [
        groups.setdefault((window_of[i], key), len(groups) + 1)
        for idx, items, _ in batches
        for i, item in zip(idx, items)
        for key in item.keys or ()
    ]
    assert model.memory is not None
    states = [model.encode(batch) for _, _, batch in batches]  # (B, T, H) each
    masks = [batch.mask for _, _, batch in batches]
    flat_groups = torch.tensor(token_groups).unsqueeze(0)  # (1, tokens)
    flat_attention = None
    queries_keys = [model.memory.attention_inputs(h) for h in states]  # (B, T, d) pairs, or None for the mean
    if queries_keys[0] is not None:
        queries, keys = zip(*queries_keys)
        flat_attention = (_flatten(queries, masks), _flatten(keys, masks))
    split = [model.split_emissions(h) for h in states]  # None for every batch or for none: it is the model's
    if split[0] is not None:
        # The tag scores are linear in the memory: read the memory of each state's K tag scores instead of
        # its H numbers, at a fraction of the copying, and add it to the scores of the states alone.
        own, values = zip(*split)
        memory = model.memory.read(_flatten(values, masks), flat_groups, flat_attention)[0]  # (tokens, K)
        for scores, share, h, (idx, _, batch) in zip(own, _unflatten(memory, masks), states, batches):
            yield idx, batch, _lone_rows_alone(model, scores + share, h, idx, lone)
        return
    memory = model.memory.read(_flatten(states, masks), flat_groups, flat_attention)[0]  # (tokens, H)
    for h, share, (idx, _, batch) in zip(states, _unflatten(memory, masks), batches):
        yield idx, batch, _lone_rows_alone(model, model.emissions(batch, h, memory=share), h, idx, lone)


def _lone_rows_alone(
    model: BiLstmCrf, emissions: torch.Tensor, states: torch.Tensor, idx: Sequence[int], lone: set[int]
) -> torch.Tensor:
    """``emissions`` (B, T, K) with the rows of the sentences in ``lone`` (in a memory window of at most
    ``model.alone_head_sentences``) scored without the memory (:meth:`~ner.model.BiLstmCrf.alone_emissions`)."""
    rows = [row for row, i in enumerate(idx) if i in lone]
    if rows:
        emissions[rows] = model.alone_emissions(states[rows])
    return emissions


def _flatten(tensors: Sequence[torch.Tensor], masks: Sequence[torch.Tensor]) -> torch.Tensor:
    """The real tokens of a list of (B, T, V) batches as one (1, tokens, V) sequence, batch after batch."""
    return torch.cat([t[mask] for t, mask in zip(tensors, masks)]).unsqueeze(0)


def _unflatten(flat: torch.Tensor, masks: Sequence[torch.Tensor]) -> Iterator[torch.Tensor]:
    """:func:`_flatten` undone: each batch's (B, T, V) share of ``flat`` (tokens, V), zeros at padding."""
    start = 0
    for mask in masks:
        count = int(mask.sum())
        padded = flat.new_zeros(*mask.shape, flat.shape[-1])
        padded[mask] = flat[start : start + count]
        start += count
        yield padded


def tag_sentences(
    model: BiLstmCrf,
    featurizer: Featurizer,
    sentences: Sequence[Sequence[str]],
    batch_size: int = 128,
    docs: Sequence[object] | None = None,
) -> list[list[str]]:
    """BIOES tags for tokenised sentences, batched by length; empty sentences get no tags. ``docs``: the
    document of each sentence, for models with a document memory (``None``: every sentence its own)."""
    out: list[list[str]] = [[] for _ in sentences]
    with _eval_mode(model), torch.inference_mode():
        for idx, batch, emissions in _scored_batches(model, featurizer, sentences, docs, batch_size):
            for i, path in zip(idx, model.crf.viterbi(emissions, batch.mask)):
                out[i] = [model.labels[j] for j in path]
    return out


def tag_posteriors(
    model: BiLstmCrf,
    featurizer: Featurizer,
    sentences: Sequence[Sequence[str]],
    docs: Sequence[object] | None = None,
    batch_size: int = 64,
) -> Iterator[tuple[list[int], Posteriors]]:
    """(sentence indices, forward-backward posteriors of their batch) over the non-empty sentences, scored as
    :func:`tag_sentences` scores them (``docs``: the same)."""
    with _eval_mode(model), torch.inference_mode():
        for idx, batch, emissions in _scored_batches(model, featurizer, sentences, docs, batch_size):
            yield idx, model.crf.posteriors(emissions, batch.mask)


def decode_spans(
    model: BiLstmCrf,
    featurizer: Featurizer,
    sentences: Sequence[Sequence[str]],
    batch_size: int = 64,
    docs: Sequence[object] | None = None,
) -> list[list[ScoredSpan]]:
    """Viterbi entity spans per tokenised sentence, each scored by its forward-backward probability
    (``docs``: as for :func:`tag_sentences`)."""
    out: list[list[ScoredSpan]] = [[] for _ in sentences]
    with _eval_mode(model), torch.inference_mode():
        for idx, batch, emissions in _scored_batches(model, featurizer, sentences, docs, batch_size):
            paths = model.crf.viterbi_paths(emissions, batch.mask)
            posteriors = model.crf.posteriors(emissions, batch.mask)
            found: list[tuple[int, int, Span]] = []  # (sentence, batch row, span)
            for row, (i, path) in enumerate(zip(idx, paths.tolist())):
                labels = [model.labels[j] for j in path[: len(sentences[i])]]
                found.extend((i, row, span) for span in to_spans(labels, "bioes")[0])
            rows, starts, ends = (torch.tensor(column, dtype=torch.long) for column in _columns(found))
            log_ps = posteriors.segment_log_probs(paths, rows, starts, ends).tolist()
            for (i, _, span), log_p in zip(found, log_ps):
                out[i].append(ScoredSpan(span, min(1.0, math.exp(log_p))))
    return out


def _columns(found: Sequence[tuple[int, int, Span]]) -> tuple[list[int], list[int], list[int]]:
    return [row for _, row, _ in found], [s.start for _, _, s in found], [s.end for _, _, s in found]


@contextmanager
def _eval_mode(model: BiLstmCrf) -> Iterator[None]:
    if not model.training:  # the usual case at inference: nothing to switch (switching walks every module)
        yield
        return
    model.eval()
    try:
        yield
    finally:
        model.train()


def tokens_to_entities(text: str, tokens: Sequence[Token], spans: Sequence[ScoredSpan]) -> list[Entity]:
    """Character-level entities from one sentence's tokens and its scored token spans."""
    entities = []
    for scored in spans:
        start, end = tokens[scored.span.start].start, tokens[scored.span.end - 1].end
        entities.append(Entity(text[start:end], scored.span.label, start, end, scored.score))
    return entities


def split_long(sentence: Sequence[Token], max_tokens: int = MAX_SENTENCE_TOKENS) -> list[list[Token]]:
    """Cut a sentence into pieces of at most ``max_tokens`` tokens, preferring cuts after soft
    punctuation (commas, colons, brackets, quotes) in the second half of each window."""
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be positive, got {max_tokens}")
    pieces: list[list[Token]] = []
    rest = list(sentence)
    while len(rest) > max_tokens:
        cut = max_tokens
        for j in range(max_tokens - 1, max_tokens // 2 - 1, -1):
            if rest[j].text in _SOFT_BREAKS:
                cut = j + 1
                break
        pieces.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        pieces.append(rest)
    return pieces


class Tagger:
    """A loaded model with its tokenizer: ``Tagger.predict(texts)`` gives entities per text."""

    def __init__(
        self, model: BiLstmCrf, featurizer: Featurizer, config: dict[str, Any], name: str = "", quantize: bool = False
    ) -> None:
        self.model = model.eval().quantized() if quantize else model.eval()
        self.quantized = quantize
        self.featurizer = featurizer
        self.config = config
        self.name = name
        self.lang: str = featurizer.config.lang
        self.tokenize: Tokenizer = tokenizer_for(self.lang)

    @classmethod
    def load(cls, name_or_path: str | Path, quantize: bool = False) -> Tagger:
        """Load a shipped model by name (``en``, ``zh``) or a checkpoint directory; ``quantize``: int8 LSTM
        weights, faster on CPU at a small accuracy cost (see :meth:`BiLstmCrf.quantized`)."""
        model, featurizer, config = checkpoint.load(name_or_path)
        return cls(model, featurizer, config, name=str(name_or_path), quantize=quantize)

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
                sentences.extend(split_long(sentence))
            # Models trained with document context read neighbouring sentences of a text together.
            for run in pack_sequences([0] * len(sentences), [len(s) for s in sentences], context):
                pieces.append((i, [tok for j in run for tok in sentences[j]]))
        with torch.inference_mode():
            spans = decode_spans(
                self.model,
                self.featurizer,
                [[t.text for t in p] for _, p in pieces],
                batch_size,
                docs=[i for i, _ in pieces],  # each text is one document
            )
        results: list[list[Entity]] = [[] for _ in texts]
        for (i, tokens), sentence_spans in zip(pieces, spans):
            results[i].extend(tokens_to_entities(texts[i], tokens, sentence_spans))
        for entities in results:
            entities.sort(key=lambda e: e.start)
        return results


def load(name_or_path: str | Path, quantize: bool = False) -> Tagger:
    """Load a :class:`Tagger`: ``load("en")``, ``load("zh")`` or ``load("runs/my-model")``."""
    return Tagger.load(name_or_path, quantize)
