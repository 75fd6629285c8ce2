"""The learning rate over training: warm-up by update, decay by epoch (ner/schedule.py)."""

from __future__ import annotations

import json

import pytest
import torch

from ner.config import load_config
from ner.schedule import LearningRate
from ner.train import train

from .conftest import EN_TRAIN, TINY


def _optimizer(lr: float = 0.1) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=lr)


def _rates(rate: LearningRate, updates_per_epoch: int, epochs: int) -> list[list[float]]:
    """The rate of each update, epoch by epoch, as the training loop drives it."""
    seen = []
    for _ in range(epochs):
        epoch = []
        for _ in range(updates_per_epoch):
            epoch.append(rate.optimizer.param_groups[0]["lr"])
            rate.after_update()
        seen.append(epoch)
        rate.after_epoch()
    return seen


def test_without_warmup_the_rate_is_lamples_decay_constant_within_each_epoch() -> None:
    rates = _rates(LearningRate(_optimizer(0.1), decay=0.05), updates_per_epoch=3, epochs=4)
    assert rates == [[pytest.approx(0.1 / (1 + 0.05 * e))] * 3 for e in range(4)]


def test_warmup_rises_linearly_over_the_first_updates_across_epochs_then_the_decay_alone() -> None:
    rates = _rates(LearningRate(_optimizer(0.1), decay=0.5, warmup=4), updates_per_epoch=3, epochs=3)
    expected = [
        [0.1 * 1 / 4, 0.1 * 2 / 4, 0.1 * 3 / 4],
        [0.1 * 4 / 4 / 1.5, 0.1 / 1.5, 0.1 / 1.5],  # the fourth update is the last of the warm-up
        [0.1 / 2, 0.1 / 2, 0.1 / 2],
    ]
    assert rates == [[pytest.approx(r) for r in epoch] for epoch in expected]


def test_every_parameter_group_keeps_its_own_base_rate() -> None:
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([{"params": [a], "lr": 0.01}, {"params": [b], "lr": 0.001}])
    rate = LearningRate(optimizer, decay=1.0, warmup=2)
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.005, 0.0005])
    rate.after_update()
    rate.after_epoch()
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.005, 0.0005]), "warm, then halved"


def test_negative_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 0"):
        LearningRate(_optimizer(), decay=0.05, warmup=-1)
    for override in ("train.warmup=-1", "train.clip=-1", "train.lr_decay=-0.1"):
        with pytest.raises(ValueError, match="must be at least 0"):
            load_config("en", overrides=[override])


def test_a_run_with_warmup_logs_the_decayed_rate_of_each_epoch(tmp_path) -> None:
    config = load_config(
        "en", overrides=[*TINY, "train.epochs=2", "train.patience=2", "train.warmup=1000", "train.lr_decay=0"]
    )
    train(config, EN_TRAIN, tmp_path, dev_path=EN_TRAIN, progress=False)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    lrs = [r["lr"] for r in records]
    assert 0 < lrs[0] < lrs[1] < config.train.lr, "still warming up after two epochs of a tiny file"
