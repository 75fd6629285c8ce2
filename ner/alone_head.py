"""Tag scores without the document memory, fitted on a trained model's frozen states (``model.alone_head``).

A model with a document memory reads, for each token, its word's other mentions in the same text. A text
of one sentence has none to read, and a model trained within documents tags it worse than a model without
a memory does (docs/ACCURACY.md). After training, :func:`fit_alone_head` fits a second linear layer from
the BiLSTM's states to the tag scores, with everything else (embeddings, BiLSTM, memory, CRF) frozen, so
tagging within documents stays as trained; tagging reads the new layer for every memory window of at most
``model.alone_head_sentences`` sentences (:mod:`ner.pipeline`).
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ner.config import TrainConfig
from ner.evaluate import as_texts, evaluate_sentences
from ner.features import Encoded, Featurizer
from ner.model import BiLstmCrf
from ner.types import Sentence

logger = logging.getLogger(__name__)


@dataclass
class AloneHeadFit:
    """What fitting did: dev F1 with every sentence alone before (epoch 0) and after each epoch."""

    best_epoch: int
    dev_f1_alone: float
    epochs: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def add_alone_head(model: BiLstmCrf) -> None:
    """Give a document-memory model tag scores without its memory (``model.alone_head``), starting from
    what it computes for a sentence alone: where the memory includes the token itself and feeds the tag
    scores linearly, a word met once in its window reads its own state as memory, so its scores are the
    states through the sum of the two halves of the tag-score weights."""
    if model.memory is None:
        raise ValueError("only a model with a document memory has tag scores without it")
    hidden = 2 * model.config.hidden_size
    model.emit_alone = nn.Linear(hidden, len(model.labels))
    if model.emit_hidden is None and model.memory.include_self:
        with torch.no_grad():
            model.emit_alone.weight.copy_(model.emit.weight[:, :hidden] + model.emit.weight[:, hidden:])
            model.emit_alone.bias.copy_(model.emit.bias)
    model.config = dataclasses.replace(model.config, alone_head=True)


def fit_alone_head(
    model: BiLstmCrf,
    featurizer: Featurizer,
    examples: Sequence[tuple[Encoded, list[int]]],
    dev: Sequence[Sentence],
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int,
    eval_batch_size: int = 128,
) -> AloneHeadFit:
    """Fit ``model``'s tag scores without the memory (added by :func:`add_alone_head` if missing) on the
    training ``examples`` (encoded sentences and label ids), everything else frozen: Adam at ``lr``,
    dropout on the states as in training, for ``epochs`` passes; keep the weights with the best F1 on
    ``dev`` with every sentence tagged alone (epoch 0: as added). Leaves ``model`` in eval mode."""
    if model.emit_alone is None:
        add_alone_head(model)
    assert model.emit_alone is not None
    head = model.emit_alone
    setting = model.config.alone_head_sentences  # lone sentences read the new scores while fitting, whatever it is
    model.config = dataclasses.replace(model.config, alone_head_sentences=max(1, setting))
    frozen = [p for p in model.parameters() if p.requires_grad]
    model.requires_grad_(False)
    head.requires_grad_(True)
    model.eval()  # the states as tagging computes them: no dropout, no word dropout
    lone_dev = as_texts(dev, 1)
    rng = random.Random(seed)
    dropout = torch.Generator().manual_seed(seed)  # the masks of this fit alone, whatever ran before it
    keep = 1.0 - model.config.dropout
    order = sorted(range(len(examples)), key=lambda i: len(examples[i][1]))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    optimizer = torch.optim.Adam(head.parameters(), lr=lr)
    started = time.perf_counter()
    best = evaluate_sentences(model, featurizer, lone_dev, eval_batch_size)["f1"]
    fit = AloneHeadFit(best_epoch=0, dev_f1_alone=best, epochs=[{"epoch": 0, "dev_f1_alone": best}])
    best_state = {k: v.clone() for k, v in head.state_dict().items()}
    logger.info("tag scores without the memory: dev F1 with every sentence alone %.4f as added", best)
    for epoch in range(1, epochs + 1):
        rng.shuffle(batches)
        total = 0.0
        for idx in batches:
            batch = featurizer.collate([examples[i][0] for i in idx], [examples[i][1] for i in idx])
            assert batch.tags is not None
            with torch.no_grad():
                states = model.encode(batch)
            mask = torch.empty_like(states).bernoulli_(keep, generator=dropout) / keep  # dropout, as in training
            scores = head(states * mask)
            loss = model.crf.nll(scores, batch.tags, batch.mask)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        f1, loss_mean = evaluate_sentences(model, featurizer, lone_dev, eval_batch_size)["f1"], total / len(examples)
        fit.epochs.append({"epoch": epoch, "loss": loss_mean, "dev_f1_alone": f1})
        logger.info("tag scores without the memory, epoch %d: loss %.4f, dev F1 alone %.4f", epoch, loss_mean, f1)
        if f1 > best:
            best, fit.best_epoch, fit.dev_f1_alone = f1, epoch, f1
            best_state = {k: v.clone() for k, v in head.state_dict().items()}
    head.load_state_dict(best_state)
    for p in frozen:
        p.requires_grad_(True)
    model.config = dataclasses.replace(model.config, alone_head_sentences=setting)
    fit.seconds = time.perf_counter() - started
    return fit


def fit_and_score(
    model: BiLstmCrf,
    featurizer: Featurizer,
    examples: Sequence[tuple[Encoded, list[int]]],
    dev: Sequence[Sentence],
    metrics: dict[str, Any],
    train: TrainConfig,
) -> dict[str, Any]:
    """:func:`fit_alone_head` with a run's settings (``train.alone_head_epochs``, ``alone_head_lr``,
    ``batch_size``, ``seed``), then the model scored on ``dev`` within its documents, whose windows of few
    sentences now read the new scores: the checkpoint's ``metrics`` with the new dev scores, the ones before
    (``dev_before_alone_head``) and the fit (``alone_head``)."""
    fit = fit_alone_head(
        model, featurizer, examples, dev, train.alone_head_epochs, train.alone_head_lr, train.batch_size, train.seed,
        train.eval_batch_size,
    )  # fmt: skip
    scores = evaluate_sentences(model, featurizer, dev, train.eval_batch_size)
    before = metrics.get("dev", {}).get("f1", float("nan"))
    logger.info(
        "tag scores without the memory: epoch %d of %d kept, dev F1 alone %.4f (%.4f as added), within documents "
        "%.4f (%.4f before)",
        fit.best_epoch,
        train.alone_head_epochs,
        fit.dev_f1_alone,
        fit.epochs[0]["dev_f1_alone"],
        scores["f1"],
        before,
    )
    return {**metrics, "dev": scores, "dev_before_alone_head": metrics.get("dev"), "alone_head": fit.to_dict()}
