"""Watching training: the per-epoch table, the plots of a run, and training without matplotlib."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest

from ner import plots
from ner.config import load_config
from ner.progress import TABLE_HEADER, TrainingMonitor, table_row
from ner.train import TrainResult, train

from .conftest import EN_TRAIN, TINY

RECORD = {
    "epoch": 3,
    "loss": 1.23456,
    "dev_precision": 0.9,
    "dev_recall": 0.8,
    "dev_f1": 0.84706,
    "train_seconds": 12.34,
    "sentences_per_second": 345.6,
    "lr": 0.0125,
    "best": True,
}


def _png(path: Path) -> bool:
    return path.is_file() and path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_table_rows_line_up_with_the_header() -> None:
    row = table_row(RECORD, epochs=60)
    assert len(row) == len(TABLE_HEADER)
    assert row.split() == ["3/60", "1.2346", "0.9000", "0.8000", "0.8471", "*", "12.3", "346", "0.0125"]
    assert "*" not in table_row({**RECORD, "best": False}, epochs=60)
    for name in ("epoch", "loss", "dev F1", "best", "lr"):
        assert name in TABLE_HEADER


def test_monitor_logs_the_header_once_then_a_row_per_epoch(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    monitor = TrainingMonitor(epochs=3, progress=True)
    with caplog.at_level(logging.INFO, logger="ner.progress"):
        monitor.epoch({**RECORD, "epoch": 1})
        monitor.epoch({**RECORD, "epoch": 2})
        written = monitor.close(tmp_path)  # no metrics.jsonl there: a warning, not an error
    messages = [r.getMessage() for r in caplog.records]
    assert messages[:3] == [TABLE_HEADER, table_row({**RECORD, "epoch": 1}, 3), table_row({**RECORD, "epoch": 2}, 3)]
    assert written == [] and "plots not written" in messages[-1]
    bar = capsys.readouterr().err
    assert "training: 2/3 epochs" in bar and "ETA" in bar and "dev F1 0.8471" in bar


def test_training_draws_the_learning_curve_and_per_type_chart(tiny_en: TrainResult) -> None:
    run = tiny_en.checkpoint.parent
    assert _png(run / plots.LEARNING_CURVE_FILE) and _png(run / plots.PER_TYPE_FILE)


def test_render_run_on_an_existing_run(tiny_en: TrainResult, tmp_path: Path) -> None:
    written = plots.render_run(tiny_en.checkpoint.parent, tmp_path / "out", title="tiny")
    assert written == [tmp_path / "out" / plots.LEARNING_CURVE_FILE, tmp_path / "out" / plots.PER_TYPE_FILE]
    assert all(_png(p) for p in written)
    # A run without a checkpoint (yet) still gets its learning curve.
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "metrics.jsonl").write_text(json.dumps(RECORD) + "\n\n")
    assert plots.render_run(bare) == [bare / plots.LEARNING_CURVE_FILE]


def test_read_metrics_errors_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text(json.dumps(RECORD) + "\n" + json.dumps({"epoch": 2}) + "\n")
    with pytest.raises(ValueError, match=r"metrics.jsonl:2: expected an object with epoch, loss and dev_f1"):
        plots.read_metrics(path)
    with pytest.raises(ValueError, match="no epochs"):
        plots.learning_curve([], tmp_path / "x.png")
    with pytest.raises(ValueError, match="no entity types"):
        plots.per_type_chart({}, tmp_path / "x.png")


def test_training_without_matplotlib_skips_the_plots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    config = load_config("en", overrides=[*TINY, "train.epochs=2"])
    with caplog.at_level(logging.WARNING, logger="ner.plots"):
        result = train(config, EN_TRAIN, tmp_path, dev_path=EN_TRAIN, progress=False)
    assert result.epochs_run == 2 and (result.checkpoint / "model.safetensors").is_file()
    assert any("plots skipped: matplotlib is not installed" in r.getMessage() for r in caplog.records)
    assert not list(tmp_path.glob("*.png"))
