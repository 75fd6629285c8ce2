"""Distillation on unlabelled text (train.unlabelled): reading it, the loss of rows without gold tags, training."""

from __future__ import annotations

import json
import logging

import pytest
import torch

from ner import checkpoint
from ner.config import load_config
from ner.conll import read_conll
from ner.distill import collate_targets, teacher_marginals
from ner.objective import TrainingObjective
from ner.train import TrainResult, train
from ner.unlabelled import PLACEHOLDER, package_folder, read_unlabelled

from .conftest import EN_TRAIN, TINY, load_script


def test_lines_are_split_into_sentences_each_line_a_document(tmp_path) -> None:
    path = tmp_path / "text.txt"
    path.write_text("张三在北京大学工作。李四去上海！\n\n  王五 来了\n", encoding="utf-8")
    sentences = read_unlabelled(path, "zh", first_doc=7)
    assert ["".join(s.tokens) for s in sentences] == ["张三在北京大学工作。", "李四去上海！", "王五来了"]
    assert [s.doc_id for s in sentences] == [7, 7, 9] and [s.line for s in sentences] == [1, 1, 3]
    assert all(set(s.tags) == {PLACEHOLDER} and len(s.tags) == len(s.tokens) for s in sentences)
    english = tmp_path / "en.txt"
    english.write_text("Peter Blackburn lives in Brussels.\n", encoding="utf-8")
    tokens = [s.tokens for s in read_unlabelled(english, "en")]
    assert tokens == [("Peter", "Blackburn", "lives", "in", "Brussels", ".")]


def test_an_empty_or_undecodable_file_is_refused_with_its_name(tmp_path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text(" \n\n", encoding="utf-8")
    with pytest.raises(ValueError, match="empty.txt: no text"):
        read_unlabelled(empty, "zh")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match="latin.txt: not UTF-8"):
        read_unlabelled(latin, "en")


def test_unlabelled_text_needs_teachers() -> None:
    with pytest.raises(ValueError, match="train.unlabelled needs train.teachers"):
        load_config("en", overrides=["train.unlabelled=text.txt"])


def test_a_row_without_gold_tags_learns_the_teachers_alone(tiny_en: TrainResult) -> None:
    model, featurizer, _ = checkpoint.load(tiny_en.checkpoint)
    sentences = read_conll(EN_TRAIN).sentences[:3]
    ids = {label: i for i, label in enumerate(model.labels)}
    gold = [[ids[tag] for tag in s.tags] for s in sentences]
    wrong = [[ids["S-PER"]] * len(tags) for tags in gold]
    targets = teacher_marginals([str(tiny_en.checkpoint)], sentences, model.labels)
    objective = TrainingObjective(model, teacher_weight=0.5)
    objective.eval()  # no dropout: the same batch scores the same

    def loss(tags: list[list[int]], has_gold: list[bool] | None) -> float:
        batch = featurizer.collate([featurizer.encode(s.tokens) for s in sentences], tags)
        batch.soft_unary, batch.soft_pairwise = collate_targets(targets, batch.mask.shape[1])
        batch.gold = None if has_gold is None else torch.tensor(has_gold)
        with torch.no_grad():
            return objective.loss(batch).item()

    mixed = [gold[0], wrong[1], gold[2]]
    assert loss(mixed, [True, False, True]) == pytest.approx(loss(gold, [True, False, True]), rel=1e-6)
    assert loss(mixed, [True, True, True]) > loss(gold, [True, True, True]) + 1.0, "gold rows read their tags"
    assert loss(gold, None) == pytest.approx(loss(gold, [True, True, True]), rel=1e-6)
    # with teacher_weight 0 the labelled rows learn their tags alone, and the unlabelled ones still the teachers
    objective.teacher_weight = 0.0
    assert loss(mixed, [True, False, True]) == pytest.approx(loss(gold, [True, False, True]), rel=1e-6)


def test_a_student_learns_from_unlabelled_text_what_its_teacher_knows(tiny_en: TrainResult, tmp_path) -> None:
    """Six labelled sentences, and the other fourteen of the fixture as plain text: what the student finds beyond
    the six, it learnt on the text through the teacher (trained on all twenty)."""
    sentences = read_conll(EN_TRAIN).sentences
    text = tmp_path / "text.txt"
    text.write_text("".join(" ".join(s.tokens) + "\n" for s in sentences[6:]), encoding="utf-8")
    base = [*TINY, "features.casing_dim=4", "train.max_train_sentences=6", f"train.teachers={tiny_en.checkpoint}"]
    alone = train(load_config("en", overrides=base), EN_TRAIN, tmp_path / "alone", dev_path=EN_TRAIN, progress=False)
    config = load_config("en", overrides=[*base, f"train.unlabelled={text}"])
    taught = train(config, EN_TRAIN, tmp_path / "taught", dev_path=EN_TRAIN, progress=False)
    assert taught.dev["f1"] > 0.9 and taught.dev["f1"] > alone.dev["f1"] + 0.1, (taught.dev, alone.dev)
    stored = json.loads((taught.checkpoint / "config.json").read_text())
    assert stored["train"]["unlabelled"] == str(text)
    assert stored["data"]["unlabelled"]["sentences"] == 14


