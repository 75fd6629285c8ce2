"""Error analysis and the Markdown evaluation report, on hand-made gold/predicted spans with known counts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ner.evaluate import score
from ner.report import MISSED, SPURIOUS, ReportInput, analyze, analyze_tags, classify, render_markdown, sample_wrong
from ner.tags import from_spans
from ner.types import Span


def kinds(gold: list[Span], pred: list[Span]) -> list[str]:
    return [m.kind for m in classify(gold, pred)]


def test_each_category_on_one_span() -> None:
    per = Span(0, 2, "PER")
    assert kinds([per], [per]) == ["exact"]
    assert kinds([per], [Span(0, 2, "ORG")]) == ["type"]
    assert kinds([Span(0, 3, "ORG")], [Span(0, 2, "ORG")]) == ["boundary"]
    assert kinds([Span(0, 3, "ORG")], [Span(1, 4, "LOC")]) == ["boundary+type"]
    assert kinds([per], []) == ["missed"]
    assert kinds([], [per]) == ["spurious"]
    assert kinds([Span(0, 2, "PER")], [Span(2, 3, "PER")]) == ["spurious", "missed"]  # adjacent is no overlap


def test_merge_and_split() -> None:
    # Two gold entities merged into one prediction: one boundary error, paired with the leftmost gold
    # span; the other gold span is overlapped, so it is not "missed".
    merged = classify([Span(0, 1, "LOC"), Span(2, 3, "LOC")], [Span(0, 3, "LOC")])
    assert [(m.kind, m.gold) for m in merged] == [("boundary", Span(0, 1, "LOC"))]
    # One gold entity split into two predictions: an error event per prediction.
    assert kinds([Span(0, 3, "ORG")], [Span(0, 1, "ORG"), Span(2, 3, "LOC")]) == ["boundary", "boundary+type"]


def test_pairing_prefers_the_same_type() -> None:
    gold = [Span(0, 2, "LOC"), Span(2, 4, "PER")]
    (m,) = classify(gold, [Span(1, 4, "PER")])
    assert m.kind == "boundary" and m.gold == Span(2, 4, "PER")  # same type beats the leftmost
    m, missed = classify([Span(0, 4, "ORG"), Span(4, 6, "LOC")], [Span(0, 4, "LOC")])
    assert m.kind == "type" and m.gold == Span(0, 4, "ORG")
    assert missed.kind == "missed" and missed.gold == Span(4, 6, "LOC")


def test_analyze_counts_and_confusion() -> None:
    gold = [
        [Span(0, 2, "PER"), Span(3, 4, "LOC")],  # exact PER, LOC predicted as ORG
        [Span(0, 3, "ORG"), Span(5, 6, "MISC")],  # boundary ORG, MISC missed
        [],  # a spurious PER
        [Span(1, 2, "LOC")],  # all right
    ]
    pred = [
        [Span(0, 2, "PER"), Span(3, 4, "ORG")],
        [Span(0, 2, "ORG")],
        [Span(0, 1, "PER")],
        [Span(1, 2, "LOC")],
    ]
    result = analyze(gold, pred)
    assert dict(result.kinds) == {"exact": 2, "type": 1, "boundary": 1, "missed": 1, "spurious": 1}
    assert result.errors == 4
    assert result.wrong == [0, 1, 2]
    assert result.confusion["PER"] == {"PER": 1}
    assert result.confusion["LOC"] == {"ORG": 1, "LOC": 1}
    assert result.confusion["ORG"] == {"ORG": 1}
    assert result.confusion["MISC"] == {MISSED: 1}
    assert result.confusion[SPURIOUS] == {"PER": 1}


@st.composite
def span_lists(draw: st.DrawFn, length: int) -> list[Span]:
    spans, i = [], 0
    while i < length:
        if draw(st.booleans()):
            end = draw(st.integers(i + 1, min(length, i + 3)))
            spans.append(Span(i, end, draw(st.sampled_from(["PER", "LOC", "ORG"]))))
            i = end
        else:
            i += 1
    return spans


@pytest.mark.filterwarnings("ignore:Mean of empty slice", "ignore:invalid value encountered")  # seqeval, no entities
@settings(max_examples=60, deadline=None)
@given(st.data())
def test_exact_matches_are_seqeval_true_positives(data: st.DataObject) -> None:
    lengths = data.draw(st.lists(st.integers(1, 8), min_size=1, max_size=4))
    gold = [from_spans(data.draw(span_lists(n)), n) for n in lengths]
    pred = [from_spans(data.draw(span_lists(n)), n) for n in lengths]
    result = analyze_tags(gold, pred)
    n_gold = sum(t.startswith(("B-", "S-")) for tags in gold for t in tags)
    n_pred = sum(t.startswith(("B-", "S-")) for tags in pred for t in tags)
    assert sum(result.kinds[k] for k in ("exact", "type", "boundary", "boundary+type", "spurious")) == n_pred
    assert result.kinds["missed"] <= n_gold
    scores = score(gold, pred)
    assert result.kinds["exact"] == round(scores["precision"] * n_pred) == round(scores["recall"] * n_gold)


def _input(gold: list[list[str]], pred: list[list[str]], tokens: list[list[str]]) -> ReportInput:
    s = score(gold, pred)
    s.update(sentences=len(gold), tokens=sum(map(len, tokens)))
    return ReportInput("m", "data/gold.txt", "en", s, tokens, gold, pred, list(range(1, 1 + 3 * len(gold), 3)))


def test_markdown_report() -> None:
    tokens = [["Angela", "Merkel", "met", "*Bob*"], ["in", "Paris|France"], ["ok"]]
    gold = [["B-PER", "E-PER", "O", "S-PER"], ["O", "S-LOC"], ["S-ORG"]]
    pred = [["B-PER", "E-PER", "O", "O"], ["O", "S-ORG"], ["S-ORG"]]
    inp = _input(gold, pred, tokens)
    text = render_markdown(inp, analyze_tags(gold, pred), sample_size=20, chart="per_type.png")
    assert "| **overall** (micro) | 0.6667 | 0.5000 | **0.5714** | 4 |" in text
    assert "| gold \\ predicted | LOC | ORG | PER | missed |" in text
    assert "| **LOC** | 0 | 1 | 0 | 0 |" in text  # LOC predicted as ORG
    assert "| **PER** | 0 | 0 | 1 | 1 |" in text  # one exact PER, one missed
    assert "| **spurious** | 0 | 0 | 0 |  |" in text
    assert "| missed (no overlapping prediction) | 1 | 25.0% | 50.0% |" in text
    assert "| type error, same boundaries | 1 | 25.0% | 50.0% |" in text
    assert "## Wrong sentences (2 of 2" in text
    assert "gold.txt:1" in text and "gold.txt:4" in text and "gold.txt:7" not in text
    assert r"**Paris\|France**/LOC" in text and r"**Paris\|France**/ORG" in text  # escaped cell separator
    assert r"missed **\*Bob\***/PER" not in text and r"missed \*Bob\*/PER" in text
    assert "![precision, recall and F1 per type](per_type.png)" in text
    assert "No sample requested." in render_markdown(inp, analyze_tags(gold, pred), sample_size=0)
    assert "No wrong sentences." in render_markdown(inp, analyze_tags(gold, gold), sample_size=5)


def test_sample_is_deterministic_bounded_and_in_order() -> None:
    gold = [[Span(0, 1, "PER")] for _ in range(50)]
    pred = [[] if i % 2 else [Span(0, 1, "PER")] for i in range(50)]
    result = analyze(gold, pred)
    first = sample_wrong(result, 10, seed=3)
    assert first == sample_wrong(result, 10, seed=3) == sorted(first)
    assert len(first) == 10 and all(i % 2 for i in first)
    assert sample_wrong(result, 100) == result.wrong
