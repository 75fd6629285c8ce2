"""Mention replacement (train.mention_replace): the sentences it draws, and training with it."""

from __future__ import annotations

import json
import random

import pytest

from ner.augment import MentionReplacer, dictionary_pools
from ner.config import load_config
from ner.conll import read_conll
from ner.features import Featurizer
from ner.tags import to_spans
from ner.train import _replaced_examples, train
from ner.types import Sentence

from .conftest import EN_TRAIN, TINY, ZH_TRAIN


def _sentence(text: str, tags: str, doc_id: int = 0) -> Sentence:
    return Sentence(tuple(text.split()), tuple(tags.split()), doc_id=doc_id, line=1)


POOL = [
    _sentence("Angela Merkel met Paris Hilton", "B-PER E-PER O B-PER E-PER"),
    _sentence("Bo visited New York City", "S-PER O B-LOC I-LOC E-LOC"),
    _sentence("Rome is in Italy", "S-LOC O O S-LOC"),
]


def _mentions(sentence: Sentence) -> list[tuple[str, tuple[str, ...]]]:
    spans, slips = to_spans(sentence.tags, "bioes")
    assert not slips
    return [(s.label, sentence.tokens[s.start : s.end]) for s in spans]


def test_the_pool_holds_each_types_distinct_mentions() -> None:
    pool = MentionReplacer(POOL, 0.5).pool
    assert pool == {
        "PER": [("Angela", "Merkel"), ("Bo",), ("Paris", "Hilton")],
        "LOC": [("Italy",), ("New", "York", "City"), ("Rome",)],
    }


def test_nothing_replaced_gives_the_sentence_itself() -> None:
    rng = random.Random(0)
    assert MentionReplacer(POOL, 0.0).replace(POOL[0], rng) is POOL[0]
    no_entity = _sentence("nothing here", "O O")
    assert MentionReplacer(POOL, 1.0).replace(no_entity, rng) is no_entity


def test_every_mention_replaced_by_one_of_its_type_with_tags_rewritten() -> None:
    replacer = MentionReplacer(POOL, 1.0)
    sentence = _sentence(
        "Yesterday Bo flew to New York City with Angela Merkel .", "O S-PER O O B-LOC I-LOC E-LOC O B-PER E-PER O"
    )
    seen = set()
    for seed in range(30):
        new = replacer.replace(sentence, random.Random(seed))
        mentions = _mentions(new)
        assert [label for label, _ in mentions] == ["PER", "LOC", "PER"]
        assert all(name in replacer.pool[label] for label, name in mentions)
        # the words around the mentions are kept, in order
        outside = [tok for tok, tag in zip(new.tokens, new.tags) if tag == "O"]
        assert outside == ["Yesterday", "flew", "to", "with", "."]
        assert (new.doc_id, new.line) == (sentence.doc_id, sentence.line)
        seen.add(new.tokens)
    assert len(seen) > 5  # drawn, not fixed


def test_draws_follow_the_seed_and_the_probability() -> None:
    sentences = read_conll(EN_TRAIN).sentences
    replacer = MentionReplacer(sentences, 0.3)
    a = [replacer.replace(s, random.Random(f"x{i}")) for i, s in enumerate(sentences)]
    b = [replacer.replace(s, random.Random(f"x{i}")) for i, s in enumerate(sentences)]
    assert a == b
    rng = random.Random(3)
    mentions = kept = 0
    for _ in range(40):
        for s in sentences:
            old, new = _mentions(s), _mentions(replacer.replace(s, rng))
            mentions += len(old)
            kept += sum(o == n for o, n in zip(old, new))
    # a replacement may draw the mention itself, so slightly more than 70% stay
    assert 0.68 < kept / mentions < 0.8


def test_a_name_is_replaced_the_same_way_wherever_it_is_shared() -> None:
    replacer = MentionReplacer(POOL, 0.5)
    first = _sentence("Rome and Rome again", "S-LOC O S-LOC O")
    second = _sentence("back in Rome", "O O S-LOC")
    for seed in range(20):
        rng, chosen = random.Random(seed), {}
        a, b = replacer.replace(first, rng, chosen), replacer.replace(second, rng, chosen)
        names = {a.tokens[: a.tags.index("O")], a.tokens[a.tags.index("O") + 1 : -1], b.tokens[2:]}
        assert len(names) == 1


def test_one_epochs_examples_share_names_within_a_memory_window() -> None:
    config = load_config("en", overrides=[*TINY, "features.casing_dim=0"])
    sentences = [_sentence("Rome is big", "S-LOC O O"), _sentence("Rome is old", "S-LOC O O"), *POOL]
    featurizer = Featurizer.build(config.features, [s.tokens for s in sentences])
    labels = {tag: i for i, tag in enumerate(sorted({t for s in sentences for t in s.tags}))}
    examples = [(featurizer.encode(s.tokens), [labels[t] for t in s.tags]) for s in sentences]
    replacer = MentionReplacer(sentences, 1.0)
    together = alone = 0
    for seed in range(20):
        for windows, count in (([[0, 1], [2], [3], [4]], True), ([[0], [1], [2], [3], [4]], False)):
            out, changed = _replaced_examples(
                replacer, sentences, examples, featurizer, labels, windows, random.Random(seed)
            )
            assert changed == {i for i in range(len(out)) if out[i] is not examples[i]}
            same = out[0][0].words[0] == out[1][0].words[0]
            if count:
                assert same
                together += 1
            else:
                alone += not same
    assert together == 20 and alone > 5


