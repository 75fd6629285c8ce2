"""The dev split held out of train when no dev file is given: seeded, whole blocks of consecutive
sentences, and sentence by sentence exactly as before blocks existed."""

from __future__ import annotations

import json
import random

import pytest

from ner.card import model_card
from ner.config import TrainConfig
from ner.conll import read_conll
from ner.train import TrainResult, split_dev
from ner.types import Sentence

from .conftest import ZH_TRAIN, load_script


def _sentences(n: int) -> list[Sentence]:
    return [Sentence((f"w{i}",), ("O",), line=i + 1) for i in range(n)]


def _index(s: Sentence) -> int:
    return int(s.tokens[0][1:])


def _sentence_by_sentence(n: int, fraction: float, seed: int) -> list[int]:
    """The split of earlier releases (one sentence at a time): checkpoints record only its seed."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return sorted(order[: max(1, int(n * fraction))])


@pytest.mark.parametrize(("n", "fraction", "seed"), [(1000, 0.05, 1), (37, 0.3, 7), (5, 0.05, 2)])
def test_block_of_one_is_the_sentence_by_sentence_split(n: int, fraction: float, seed: int) -> None:
    train, dev = split_dev(_sentences(n), fraction, seed)
    assert [_index(s) for s in dev] == _sentence_by_sentence(n, fraction, seed)
    assert sorted(_index(s) for s in train + dev) == list(range(n))


@pytest.mark.parametrize(("n", "block"), [(1000, 100), (1003, 100), (250, 7)])
def test_blocks_are_whole_runs_of_consecutive_sentences(n: int, block: int) -> None:
    fraction = 0.1
    train, dev = split_dev(_sentences(n), fraction, seed=3, block=block)
    dev_idx = [_index(s) for s in dev]
    assert dev_idx == sorted(dev_idx) and [_index(s) for s in train] == sorted(_index(s) for s in train)
    assert sorted(dev_idx + [_index(s) for s in train]) == list(range(n))
    n_dev = int(n * fraction)
    assert n_dev <= len(dev) < n_dev + block
    blocks = {i // block for i in dev_idx}
    assert set(dev_idx) == {i for b in blocks for i in range(b * block, min((b + 1) * block, n))}
    # Seeded: the same seed the same blocks, another seed other blocks.
    assert [_index(s) for s in split_dev(_sentences(n), fraction, seed=3, block=block)[1]] == dev_idx
    assert [_index(s) for s in split_dev(_sentences(n), fraction, seed=4, block=block)[1]] != dev_idx


def test_bad_blocks_are_refused() -> None:
    with pytest.raises(ValueError, match="block must be at least 1"):
        split_dev(_sentences(10), 0.1, 1, block=0)
    with pytest.raises(ValueError, match="train.dev_block"):
        TrainConfig(dev_block=0)


def test_card_says_how_dev_was_held_out(tiny_en: TrainResult) -> None:
    config = json.loads((tiny_en.checkpoint / "config.json").read_text(encoding="utf-8"))
    held_out = {"held_out_from_train": 0.05, "seed": 1, "sentences": 2532}
    config["data"]["dev"] = {**held_out, "block": 100}
    assert "5% of the training file held out, in runs of 100 consecutive sentences (seed 1" in model_card(config)
    config["data"]["dev"] = {**held_out, "block": 1}
    assert "5% of the training file held out (seed 1, 2,532 sentences)" in model_card(config)


def test_the_split_script_writes_the_split_ner_train_holds_out(tmp_path, capsys) -> None:
    load_script("split_dev").main([str(ZH_TRAIN), "--out", str(tmp_path / "s"), "--seed", "3", "--fraction", "0.3"])
    summary = json.loads(capsys.readouterr().out)
    train, dev = split_dev(read_conll(ZH_TRAIN).sentences, 0.3, 3)
    for name, expected in (("train", train), ("dev", dev)):
        written = read_conll(tmp_path / f"s.{name}.txt").sentences
        assert [(s.tokens, s.tags) for s in written] == [(s.tokens, s.tags) for s in expected]
        assert summary[name]["sentences"] == len(expected) > 0


def test_the_survey_counts_dev_mentions_the_training_part_never_has(capsys) -> None:
    split = load_script("split_dev")
    train = [Sentence(("Paris", "is", "big"), ("S-LOC", "O", "O")), Sentence(("Ann", "Lee"), ("B-PER", "E-PER"))]
    dev = [Sentence(("Paris", "and", "Bob"), ("S-LOC", "O", "S-PER")), Sentence(("Paris",), ("S-ORG",))]
    assert split.unseen_share(train, dev) == (3, 2 / 3)  # Bob, and Paris as an organisation
    split.main([str(ZH_TRAIN), "--survey", "--blocks", "1,5", "--seeds", "1", "--fraction", "0.3"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["block"], r["seed"]) for r in rows] == [(1, 1), (5, 1)]
    for row in rows:
        train_part, dev_part = split_dev(read_conll(ZH_TRAIN).sentences, 0.3, 1, row["block"])
        count, share = split.unseen_share(train_part, dev_part)
        assert (row["sentences"], row["mentions"], row["unseen"]) == (len(dev_part), count, round(share, 4))
        assert count > 0
    with pytest.raises(SystemExit):
        split.main([str(ZH_TRAIN)])  # neither --out nor --survey