def test_unlabelled_text_is_packed_for_document_context_as_the_labelled_data(
    tiny_en: TrainResult, tmp_path, caplog
) -> None:
    """With features.context_tokens, a line's sentences are joined into sequences as a labelled document's are."""
    sentences = read_conll(EN_TRAIN).sentences
    text = tmp_path / "text.txt"
    text.write_text(" ".join(" ".join(s.tokens) for s in sentences[:8]) + "\n", encoding="utf-8")
    overrides = [*TINY, "features.casing_dim=4", "train.epochs=1", f"train.teachers={tiny_en.checkpoint}"]
    config = load_config("en", overrides=[*overrides, f"train.unlabelled={text}", "features.context_tokens=400"])
    with caplog.at_level(logging.INFO, logger="ner.train"):
        result = train(config, EN_TRAIN, tmp_path / "packed", dev_path=EN_TRAIN, progress=False)
    assert "and 1 unlabelled sequences" in caplog.text
    assert json.loads((result.checkpoint / "config.json").read_text())["data"]["unlabelled"]["sentences"] >= 8


def test_the_script_keeps_the_text_and_drops_what_an_excluded_file_shares(tmp_path, capsys) -> None:
    source = tmp_path / "199801.txt"
    source.write_text(  # the first paragraph shares 张三在北京大学工作 with the Chinese fixture
        "１２月/t  ３１日/t  ，/w  张三/nr  在/p  北京/ns  大学/n  工作/v  。/w\n"
        "\n"
        "李/nr  明/nr  访问/v  巴黎/ns  ２/m  天/q  。/w\n",
        encoding="utf-8",
    )
    out = tmp_path / "text.txt"
    script = load_script("zh_unlabelled_text")
    exclude = str(EN_TRAIN.with_name("zh_train.txt"))
    split = str(tmp_path / "held-out")
    args = ["--source", str(source), "--exclude", exclude, "--ngram", "6", "--out", str(out), "--split", split]
    assert script.main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["paragraphs"], summary["dropped"], summary["written"]) == (2, 1, 1)
    shared, apart = read_conll(f"{split}.shared.txt").sentences, read_conll(f"{split}.apart.txt").sentences
    assert ["".join(s.tokens) for s in shared] == ["张三在北京大学工作。"]
    fixture = read_conll(exclude).sentences
    assert len(apart) == len(fixture) - 1 and (apart[0].tokens, apart[0].tags) == (fixture[1].tokens, fixture[1].tags)
    assert out.read_text(encoding="utf-8") == "李明访问巴黎2天。\n", "full-width digits become ASCII, as in MSRA"
    source.write_text("张三 李四\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="199801.txt:1: expected word/tag"):
        script.main(["--source", str(source), "--out", str(out)])


def test_the_english_script_writes_each_article_once_as_utf8(tmp_path, capsys) -> None:
    article = b"Rain fell in Sydney today.  More is due.\n"
    (tmp_path / "lee_background.cor").write_bytes(article + article)
    (tmp_path / "lee.cor").write_bytes(b"He paid \xa33,000 in London.\n\n")  # Latin-1, as gensim ships it
    out = tmp_path / "lee.txt"
    script = load_script("en_unlabelled_text")
    assert script.main(["--source", str(tmp_path), "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["articles_read"], summary["articles_written"], summary["words"]) == (3, 2, 13)
    assert out.read_text(encoding="utf-8") == "Rain fell in Sydney today. More is due.\nHe paid £3,000 in London.\n"
    sentences = read_unlabelled(out, "en")
    assert [s.tokens[:3] for s in sentences] == [("Rain", "fell", "in"), ("More", "is", "due"), ("He", "paid", "£")]
    (tmp_path / "lee.cor").unlink()
    with pytest.raises(SystemExit, match="lee.cor: not found"):
        script.main(["--source", str(tmp_path), "--out", str(out)])


def test_a_package_folder_is_found_without_importing_it_and_a_missing_one_says_how_to_install_it() -> None:
    assert (package_folder("ner", "pip install -e .") / "unlabelled.py").is_file()
    with pytest.raises(SystemExit, match="no_such_package_xyz is not installed: pip install no-such"):
        package_folder("no_such_package_xyz", "pip install no-such")


def test_the_chinese_script_writes_each_review_once(tmp_path, capsys) -> None:
    (tmp_path / "pos.txt").write_text("书很好看，推荐！\n\n质量  不错\n", encoding="utf-8")
    (tmp_path / "neg.txt").write_text("书很好看，推荐！\n送货太慢了，２天\n", encoding="utf-8")
    out = tmp_path / "reviews.txt"
    script = load_script("zh_unlabelled_text")
    assert script.main(["--corpus", "reviews", "--source", str(tmp_path), "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["paragraphs"], summary["written"]) == (3, 3)
    assert out.read_text(encoding="utf-8") == "书很好看，推荐！\n质量 不错\n送货太慢了，2天\n"
    (tmp_path / "neg.txt").unlink()
    with pytest.raises(SystemExit, match="neg.txt: not found"):
        script.main(["--corpus", "reviews", "--source", str(tmp_path), "--out", str(out)])
