"""The shipped checkpoints: loadable by name, small, self-describing, and sensible on real text."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from ner import load
from ner.checkpoint import SHIPPED
from ner.cli import app

from .conftest import EN_TRAIN, ZH_TRAIN, assert_entity_offsets

EN_TEXTS = [
    "Angela Merkel met Emmanuel Macron in Paris on Monday.",
    "Shares of Apple Inc. rose 3% in New York, Reuters reported; Apple's CEO Tim Cook said nothing.",
    '(Berlin) -- "Germany" beat Italy 2-1... Germany, Germany, Germany!',
    "U.S.-based IBM hired John Smith from Google in London.",
    "",
]
ZH_TEXTS = [
    "张三在北京大学工作，李四去了上海。",
    "新华社北京三月五日电，国务院总理在人民大会堂作政府工作报告。",
    "Google和微软在New York开会，刘德华说：“好！”",
    "   ",
]


@pytest.fixture(scope="module")
def en():
    return load("en")


@pytest.fixture(scope="module")
def zh():
    return load("zh")


@pytest.mark.parametrize("name", ["en", "zh"])
def test_shipped_checkpoint_is_small_and_self_describing(name: str) -> None:
    path = SHIPPED / name
    assert sum(p.stat().st_size for p in path.iterdir()) < 25 * 1024 * 1024
    config = json.loads((path / "config.json").read_text())
    assert config["scheme"] == "bioes" and config["features"]["lang"] == name
    assert config["data"]["train"]["sha256"] and config["metrics"]["dev"]["f1"] > 0.9
    assert (path / "README.md").read_text().startswith("# Model card")


def test_en_finds_people_places_and_organisations(en) -> None:
    assert en.labels == ["LOC", "MISC", "ORG", "PER"]
    outputs = en.predict(EN_TEXTS)
    assert_entity_offsets(EN_TEXTS, outputs)
    first = {(e.text, e.label) for e in outputs[0]}
    assert {("Angela Merkel", "PER"), ("Emmanuel Macron", "PER"), ("Paris", "LOC")} <= first
    assert outputs[-1] == []


def test_zh_finds_people_places_and_organisations(zh) -> None:
    assert zh.labels == ["LOC", "ORG", "PER"]
    outputs = zh.predict(ZH_TEXTS)
    assert_entity_offsets(ZH_TEXTS, outputs)
    first = {(e.text, e.label) for e in outputs[0]}
    assert {("张三", "PER"), ("北京大学", "ORG"), ("李四", "PER"), ("上海", "LOC")} <= first
    assert outputs[-1] == []


@pytest.mark.parametrize(("name", "data"), [("en", EN_TRAIN), ("zh", ZH_TRAIN)])
def test_evaluate_shipped_model_on_unseen_file(name: str, data) -> None:
    result = CliRunner().invoke(app, ["evaluate", "--model", name, "--data", str(data), "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert scores["f1"] > 0.7
    assert scores["sentences"] == len(data.read_text().strip().split("\n\n")) - (2 if name == "en" else 0)


def test_en_carries_pretrained_vectors_for_words_unseen_in_training(en) -> None:
    """Words that postdate CoNLL-2003 (1996 newswire) keep their GloVe rows instead of becoming <unk>."""
    from ner.glove import load_glove

    words, vectors = load_glove(max_words=40_000)
    rank = {w: i for i, w in enumerate(words)}
    vocab = en.featurizer.words
    for word in ("youtube", "facebook", "wikipedia", "obama", "blogger", "podcast", "smartphone", "smartphones"):
        assert word in vocab, word
        got = en.model.word_vectors(torch.tensor(vocab[word])).tolist()
        expected = vectors[rank[word]]
        # Fixed rows are stored in int8: within half a step of the row's largest magnitude / 127.
        assert got == pytest.approx(expected.tolist(), abs=float(abs(expected).max()) / 254 + 1e-6), word
