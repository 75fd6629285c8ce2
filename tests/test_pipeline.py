"""Text → entities: tokenizer offsets and entity offsets on tricky inputs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ner.pipeline import ScoredSpan, Tagger, split_long, tokens_to_entities
from ner.tokenize import EnglishTokenizer, chinese_tokenizer, english_tokenizer
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


# Hostile text for the shipped models: every kind of character a user may send, in runs.
_PIECES = st.sampled_from(
    [
        "Angela Merkel", "Paris", "IBM", "北京大学", "张三", " ", "\n", "\n" * 50, "\t", "\r\n", "\x00", "\x07",
        "\x1b[31m", "\u200b", "\u200f", "\ufeff", "😀", "👩‍👩‍👧", "🇫🇷", "𝔄𝔫𝔤𝔢𝔩𝔞", "𠀋", "e\u0301", "\u0301",
        "مرحبا بالعالم", "שלום", "Ελλάδα", "Москва", "ﬁ", "Ⅻ", "。", "！", "？", "；", "“", "”", "(", ")", "-", "'s",
        "U.S.", "x" * 300, "y" * 2000, "a-b-c-d-e-f-g", "…", "\u3000", "\x85", "\u2028",
    ]
)  # fmt: skip
HOSTILE_TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=20)), max_size=30).map("".join)


@pytest.fixture(scope="module")
def shipped() -> dict[str, Tagger]:
    return {name: Tagger.load(name) for name in ("en", "zh")}


@settings(max_examples=50, deadline=None, derandomize=True, database=None)
@given(texts=st.lists(HOSTILE_TEXT, min_size=1, max_size=4))
def test_shipped_models_keep_offsets_on_hostile_text(shipped: dict[str, Tagger], texts: list[str]) -> None:
    for tagger in shipped.values():
        outputs = tagger.predict(texts)
        assert_entity_offsets(texts, outputs)
        assert all(0.0 <= e.score <= 1.0 and e.label in tagger.labels for out in outputs for e in out)


def test_thousands_of_newlines_and_one_huge_token(shipped: dict[str, Tagger]) -> None:
    texts = ["\n" * 5000 + "Angela Merkel visited Paris." + "\n" * 5000, "z" * 20_000, "北" * 3000]
    for tagger in shipped.values():
        assert_entity_offsets(texts, tagger.predict(texts))
    entities = shipped["en"].predict(texts[:1])[0]
    assert [(e.text, e.start) for e in entities] == [("Angela Merkel", 5000), ("Paris", 5022)]


def test_english_tokenizer_does_not_keep_the_words_it_has_seen() -> None:
    # A long-running service sees endless new words; spaCy's vocabulary must stay bounded.
    tokenize = EnglishTokenizer(max_lexemes=1500)
    first = tokenize.nlp
    sizes = []
    for i in range(300):
        sentences = tokenize(f"Zqxw{i}vor met Blorbington{i} in Fnarghville{i} and Quortle{i}.")
        assert [t.text for t in sentences[0]][:2] == [f"Zqxw{i}vor", "met"]
        sizes.append(len(tokenize.nlp.vocab))
    assert tokenize.nlp is not first, "the vocabulary never reached its cap: the test proves nothing"
    assert max(sizes) <= 1500 + 50  # one text's words may go past the cap before the next call resets it


def test_english_tokenizer_gives_the_same_tokens_after_a_reset() -> None:
    text = "Angela Merkel's visit to Paris, France (1996-08-22) cost $3.5m."
    tokenize = EnglishTokenizer(max_lexemes=1)
    before = tokenize(text)
    assert tokenize(text) == before and tokenize(text) == english_tokenizer_cached()(text)


def test_length_batches_cover_every_sentence_once_with_little_padding(shipped: dict[str, Tagger]) -> None:
    from ner.pipeline import BUCKET_GROWTH, MIN_BUCKET, _length_batches

    featurizer = shipped["en"].featurizer
    lengths = [1, 40, 3, 0, 7, 120, 2, 9, 41, 55, 8, 1, 30, 31, 12, 100] * 2 * MIN_BUCKET
    sentences = [["w"] * n for n in lengths]
    seen, batches = [], 0
    for idx, items, batch in _length_batches(featurizer, sentences, batch_size=8 * MIN_BUCKET):
        sizes = [lengths[i] for i in idx]
        assert 1 <= len(idx) <= 8 * MIN_BUCKET and batch.words.shape == (len(idx), max(sizes))
        assert [len(e.words) for e in items] == sizes
        # Past MIN_BUCKET sentences a batch only takes sentences within the growth bound of its first.
        assert all(n <= BUCKET_GROWTH * sizes[0] + 2 for n in sizes[MIN_BUCKET:])
        seen.extend(idx)
        batches += 1
    assert sorted(seen) == [i for i, n in enumerate(lengths) if n]
    assert batches > len(seen) / (8 * MIN_BUCKET)  # the bound did cut batches short
    # A call of MIN_BUCKET sentences or fewer is one batch, whatever their lengths.
    assert len(list(_length_batches(featurizer, sentences[:MIN_BUCKET], batch_size=256))) == 1
