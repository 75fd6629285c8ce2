"""Checkpoint averaging: the mean of a model's weights at the end of its last few epochs.

Neighbouring checkpoints of one run can differ on held-out data by more than their dev scores tell
(docs/ACCURACY.md); the mean of the last ``n`` epoch-end weights (as NMT systems average their last
checkpoints) is one model whose errors are those of no single epoch. Unlike an exponential moving
average over updates (``train.ema_decay``), its horizon is counted in epochs, so it does not lag more on
a large dataset than on a small one. Parameters are averaged; buffers (the CRF's transition masks, the
fixed pretrained rows) are constants and are kept as they are.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ner import checkpoint
from ner.features import Featurizer
from ner.model import BiLstmCrf


class EpochAverage:
    """The mean of the weights ``update`` was given at the end of the last ``epochs`` epochs."""

    def __init__(self, model: torch.nn.Module, epochs: int) -> None:
        if epochs < 1:
            raise ValueError("an average needs at least one epoch")
        self.epochs = epochs
        self._snapshots: deque[dict[str, torch.Tensor]] = deque(maxlen=epochs)
        self._average = copy.deepcopy(model)
        self._average.requires_grad_(False)

    def __len__(self) -> int:
        """How many epochs the average holds now (at most ``epochs``)."""
        return len(self._snapshots)

    def update(self, model: torch.nn.Module) -> None:
        """Add ``model``'s weights as they are now; the oldest ones drop out once ``epochs`` are held."""
        self._snapshots.append({name: p.detach().clone() for name, p in model.named_parameters()})

    @property
    def module(self) -> torch.nn.Module:
        """A model (a copy of the one given at construction) holding the mean of the weights held."""
        if not self._snapshots:
            raise ValueError("nothing to average yet: call update first")
        self._average.load_state_dict(mean_state(self._average, list(self._snapshots)), strict=False)
        return self._average


def average_checkpoints(paths: Sequence[str | Path]) -> tuple[BiLstmCrf, Featurizer, dict[str, Any]]:
    """The mean of the weights of checkpoints of one model (the epochs a run kept with
    ``train.keep_epochs``), with the first checkpoint's featurizer and config.

    Raises:
        ValueError: fewer than one path, or checkpoints that are not of one model: another config, label
            set or vocabulary, or different constants (buffers).
    """
    if not paths:
        raise ValueError("no checkpoints to average")
    model, featurizer, config = checkpoint.load(paths[0])
    states = [model.state_dict()]
    for path in paths[1:]:
        other, other_featurizer, other_config = checkpoint.load(path)
        for key in ("features", "model", "labels"):
            if other_config[key] != config[key]:
                raise ValueError(f"{path}: its {key} differ from {paths[0]}'s: not checkpoints of one model")
        if _vocabulary(other_featurizer) != _vocabulary(featurizer):
            raise ValueError(f"{path}: its vocabulary differs from {paths[0]}'s: not checkpoints of one model")
        states.append(other.state_dict())
    model.load_state_dict(mean_state(model, states))
    return model, featurizer, config


def mean_state(model: torch.nn.Module, states: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The mean of ``states`` (state dicts of ``model``'s class) over ``model``'s parameters; its other
    entries (buffers) must be equal in all of them and are kept.

    Raises:
        ValueError: no states, or a buffer that differs between them.
    """
    if not states:
        raise ValueError("no states to average")
    parameters = {name for name, _ in model.named_parameters()}
    averaged = {}
    for name, value in states[0].items():
        if name in parameters:
            averaged[name] = torch.stack([s[name].float() for s in states]).mean(dim=0).to(value.dtype)
        elif any(not torch.equal(s[name], value) for s in states[1:]):
            raise ValueError(f"the checkpoints' {name} differ: it is a constant of one model")
        else:
            averaged[name] = value
    return averaged


def _vocabulary(featurizer: Featurizer) -> tuple[Any, ...]:
    tables = (featurizer.words, featurizer.chars, featurizer.bigrams, featurizer.lexicon_words)
    return (featurizer.fixed_words, *(tuple(t.items) if t is not None else None for t in tables))
