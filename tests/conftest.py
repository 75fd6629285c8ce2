"""Shared fixtures: tiny models trained on the 20-sentence fixtures, once per test session."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from ner.config import load_config
from ner.pipeline import Entity
from ner.train import TrainResult, train

FIXTURES = Path(__file__).parent / "fixtures"
EN_TRAIN = FIXTURES / "en_train.txt"
ZH_TRAIN = FIXTURES / "zh_train.txt"
DRUGS_TRAIN = FIXTURES / "en_drugs.txt"  # a label set no shipped model has: DRUG


def load_script(name: str) -> ModuleType:
    """A script of ``scripts/`` loaded as a module, for tests that call its ``main``."""
    path = Path(__file__).parent.parent / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    sys.modules[name] = script  # dataclasses look their module up there
    spec.loader.exec_module(script)
    return script


TINY = [
    "features.pretrained=none",
    "features.word_dim=16",
    "features.char_dim=8",
    "features.char_hidden=16",
    "model.hidden_size=32",
    "model.dropout=0.0",
    "model.word_dropout=0.0",
    "train.optimizer=adam",
    "train.lr=0.02",
    "train.lr_decay=0",
    "train.batch_size=4",
    "train.epochs=15",
    "train.patience=15",
    "train.seed=7",
    "train.threads=1",
]


def assert_entity_offsets(texts: list[str], outputs: list[list[Entity]]) -> None:
    """Entities point into their text (``text[start:end] == entity.text``), sorted, never overlapping."""
    assert len(outputs) == len(texts)
    for text, entities in zip(texts, outputs):
        previous_end = 0
        for e in entities:
            assert 0 <= e.start < e.end <= len(text)
            assert text[e.start : e.end] == e.text
            assert e.start >= previous_end, "sorted and non-overlapping"
            previous_end = e.end


def _train(lang: str, data: Path, out: Path, extra: list[str]) -> TrainResult:
    config = load_config(lang, overrides=TINY + extra)  # type: ignore[arg-type]
    return train(config, data, out, dev_path=data, progress=False)


@pytest.fixture(scope="session")
def tiny_en(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    """A tiny English model overfit on the 20-sentence fixture (dev = train)."""
    return _train("en", EN_TRAIN, tmp_path_factory.mktemp("tiny-en"), ["features.casing_dim=4"])


@pytest.fixture(scope="session")
def tiny_zh(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    """A tiny Chinese model (chars, bigrams, jieba softword and lexicon) overfit on its fixture."""
    extra = ["features.bigram_dim=8", "features.softword_dim=4", "features.bigram_min_count=1"]
    return _train("zh", ZH_TRAIN, tmp_path_factory.mktemp("tiny-zh"), extra)


@pytest.fixture(scope="session")
def tiny_drugs(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    """A tiny English model with a DRUG label only, overfit on its 12-sentence fixture."""
    return _train("en", DRUGS_TRAIN, tmp_path_factory.mktemp("tiny-drugs"), ["features.casing_dim=4"])
