"""SoftLexicon word embeddings (features.lexicon_dim): vocabulary, weights, pooling, checkpoints."""

from __future__ import annotations

import pytest
import torch

from ner import checkpoint
from ner.config import load_config
from ner.features import Featurizer
from ner.lexicon import LEXICON_GROUPS, JiebaFeatures, covered, unknown_word
from ner.model import BiLstmCrf
from ner.pipeline import Tagger
from ner.tags import bioes_labels

from .conftest import TINY, ZH_TRAIN, _train

SENTENCES = [list("我爱北京天安门"), list("中国人民银行在北京")]


@pytest.fixture(scope="module")
def featurizer() -> Featurizer:
    config = load_config("zh", overrides=[*TINY, "features.lexicon_dim=6", "features.lexicon_min_count=1"])
    return Featurizer.build(config.features, SENTENCES)


def _named(featurizer: Featurizer, text: str) -> list[list[tuple[int, str, float]]]:
    """Per character: (position set, word, weight) of its matched words."""
    enc = featurizer.encode(list(text))
    assert featurizer.lexicon_words is not None and enc.lexicon_words is not None
    items = featurizer.lexicon_words.items
    return [[(p, items[i], w) for p, i, w in chars] for chars in enc.lexicon_words]


def test_vocabulary_holds_the_dictionary_words_seen_in_training_and_one_stand_in_per_group(
    featurizer: Featurizer,
) -> None:
    vocab = featurizer.lexicon_words
    assert vocab is not None
    assert {"北京", "天安门", "人民银行"} <= set(vocab.items)
    assert "上海" not in vocab, "never seen in training"
    assert all(unknown_word(g) in vocab for g in range(len(LEXICON_GROUPS)))


def test_a_word_unseen_in_training_reads_its_groups_stand_in(featurizer: Featurizer) -> None:
    per_char = _named(featurizer, "上海")
    jieba_group = next(m.group for m in JiebaFeatures().matches("上海") if m.word == "上海")
    assert per_char[0] == [(0, unknown_word(jieba_group), 1.0)]
    assert per_char[1] == [(2, unknown_word(jieba_group), 1.0)]


def test_weights_are_a_mean_within_each_position_set(featurizer: Featurizer) -> None:
    per_char = _named(featurizer, "北京人民银行")
    for matched in per_char:
        for position in {p for p, _, _ in matched}:
            assert sum(w for p, _, w in matched if p == position) == pytest.approx(1.0)
    ren = dict(((p, word), w) for p, word, w in per_char[2])
    assert ren[(0, "人民")] > ren[(0, "人民银行")] > 0, "the more frequent word weighs more, the rarer one still counts"
    assert (1, "人民银行") in {(p, word) for p, word, _ in per_char[3]}, "民 is inside 人民银行"


def test_covered_positions() -> None:
    match = next(m for m in JiebaFeatures().matches("天安门") if m.word == "天安门")
    assert list(covered(match)) == [(0, 0), (1, 1), (2, 2)]


def test_model_pools_each_set_as_the_weighted_sum_of_its_words(featurizer: Featurizer) -> None:
    torch.manual_seed(0)
    config = load_config("zh", overrides=[*TINY, "features.lexicon_dim=6"])
    model = BiLstmCrf.for_featurizer(featurizer, config.model, bioes_labels(["LOC"])).eval()
    assert model.lexicon_embed is not None
    text = "北京人民银行"
    items = [featurizer.encode(list("我爱")), featurizer.encode(list(text))]
    batch = featurizer.collate(items)
    pooled = model._lexicon_features(batch)
    assert pooled.shape == (2, len(text), 3 * 6)
    table = model.lexicon_embed.weight
    enc = items[1].lexicon_words
    assert enc is not None
    for j, matched in enumerate(enc):
        expected = torch.zeros(3, 6)
        for position, word, weight in matched:
            expected[position] += weight * table[word]
        assert torch.allclose(pooled[1, j].view(3, 6), expected, atol=1e-6)
    assert pooled[0, 2:].abs().sum().item() == 0, "padding"


def test_lm_objective_refuses_lexicon_words() -> None:
    with pytest.raises(ValueError, match="lexicon"):
        load_config("zh", overrides=["features.lexicon_dim=8", "train.lm_weight=0.1"])


def test_a_trained_model_round_trips_through_its_checkpoint(tmp_path) -> None:
    extra = ["features.bigram_dim=8", "features.softword_dim=4", "features.bigram_min_count=1"]
    result = _train(
        "zh", ZH_TRAIN, tmp_path / "run", [*extra, "features.lexicon_dim=8", "features.lexicon_min_count=1"]
    )
    model, featurizer, config = checkpoint.load(result.checkpoint)
    assert featurizer.lexicon_words is not None and len(featurizer.lexicon_words) > len(LEXICON_GROUPS) + 2
    assert model.lexicon_embed is not None and model.lexicon_embed.num_embeddings == len(featurizer.lexicon_words)
    texts = ["我爱北京天安门。", "中国人民银行在上海开会。"]
    assert Tagger.load(result.checkpoint).predict(texts) == Tagger(model, featurizer, config).predict(texts)
    assert result.dev["f1"] > 0.5, "the tiny fixture is learnt"
