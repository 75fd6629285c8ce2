"""The learning rate over training: a linear warm-up over the first updates, then a decay by epoch.

    lr(update u, epoch e) = lr × min(1, (u + 1) / warmup) / (1 + decay × e)

``e`` counts the epochs finished (0 in the first). Without a warm-up (``warmup = 0``) the rate is that of
Lample et al. (2016), constant within an epoch; the warm-up (Adam and AdamW are often run with one) scales the
rate of each of the first ``warmup`` updates.
"""

from __future__ import annotations

import torch


class LearningRate:
    """Sets ``optimizer``'s rates: call :meth:`after_update` after each ``optimizer.step()`` and
    :meth:`after_epoch` at each epoch's end."""

    def __init__(self, optimizer: torch.optim.Optimizer, decay: float, warmup: int = 0) -> None:
        if decay < 0 or warmup < 0:
            raise ValueError("the learning-rate decay and warm-up must be at least 0")
        self.optimizer = optimizer
        self.base = [group["lr"] for group in optimizer.param_groups]
        self.decay = decay
        self.warmup = warmup
        self.updates = 0
        self.epochs = 0
        self._apply()

    def factor(self) -> float:
        """What the base rate is multiplied by for the next update."""
        warm = min(1.0, (self.updates + 1) / self.warmup) if self.warmup else 1.0
        return warm / (1.0 + self.decay * self.epochs)

    def after_update(self) -> None:
        self.updates += 1
        if self.updates <= self.warmup:  # after the warm-up the rate changes only between epochs
            self._apply()

    def after_epoch(self) -> None:
        self.epochs += 1
        self._apply()

    def _apply(self) -> None:
        factor = self.factor()
        for group, base in zip(self.optimizer.param_groups, self.base, strict=True):
            group["lr"] = base * factor
