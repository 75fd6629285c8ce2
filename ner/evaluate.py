"""Entity-level scores from seqeval (strict mode, IOBES), and running a model over gold sentences."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from seqeval.metrics import classification_report
from seqeval.scheme import IOBES

from ner.features import Featurizer, pack_sentences
from ner.model import BiLstmCrf
from ner.pipeline import tag_sentences
from ner.types import Sentence


def score(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Micro precision/recall/F1 and per-type scores of BIOES tag sequences.

    Returns:
        ``{"precision", "recall", "f1", "per_type": {TYPE: {"precision", "recall", "f1", "support"}}}``
        with fractions in [0, 1]. With no gold and no predicted entities every score is 0.
    """
    if len(gold) != len(predicted) or any(len(g) != len(p) for g, p in zip(gold, predicted)):
        raise ValueError("gold and predicted tag sequences must have the same shapes")
    report = classification_report(
        [list(g) for g in gold],
        [list(p) for p in predicted],
        mode="strict",
        scheme=IOBES,
        output_dict=True,
        zero_division=0,
    )
    micro = report.get("micro avg", {"precision": 0.0, "recall": 0.0, "f1-score": 0.0})
    per_type = {
        label: {
            "precision": float(v["precision"]),
            "recall": float(v["recall"]),
            "f1": float(v["f1-score"]),
            "support": int(v["support"]),
        }
        for label, v in sorted(report.items())
        if not label.endswith(" avg")
    }
    return {
        "precision": float(micro["precision"]),
        "recall": float(micro["recall"]),
        "f1": float(micro["f1-score"]),
        "per_type": per_type,
    }


def format_table(result: dict[str, Any]) -> str:
    """A readable per-type table of :func:`score`'s result."""
    rows = [f"{'type':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for label, v in result["per_type"].items():
        rows.append(f"{label:<10}{v['precision']:>10.4f}{v['recall']:>10.4f}{v['f1']:>10.4f}{v['support']:>10}")
    support = sum(v["support"] for v in result["per_type"].values())
    rows.append(
        f"{'overall':<10}{result['precision']:>10.4f}{result['recall']:>10.4f}{result['f1']:>10.4f}{support:>10}"
    )
    return "\n".join(rows)


def predict_sequences(
    model: BiLstmCrf, featurizer: Featurizer, sentences: Sequence[Sentence], batch_size: int = 128
) -> tuple[list[Sentence], list[list[str]]]:
    """The sequences a model is scored on (neighbouring sentences packed together when the model
    reads document context, else the sentences themselves) and its predicted BIOES tags for each."""
    sequences = pack_sentences(sentences, featurizer.config.context_tokens)
    tokens = [s.tokens for s in sequences]
    return sequences, tag_sentences(model, featurizer, tokens, batch_size, docs=[s.doc_id for s in sequences])


def evaluate_sentences(
    model: BiLstmCrf, featurizer: Featurizer, sentences: Sequence[Sentence], batch_size: int = 128
) -> dict[str, Any]:
    """Entity-level scores of the model on gold sentences (any labels; unknown ones count as missed)."""
    sequences, predicted = predict_sequences(model, featurizer, sentences, batch_size)
    result = score([s.tags for s in sequences], predicted)
    result["sentences"] = len(sentences)
    result["tokens"] = sum(len(s.tokens) for s in sentences)
    return result


def as_texts(sentences: Sequence[Sentence], size: int) -> list[Sentence]:
    """The sentences with each run of ``size`` consecutive sentences of one document as a document of its
    own (the last run of a document may be shorter): what a model with a document memory reads when a
    caller sends texts of ``size`` sentences. ``size = 1``: every sentence alone."""
    if size < 1:
        raise ValueError("a text holds at least one sentence")
    out: list[Sentence] = []
    text, count, previous = -1, 0, None
    for i, sent in enumerate(sentences):
        if i == 0 or sent.doc_id != previous or count == size:
            text, count, previous = text + 1, 0, sent.doc_id
        count += 1
        out.append(dataclasses.replace(sent, doc_id=text))
    return out
