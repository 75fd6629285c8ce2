"""Early stopping on dev F1: which epoch to keep, and when to stop looking.

One rule for training (:mod:`ner.train`) and for the scripts that replay a run's epochs
(``scripts/average_sweep.py``): an epoch is kept when its score is strictly above every earlier one;
training stops once ``patience`` epochs in a row bring no better score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass
class EarlyStopping:
    """The best score so far and how many epochs have passed without beating it."""

    patience: int
    best_score: float = -1.0
    best_epoch: int = 0
    bad_epochs: int = 0

    def __post_init__(self) -> None:
        if self.patience <= 0:
            raise ValueError(f"patience must be positive, got {self.patience}")

    def update(self, epoch: int, score: float) -> bool:
        """Record ``epoch``'s score; True when it is the new best (the epoch to keep)."""
        if score > self.best_score:
            self.best_score, self.best_epoch, self.bad_epochs = score, epoch, 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def should_stop(self) -> bool:
        """Whether ``patience`` epochs in a row have brought no better score."""
        return self.bad_epochs >= self.patience


def select_epoch(scores: Mapping[int, float], patience: int) -> int:
    """The epoch training would keep, given every epoch's score: the best one before the rule stops.
    0 when ``scores`` is empty."""
    stopping = EarlyStopping(patience)
    for epoch in sorted(scores):
        stopping.update(epoch, scores[epoch])
        if stopping.should_stop:
            break
    return stopping.best_epoch
