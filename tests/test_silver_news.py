"""scripts/zh_silver_news.py: a model's entities on tagged news, mended by the corpus's name tags."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from ner.conll import read_conll
from ner.tags import to_spans

from .conftest import load_script

silver = load_script("zh_silver_news")
unlabelled = load_script("zh_unlabelled_text")


def _mend(line: str, model: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], Counter]:
    """Mend ``model`` (entity text, label; each text found once in the paragraph) and return the same form."""
    text, words = unlabelled.tagged_line(line)
    entities = [silver.Entity(text.index(t), text.index(t) + len(t), label) for t, label in model]
    counts: Counter[str] = Counter()
    mended = silver.mend(entities, words, counts)
    return [(text[e.start : e.end], e.label) for e in mended], counts


def test_a_surname_and_given_name_are_one_person_and_names_run_together_stay_apart() -> None:
    text, words = unlabelled.tagged_line("江/nr  泽民/nr  李/nr  鹏/nr  会见/v  克林顿/nr  于/p  北京/ns  新华社/nt")
    found = [(text[n.start : n.end], n.label) for n in silver.names(words)]
    assert found == [("江泽民", "PER"), ("李鹏", "PER"), ("克林顿", "PER"), ("北京", "LOC"), ("新华社", "ORG")]


def test_names_the_model_missed_are_added_and_its_own_places_and_organisations_kept() -> None:
    mended, counts = _mend(
        "记者/n  在/p  大理/ns  的/u  人民/n  大会堂/n  见到/v  地质部/nt  的/u  何/nr  长工/nr",
        [("人民大会堂", "LOC")],
    )
    assert mended == [("大理", "LOC"), ("人民大会堂", "LOC"), ("地质部", "ORG"), ("何长工", "PER")]
    assert counts == Counter(add=3)


def test_a_name_the_model_typed_wrongly_is_retyped_only_between_persons_and_the_rest() -> None:
    mended, counts = _mend(
        "迪斯尼/nr  先生/n  去/v  吕梁/ns  和/c  东盟/ns", [("迪斯尼", "ORG"), ("吕梁", "PER"), ("东盟", "ORG")]
    )
    assert mended == [("迪斯尼", "PER"), ("吕梁", "LOC"), ("东盟", "ORG")], "an organisation tagged ns stays"
    assert counts == Counter(relabel=1, drop=1, add=1), "a person of no nr word goes; the place is added back"


def test_a_person_with_other_characters_is_trimmed_and_one_without_a_name_dropped() -> None:
    mended, counts = _mend(
        "（/w  记者/n  戴/nr  浩/nr  摄/Vg  ）/w  贺词/n  说/v", [("戴浩摄", "PER"), ("贺词", "PER")]
    )
    assert mended == [("戴浩", "PER")]
    assert counts == Counter(trim=1, drop=1)


def test_a_person_inside_a_longer_word_is_kept() -> None:
    mended, counts = _mend("高举/v  邓小平理论/n  旗帜/n", [("邓小平", "PER")])
    assert mended == [("邓小平", "PER")] and not counts


def _write_corpus(tmp_path: Path) -> tuple[Path, Path]:
    source = tmp_path / "199801.txt"
    source.write_text(
        "１２月/t  ，/w  张/nr  三/nr  在/p  大理/ns  工作/v  。/w  李/nr  四/nr  去/v  北京/ns  。/w\n"
        "\n"
        "新华社/nt  记者/n  王/nr  五/nr  摄/Vg\n",
        encoding="utf-8",
    )
    annotations = tmp_path / "news.jsonl"
    rows = [
        {"text": "12月，张三在大理工作。李四去北京。", "entities": [{"start": 4, "end": 6, "label": "PER"}]},
        {
            "text": "新华社记者王五摄",
            "entities": [{"start": 0, "end": 3, "label": "ORG"}, {"start": 5, "end": 8, "label": "PER"}],
        },
    ]
    annotations.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return source, annotations


@pytest.mark.parametrize("scheme", ["bmes", "bioes"])
def test_the_script_writes_each_paragraph_as_a_document_of_sentences(tmp_path, capsys, scheme) -> None:
    source, annotations = _write_corpus(tmp_path)
    out = tmp_path / "silver.txt"
    args = ["--source", str(source), "--annotations", str(annotations), "--out", str(out), "--scheme", scheme]
    assert silver.main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["paragraphs"], summary["sentences"]) == (2, 3)
    assert summary["mended"] == {"add": 3, "trim": 1}
    assert summary["entities"] == {"LOC": 2, "ORG": 1, "PER": 3}
    assert f"华 {'M' if scheme == 'bmes' else 'I'}-ORG" in out.read_text(encoding="utf-8")
    sentences = read_conll(out).sentences
    found = [
        ("".join(s.tokens[span.start : span.end]), span.label, s.doc_id)
        for s in sentences
        for span in to_spans(s.tags, "bioes")[0]
    ]
    assert found == [
        ("张三", "PER", 1),
        ("大理", "LOC", 1),
        ("李四", "PER", 1),
        ("北京", "LOC", 1),
        ("新华社", "ORG", 2),
        ("王五", "PER", 2),
    ]
    assert "".join(sentences[0].tokens) == "12月，张三在大理工作。", "split into sentences; digits ASCII as in MSRA"


def test_without_mending_the_models_entities_are_written_as_they_are(tmp_path, capsys) -> None:
    source, annotations = _write_corpus(tmp_path)
    out = tmp_path / "silver.txt"
    args = ["--source", str(source), "--annotations", str(annotations), "--out", str(out), "--no-mend"]
    assert silver.main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["mended"] == {} and summary["entities"] == {"ORG": 1, "PER": 2}
    sentences = read_conll(out).sentences
    found = ["".join(s.tokens[span.start : span.end]) for s in sentences for span in to_spans(s.tags, "bioes")[0]]
    assert found == ["张三", "新华社", "王五摄"]


def test_annotations_of_other_text_are_refused_with_the_line(tmp_path) -> None:
    source, annotations = _write_corpus(tmp_path)
    out = tmp_path / "silver.txt"
    lines = annotations.read_text(encoding="utf-8").splitlines()
    annotations.write_text(lines[0] + "\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="1 lines for 2 kept paragraphs"):
        silver.main(["--source", str(source), "--annotations", str(annotations), "--out", str(out)])
    annotations.write_text(lines[1] + "\n" + lines[0] + "\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="news.jsonl:1: not the annotation of paragraph 1"):
        silver.main(["--source", str(source), "--annotations", str(annotations), "--out", str(out)])
    assert not out.exists(), "nothing is written from annotations that do not fit"
