from __future__ import annotations

import pytest

from ner.config import TrainConfig
from ner.stopping import EarlyStopping, select_epoch


def test_a_tie_is_not_an_improvement() -> None:
    stopping = EarlyStopping(patience=2)
    assert stopping.update(1, 0.5)
    assert not stopping.update(2, 0.5)
    assert (stopping.best_epoch, stopping.best_score, stopping.bad_epochs) == (1, 0.5, 1)
    assert not stopping.should_stop
    assert not stopping.update(3, 0.4)
    assert stopping.should_stop


def test_a_better_epoch_resets_the_count() -> None:
    stopping = EarlyStopping(patience=2)
    for epoch, score in enumerate([0.1, 0.3, 0.2, 0.4], start=1):
        stopping.update(epoch, score)
    assert (stopping.best_epoch, stopping.bad_epochs, stopping.should_stop) == (4, 0, False)


def test_selection_stops_after_patience() -> None:
    scores = {1: 0.5, 2: 0.7, 3: 0.6, 4: 0.65, 5: 0.9}
    assert select_epoch(scores, patience=2) == 2  # stops after epoch 4, before the better epoch 5
    assert select_epoch(scores, patience=3) == 5
    assert select_epoch({3: 0.2, 1: 0.1, 2: 0.3}, patience=5) == 2  # epochs in order, whatever the mapping's
    assert select_epoch({}, patience=1) == 0


def test_patience_must_be_positive() -> None:
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=0)
    with pytest.raises(ValueError, match="train.patience"):
        TrainConfig(patience=0)
