"""The versioned model store and the retrain decision (promote only past the threshold)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import ner.retrain
from ner import store
from ner.checkpoint import SHIPPED, CheckpointError
from ner.config import load_config
from ner.retrain import RECORD_FILE, retrain
from ner.train import TrainResult

from .conftest import DRUGS_TRAIN, EN_TRAIN, TINY


def _fake_version(root: Path, name: str, checkpoint: Path) -> Path:
    version = store.new_version(root, name)
    shutil.copytree(checkpoint, version / "model")
    return version


def test_promote_switches_current_and_keeps_old_versions(tmp_path: Path, tiny_drugs: TrainResult) -> None:
    assert store.current(tmp_path, "en") is None
    assert store.resolve("en", tmp_path) == SHIPPED / "en"  # nothing in the store: the shipped model
    first = _fake_version(tmp_path, "en", tiny_drugs.checkpoint)
    second = _fake_version(tmp_path, "en", tiny_drugs.checkpoint)
    assert first != second and store.versions(tmp_path, "en") == [first, second]
    store.promote(tmp_path, "en", first)
    assert store.current(tmp_path, "en") == first.resolve()
    assert store.resolve("en", tmp_path) == first.resolve() / "model"
    store.promote(tmp_path, "en", second)
    assert store.current(tmp_path, "en") == second.resolve()
    assert first.is_dir() and not list((tmp_path / "en").glob(".current.tmp-*"))
    assert store.resolve("zh", tmp_path) == SHIPPED / "zh"


def test_promote_refuses_what_is_not_a_version_checkpoint(tmp_path: Path, tiny_drugs: TrainResult) -> None:
    empty = store.new_version(tmp_path, "en")
    with pytest.raises(CheckpointError):
        store.promote(tmp_path, "en", empty)
    with pytest.raises(ValueError, match="not a version directory"):
        store.promote(tmp_path, "en", tiny_drugs.checkpoint.parent)
    assert store.current(tmp_path, "en") is None


@pytest.mark.parametrize("name", ["../en", "a/b", "", ".hidden", "x" * 65, "en zh"])
def test_model_names_cannot_escape_the_store(name: str) -> None:
    with pytest.raises(ValueError, match="invalid model name"):
        store.check_name(name)


def _config() -> object:
    # Without the English default's document memory, which needs more than 8 epochs to fit the 12 sentences.
    return load_config("en", overrides=[*TINY, "train.epochs=8", "features.casing_dim=4", "features.doc_memory=0"])  # type: ignore[arg-type]


def test_retrain_promotes_only_past_the_threshold(tmp_path: Path) -> None:
    good = retrain(_config(), "drugs", tmp_path, DRUGS_TRAIN, DRUGS_TRAIN, min_f1=0.5, progress=False)  # type: ignore[arg-type]
    assert good.promoted and good.dev_f1 >= 0.5 and good.previous is None
    assert store.current(tmp_path, "drugs") == good.version.resolve()
    assert (good.version / RECORD_FILE).is_file()
    # Dev data whose labels the model never saw: F1 0, refused, `current` untouched, the run kept.
    bad = retrain(_config(), "drugs", tmp_path, DRUGS_TRAIN, EN_TRAIN, min_f1=0.5, progress=False)  # type: ignore[arg-type]
    assert not bad.promoted and bad.dev_f1 < 0.5 and bad.previous == good.version.resolve()
    assert store.current(tmp_path, "drugs") == good.version.resolve()
    assert store.versions(tmp_path, "drugs") == [good.version, bad.version]


def test_an_interrupted_retrain_never_touches_current(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = retrain(_config(), "drugs", tmp_path, DRUGS_TRAIN, DRUGS_TRAIN, min_f1=0.0, progress=False)  # type: ignore[arg-type]

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ner.retrain, "train", crash)
    with pytest.raises(KeyboardInterrupt):
        retrain(_config(), "drugs", tmp_path, DRUGS_TRAIN, DRUGS_TRAIN, min_f1=0.0, progress=False)  # type: ignore[arg-type]
    assert store.current(tmp_path, "drugs") == first.version.resolve()


def test_promote_command_rolls_back(tmp_path: Path, tiny_drugs: TrainResult) -> None:
    from typer.testing import CliRunner

    from ner.cli import app

    first = _fake_version(tmp_path, "en", tiny_drugs.checkpoint)
    second = _fake_version(tmp_path, "en", tiny_drugs.checkpoint)
    store.promote(tmp_path, "en", second)
    runner = CliRunner()
    args = ["promote", "--name", "en", "--model-dir", str(tmp_path), "--version"]
    done = runner.invoke(app, [*args, first.name])
    assert done.exit_code == 0, done.output
    assert store.current(tmp_path, "en") == first.resolve()
    missing = runner.invoke(app, [*args, "19990101T000000Z"])
    assert missing.exit_code == 2 and first.name in missing.output and second.name in missing.output
    assert store.current(tmp_path, "en") == first.resolve()
    bad = runner.invoke(app, ["promote", "--name", "..", "--model-dir", str(tmp_path), "--version", "x"])
    assert bad.exit_code == 2 and "invalid model name" in bad.output
