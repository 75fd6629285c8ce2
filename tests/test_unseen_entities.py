"""scripts/unseen_entities.py: entity F1 split by what the training file has seen."""

from __future__ import annotations

import json

from ner.train import TrainResult

from .conftest import EN_TRAIN, load_script


def test_entities_seen_as_mentions_are_split_from_new_ones(tiny_en: TrainResult, tmp_path) -> None:
    script = load_script("unseen_entities")
    # a gold file with one mention of the training file and one it never has (its words are all seen)
    data = tmp_path / "dev.txt"
    data.write_text("Angela B-PER\nMerkel I-PER\nvisited O\nParis B-LOC\n. O\n\nParis B-PER\nvisited O\n. O\n")
    words = script.breakdown(str(tiny_en.checkpoint), [str(EN_TRAIN)], str(data))
    mentions = script.breakdown(str(tiny_en.checkpoint), [str(EN_TRAIN)], str(data), mentions=True)
    assert words["unseen_by"] == "word" and mentions["unseen_by"] == "mention"
    assert words["groups"]["seen"]["gold"] == 3 and words["groups"]["unseen"]["gold"] == 0
    assert mentions["groups"]["seen"]["gold"] == 2 and mentions["groups"]["unseen"]["gold"] == 1  # Paris as PER
    assert "covered" not in mentions["groups"]["unseen"]


def test_the_command_prints_one_line_per_model(tiny_en: TrainResult, monkeypatch, capsys) -> None:
    script = load_script("unseen_entities")
    argv = ["unseen_entities.py", "--train", str(EN_TRAIN), "--data", str(EN_TRAIN), "--mentions"]
    monkeypatch.setattr("sys.argv", [*argv, "--model", str(tiny_en.checkpoint)])
    script.main()
    out = json.loads(capsys.readouterr().out.strip())
    assert out["groups"]["unseen"]["gold"] == 0 and out["groups"]["seen"]["gold"] > 0  # its own training file


def test_recall_by_kind_in_jiebas_dictionary(tiny_en: TrainResult, tmp_path) -> None:
    script = load_script("unseen_entities")
    data = tmp_path / "dev.txt"
    data.write_text("Angela B-PER\nMerkel I-PER\nvisited O\nParis B-LOC\n. O\n\nParis B-PER\nvisited O\n. O\n")
    out = script.breakdown(str(tiny_en.checkpoint), [str(EN_TRAIN)], str(data), mentions=True, dictionary=True)
    by_kind = out["recall_by_dictionary"]
    # English names are not in jieba's dictionary; Paris as PER is the one mention training never had
    assert set(by_kind) == {"LOC/seen/none", "PER/seen/none", "PER/unseen/none"}
    assert sum(group["gold"] for group in by_kind.values()) == 3
    assert all(0.0 <= group["recall"] <= 1.0 for group in by_kind.values())
    assert "recall_by_dictionary" not in script.breakdown(str(tiny_en.checkpoint), [str(EN_TRAIN)], str(data))


def test_every_training_file_counts_as_seen(tiny_en: TrainResult, tmp_path) -> None:
    script = load_script("unseen_entities")
    data = tmp_path / "dev.txt"
    data.write_text("Paris B-PER\nvisited O\n. O\n")
    silver = tmp_path / "silver.txt"
    silver.write_text("Paris B-PER\nsaid O\n. O\n")
    alone = script.breakdown(str(tiny_en.checkpoint), [str(EN_TRAIN)], str(data), mentions=True)
    both = script.breakdown(str(tiny_en.checkpoint), [str(EN_TRAIN), str(silver)], str(data), mentions=True)
    assert alone["groups"]["unseen"]["gold"] == 1 and both["groups"]["unseen"]["gold"] == 0
    assert both["groups"]["seen"]["gold"] == 1