class FakeDictionary:
    """Stands in for JiebaFeatures: a few words and their groups (0 person, 1 place, 2 organisation, 3 other)."""

    WORDS = {
        "张三": 0,
        "李四": 0,
        "王五": 0,
        "赵六": 0,
        "孙七": 0,
        "老虎": 0,
        "北京": 1,
        "天津": 1,
        "上海": 1,
        "今天": 3,
    }

    def group_of(self, word: str) -> int | None:
        return self.WORDS.get(word)

    def words_of(self, group: int) -> list[str]:
        return sorted(w for w, g in self.WORDS.items() if g == group)


def _chars(text: str, tags: str) -> Sentence:
    return Sentence(tuple(text), tuple(tags.split()), doc_id=0, line=1)


ZH_POOL = [
    _chars("张三见李四", "B-PER E-PER O B-PER E-PER"),
    _chars("老虎在北京", "O O O B-LOC E-LOC"),
    _chars("今天好", "B-DATE E-DATE O"),
]


def test_dictionary_names_go_to_the_types_whose_mentions_are_names_of_their_kind() -> None:
    pools = dictionary_pools(ZH_POOL, MentionReplacer(ZH_POOL, 0.5).pool, FakeDictionary(), min_found=1)
    # PER: person names less its own mentions and 老虎, written untagged in training; LOC: places less 北京;
    # DATE's one mention is in the dictionary as "other", not a name: none
    assert pools == {"PER": [("孙", "七"), ("王", "五"), ("赵", "六")], "LOC": [("上", "海"), ("天", "津")]}
    assert dictionary_pools(ZH_POOL, MentionReplacer(ZH_POOL, 0.5).pool, FakeDictionary(), min_found=3) == {}
    persons = dictionary_pools(
        ZH_POOL, MentionReplacer(ZH_POOL, 0.5).pool, FakeDictionary(), groups=["nr"], min_found=1
    )
    assert list(persons) == ["PER"]
    with pytest.raises(ValueError, match="unknown dictionary name groups"):
        dictionary_pools(ZH_POOL, MentionReplacer(ZH_POOL, 0.5).pool, FakeDictionary(), groups=["n"])
    # words, not characters, per token: no dictionary names
    words = [Sentence(("张三", "见", "李四"), ("S-PER", "O", "S-PER"), doc_id=0, line=1)]
    assert dictionary_pools(words, MentionReplacer(words, 0.5).pool, FakeDictionary(), min_found=1) == {}


def test_dictionary_share_draws_dictionary_names_where_a_type_has_them() -> None:
    replacer = MentionReplacer(ZH_POOL, 1.0, dictionary_share=1.0, jieba=FakeDictionary())  # type: ignore[arg-type]
    assert replacer.dictionary == {}  # fewer than 20 mentions found: the default threshold
    replacer.dictionary = {"PER": [("孙", "七")]}
    sentence = _chars("张三在北京", "B-PER E-PER O B-LOC E-LOC")
    for seed in range(10):
        new = replacer.replace(sentence, random.Random(seed))
        assert "".join(new.tokens[:2]) == "孙七" and new.tags[:2] == ("B-PER", "E-PER")
        assert "".join(new.tokens[3:]) == "北京"  # LOC has no dictionary names: its one training name
    replacer.dictionary_share = 0.5
    drawn = {"".join(replacer.replace(sentence, random.Random(seed)).tokens[:2]) for seed in range(40)}
    assert drawn == {"孙七", "张三", "李四"}


def test_training_with_mention_replacement(tmp_path) -> None:
    overrides = [*TINY, "train.epochs=4", "train.mention_replace=0.5"]
    result = train(load_config("en", overrides=overrides), EN_TRAIN, tmp_path / "en", dev_path=EN_TRAIN, progress=False)
    stored = json.loads((result.checkpoint / "config.json").read_text())
    assert stored["train"]["mention_replace"] == 0.5
    zh = train(
        load_config(
            "zh", overrides=[*TINY, "train.epochs=2", "train.mention_replace=0.5", "train.mention_dictionary=0.5"]
        ),
        ZH_TRAIN,
        tmp_path / "zh",
        dev_path=ZH_TRAIN,
        progress=False,
    )
    assert zh.epochs_run == 2
    assert json.loads((zh.checkpoint / "config.json").read_text())["train"]["mention_dictionary"] == 0.5


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        (["train.mention_replace=1.5"], "mention_replace"),
        (["train.mention_dictionary=-0.1"], "mention_dictionary"),
        (["train.mention_dictionary_groups=nr,person"], "mention_dictionary_groups"),
    ],
)
def test_bad_mention_replacement_settings_are_refused(overrides: list[str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        load_config("en", overrides=overrides)
