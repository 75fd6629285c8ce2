"""Text → entities: tokenizer offsets and entity offsets on tricky inputs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ner.pipeline import ScoredSpan, Tagger, split_long, tokens_to_entities
from ner.tokenize import chinese_tokenizer, english_tokenizer
from ner.train import TrainResult
from ner.types import Span, Token

from .conftest import assert_entity_offsets

TRICKY = [
    "Angela Merkel visited Paris. Angela Merkel visited Paris again!",
    '  Leading spaces,\ttabs\nand newlines: (Paris), "Merkel"... U.S.-based?',
    "Smith's company can't pay $5.3m to Acme Corp. in Boston on 1996-08-22.",
    "Apple Apple Apple",
    "北京大学的张三和Google在New York开会，刘德华说：“好！”",
    "",
    "   \n\t ",
]


@pytest.fixture(scope="module")
def en_tokenize():
    return english_tokenizer()


def test_english_tokens_follow_conll_conventions(en_tokenize) -> None:
    sentences = en_tokenize("U.S. officials said on 1996-08-22 that Italian-born Smith's firm can't pay. He left.")
    words = [[t.text for t in s] for s in sentences]
    assert words[0] == [
        "U.S.",
        "officials",
        "said",
        "on",
        "1996-08-22",
        "that",
        "Italian-born",
        "Smith",
        "'s",
        "firm",
        "ca",
        "n't",
        "pay",
        ".",
    ]
    assert words[1] == ["He", "left", "."]


@pytest.mark.parametrize("text", TRICKY)
def test_token_offsets_point_into_the_text(text: str, en_tokenize) -> None:
    for tokenize in (en_tokenize, chinese_tokenizer()):
        for sentence in tokenize(text):
            assert sentence, "no empty sentences"
            for tok in sentence:
                assert text[tok.start : tok.end] == tok.text and not tok.text.isspace()


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet=st.sampled_from(list("ab AB.,'-\n\t北京é😀\u0301")), max_size=40))
def test_tokenizer_offsets_property(text: str) -> None:
    for tokenize in (english_tokenizer_cached(), chinese_tokenizer()):
        starts = []
        for sentence in tokenize(text):
            for tok in sentence:
                assert text[tok.start : tok.end] == tok.text
                starts.append(tok.start)
        assert starts == sorted(starts)


_EN = []


def english_tokenizer_cached():
    if not _EN:
        _EN.append(english_tokenizer())
    return _EN[0]


def test_tokens_to_entities_maps_token_spans_to_characters() -> None:
    text = "Angela Merkel visited Paris."
    tokens = english_tokenizer_cached()(text)[0]
    spans = [ScoredSpan(Span(0, 2, "PER"), 0.9), ScoredSpan(Span(3, 4, "LOC"), 0.5)]
    entities = tokens_to_entities(text, tokens, spans)
    assert [(e.text, e.label, e.start, e.end, e.score) for e in entities] == [
        ("Angela Merkel", "PER", 0, 13, 0.9),
        ("Paris", "LOC", 22, 27, 0.5),
    ]


def test_split_long_prefers_soft_punctuation_and_keeps_every_token() -> None:
    tokens = [Token(c, i, i + 1) for i, c in enumerate("abcdefg,hijklmnopqrstu")]
    pieces = split_long(tokens, max_tokens=10)
    assert [len(p) for p in pieces] == [8, 10, 4]  # first cut after the comma, then hard cuts
    assert [t for p in pieces for t in p] == tokens
    assert split_long([], 10) == []


@pytest.mark.parametrize("fixture", ["tiny_en", "tiny_zh"])
def test_predicted_entities_satisfy_offset_invariants(fixture: str, request: pytest.FixtureRequest) -> None:
    result: TrainResult = request.getfixturevalue(fixture)
    tagger = Tagger.load(result.checkpoint)
    outputs = tagger.predict(TRICKY)
    assert_entity_offsets(TRICKY, outputs)
    assert outputs[-1] == [] and outputs[-2] == []


def test_tiny_models_find_training_entities(tiny_en: TrainResult, tiny_zh: TrainResult) -> None:
    en = Tagger.load(tiny_en.checkpoint).predict(["Angela Merkel visited Paris on Monday."])[0]
    assert [(e.text, e.label) for e in en] == [("Angela Merkel", "PER"), ("Paris", "LOC")]
    assert all(0.5 < e.score <= 1.0 for e in en), "overfit entities are confident"
    zh = Tagger.load(tiny_zh.checkpoint).predict(["刘德华出生在香港。"])[0]
    assert [(e.text, e.label, e.start, e.end) for e in zh] == [("刘德华", "PER", 0, 3), ("香港", "LOC", 6, 8)]
