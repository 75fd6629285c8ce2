"""Checkpoint averaging (train.average_epochs): the mean of the last epochs' weights, in training and alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ner import checkpoint
from ner.averaging import EpochAverage, average_checkpoints
from ner.config import load_config
from ner.train import TrainResult, train

from .conftest import EN_TRAIN, TINY, load_script


class _Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(2, 1, bias=False)
        self.register_buffer("mask", torch.tensor([1.0, 0.0]))


def _set(net: _Net, *weights: float) -> _Net:
    with torch.no_grad():
        net.linear.weight.copy_(torch.tensor([list(weights)]))
    return net


def test_average_is_the_mean_of_the_last_epochs_only() -> None:
    net = _set(_Net(), 0.0, 0.0)
    average = EpochAverage(net, epochs=2)
    for weights in [(1.0, 2.0), (3.0, 4.0), (7.0, 10.0)]:
        average.update(_set(net, *weights))
    assert len(average) == 2
    assert average.module.linear.weight.tolist() == [[5.0, 7.0]]  # (3, 4) and (7, 10); (1, 2) dropped out
    assert net.linear.weight.tolist() == [[7.0, 10.0]], "the trained model is left as it is"


def test_average_copies_buffers_and_needs_an_epoch() -> None:
    net = _Net()
    average = EpochAverage(net, epochs=3)
    with pytest.raises(ValueError, match="update"):
        _ = average.module
    average.update(net)
    net.mask.fill_(5.0)  # a later change to the trained model's buffers does not reach the copy
    assert average.module.mask.tolist() == [1.0, 0.0]
    assert not any(p.requires_grad for p in average.module.parameters())
    with pytest.raises(ValueError, match="at least one"):
        EpochAverage(net, epochs=0)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        (["train.average_epochs=-1"], "average_epochs"),
        (["train.average_epochs=3", "train.ema_decay=0.99"], "choose one"),
    ],
)
def test_bad_averages_are_refused(overrides: list[str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        load_config("en", overrides=overrides)


@pytest.fixture(scope="module")
def kept_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TrainResult, list[dict]]:
    """A tiny run that evaluates the mean of its last 2 epochs and keeps each epoch's weights."""
    out = tmp_path_factory.mktemp("kept") / "run"
    # no alone head: it is fitted onto the saved average afterwards, and is in no kept epoch
    overrides = [*TINY, "train.epochs=3", "train.patience=5", "train.average_epochs=2", "train.keep_epochs=true"]
    overrides += ["model.alone_head=false"]
    result = train(load_config("en", overrides=overrides), EN_TRAIN, out, dev_path=EN_TRAIN, progress=False)
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return out, result, records


def test_training_evaluates_and_saves_the_average(kept_run) -> None:
    out, result, records = kept_run
    assert len(records) == 3 and all("dev_f1_unaveraged" in r for r in records)
    # after one epoch the average holds that epoch's weights alone, so both score alike
    assert records[0]["dev_f1"] == records[0]["dev_f1_unaveraged"]
    model, _, saved = checkpoint.load(result.checkpoint)
    assert saved["train"]["average_epochs"] == 2 and not model.training
    assert [p.name for p in sorted((out / "epochs").iterdir())] == ["001", "002", "003"]


def test_kept_epochs_average_to_what_training_saved(kept_run, tmp_path) -> None:
    """The script's mean of the kept epochs ending at the best one is the model training saved."""
    out, result, _ = kept_run
    kept = sorted((out / "epochs").iterdir())
    window = kept[max(0, result.best_epoch - 2) : result.best_epoch]
    saved, _, _ = checkpoint.load(result.checkpoint)
    model, _, _ = average_checkpoints(window)
    for (name, a), b in zip(saved.state_dict().items(), model.state_dict().values(), strict=True):
        assert torch.allclose(a.float(), b.float(), atol=1e-6), name
    first, _, _ = checkpoint.load(kept[0])
    last, _, _ = checkpoint.load(kept[-1])
    assert not torch.equal(first.state_dict()["crf.transitions"], last.state_dict()["crf.transitions"])

    assert load_script("average_checkpoints").main([str(p) for p in window] + ["--out", str(tmp_path / "avg")]) == 0
    written, _, config = checkpoint.load(tmp_path / "avg")
    assert config["averaged_from"] == [str(p) for p in window]
    pairs = zip(written.state_dict().values(), model.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)


def test_sweep_scores_each_window_as_training_did(kept_run, capsys) -> None:
    out, result, records = kept_run
    sweep = load_script("average_sweep")
    assert sweep.main([str(out), "--windows", "1", "2", "--held-out", str(EN_TRAIN)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_window = {w: {r["epoch"]: r["dev_f1"] for r in lines if r["window"] == w and "epoch" in r} for w in (1, 2)}
    assert by_window[1] == pytest.approx({r["epoch"]: r["dev_f1_unaveraged"] for r in records}, abs=1e-9)
    assert by_window[2] == pytest.approx({r["epoch"]: r["dev_f1"] for r in records}, abs=1e-9)
    selected = [r for r in lines if r["window"] == 2 and "selected_epoch" in r]
    assert selected[0]["selected_epoch"] == result.best_epoch
    assert selected[0][str(EN_TRAIN)] == pytest.approx(result.dev["f1"], abs=1e-9)  # dev is the training file


def test_sweep_scores_every_epoch_on_held_out_files_when_asked(kept_run, capsys) -> None:
    out, _, records = kept_run
    sweep = load_script("average_sweep")
    assert (
        sweep.main([str(out), "--windows", "2", "--from-epoch", "2", "--held-out", str(EN_TRAIN), "--held-out-every"])
        == 0
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    rows = [r for r in lines if "epoch" in r]
    assert [r["epoch"] for r in rows] == [2, 3]
    for row in rows:  # the held-out file is the dev file here
        assert row[str(EN_TRAIN)] == pytest.approx(row["dev_f1"], abs=1e-9)
        assert row["dev_f1"] == pytest.approx(records[row["epoch"] - 1]["dev_f1"], abs=1e-9)
    assert sweep.main([str(out), "--windows", "2", "--from-epoch", "9"]) == 2


def test_checkpoints_of_other_models_are_refused(tmp_path, tiny_en, tiny_drugs) -> None:
    with pytest.raises(ValueError, match="not checkpoints of one model"):
        average_checkpoints([tiny_en.checkpoint, tiny_drugs.checkpoint])
    with pytest.raises(ValueError, match="no checkpoints"):
        average_checkpoints([])
