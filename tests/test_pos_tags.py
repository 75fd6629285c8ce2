"""Parts of speech from jieba.posseg as a Chinese feature (features.pos_dim)."""

from __future__ import annotations

import json

import pytest
import torch

from ner import checkpoint
from ner.config import Config, load_config
from ner.features import Featurizer
from ner.lexicon import POS_IDS, POS_SIZE, POS_TAGS, JiebaFeatures
from ner.model import BiLstmCrf
from ner.pipeline import Tagger
from ner.tags import bioes_labels

from .conftest import TINY, ZH_TRAIN, _train, load_script


@pytest.fixture(scope="module")
def jieba() -> JiebaFeatures:
    return JiebaFeatures()


SOURCES = ["posseg", "segmentation"]


def _ids(jieba: JiebaFeatures, text: str, source: str = "posseg") -> list[int]:
    """``features.pos_source``'s ids per character: posseg's own segmentation, or jieba.cut's words tagged."""
    return jieba.pos_tags(text, jieba.cut(text) if source == "segmentation" else None)


def _tags(jieba: JiebaFeatures, text: str, source: str = "posseg") -> list[tuple[str, bool]]:
    """Per character: (tag, whether its word is in jieba's dictionary)."""
    ids = _ids(jieba, text, source)
    assert len(ids) == len(text) and all(0 < i < POS_SIZE for i in ids)
    return [(POS_TAGS[(i - 1) // 2], (i - 1) % 2 == 0) for i in ids]


@pytest.mark.parametrize("source", SOURCES)
def test_dictionary_words_read_their_dictionary_tag(jieba: JiebaFeatures, source: str) -> None:
    tags = _tags(jieba, "致公党中央在北京开会", source)
    assert tags[:3] == [("nt", True)] * 3, "致公党 is an organisation in jieba's dictionary"
    assert tags[6:8] == [("ns", True)] * 2, "北京 is a place"
    assert tags[5] == ("p", True), "在, a preposition"


@pytest.mark.parametrize("source", SOURCES)
def test_a_name_outside_the_dictionary_reads_the_hmms_guess_apart_from_dictionary_names(
    jieba: JiebaFeatures, source: str
) -> None:
    assert jieba.group_of("孔繁琦") is None
    tags = _tags(jieba, "记者孔繁琦报道", source)
    assert tags[2:5] == [("nr", False)] * 3, "the HMM finds 孔繁琦 and calls it a person name"
    assert POS_IDS["nr"] != POS_IDS["nr"] + 1 == _ids(jieba, "记者孔繁琦报道", source)[2]


@pytest.mark.parametrize("source", SOURCES)
def test_latin_letters_and_digits_have_tags_too(jieba: JiebaFeatures, source: str) -> None:
    tags = _tags(jieba, "ABC公司2024年", source)
    assert {t for t, _ in tags[:3]} == {"eng"} and {t for t, _ in tags[5:9]} == {"m"}


def test_featurizer_gives_each_token_its_first_characters_tag_and_the_model_embeds_it(jieba: JiebaFeatures) -> None:
    overrides = [*TINY, "features.pos_dim=5", "features.bigram_min_count=1", "features.pos_source=posseg"]
    config = load_config("zh", overrides=overrides)
    sentences = [list("我爱北京天安门"), list("记者孔繁琦报道")]
    featurizer = Featurizer.build(config.features, sentences)
    assert featurizer._jieba is not None and featurizer._jieba._tagger is not None, "loaded before the first text"
    items = [featurizer.encode(s) for s in sentences]
    for sentence, item in zip(sentences, items):
        assert item.pos == jieba.pos_tags("".join(sentence))
    mixed = featurizer.encode(["ABC", "公", "司"])  # a token of several characters reads its first one's tag
    assert mixed.pos == [jieba.pos_tags("ABC公司")[i] for i in (0, 3, 4)]
    batch = featurizer.collate(items[:1] + [featurizer.encode(list("我爱"))])
    assert batch.pos is not None and batch.pos.shape == (2, 7) and batch.pos[1, 2:].eq(0).all()
    torch.manual_seed(0)
    model = BiLstmCrf.for_featurizer(featurizer, config.model, bioes_labels(["PER"])).eval()
    assert model.pos_embed is not None and model.pos_embed.weight.shape == (POS_SIZE, 5)
    assert model.represent(batch).shape[-1] == model.lstm.input_size
    without = load_config("zh", overrides=[*TINY, "features.bigram_min_count=1", "features.pos_dim=0"])
    plain = BiLstmCrf.for_featurizer(Featurizer.build(without.features, sentences), without.model, ["O"])
    assert model.lstm.input_size == plain.lstm.input_size + 5


def test_the_segmentation_source_tags_as_posseg_does_where_the_two_segment_alike(jieba: JiebaFeatures) -> None:
    texts = [
        "中共中央总书记、国家主席江泽民发表新年讲话",
        "新华社记者孔繁琦报道：上海浦东开发区今年引进外资30亿美元",
        "他在ABC公司工作了3年",
    ]
    for text in texts:
        posseg = [p.word for p in jieba.load_pos_tagger().cut(text, HMM=True)]
        if posseg == jieba.cut(text):
            assert _ids(jieba, text, "segmentation") == _ids(jieba, text, "posseg"), text
    assert any([p.word for p in jieba.load_pos_tagger().cut(t, HMM=True)] == jieba.cut(t) for t in texts)


def test_the_featurizer_reads_the_source_its_config_names(jieba: JiebaFeatures) -> None:
    text = "记者孔繁琦报道"
    for source in SOURCES:
        config = load_config("zh", overrides=[*TINY, "features.pos_dim=5", f"features.pos_source={source}"])
        featurizer = Featurizer.build(config.features, [list(text)])
        assert featurizer.encode(list(text)).pos == _ids(jieba, text, source)
    with pytest.raises(ValueError, match="pos_source"):
        load_config("zh", overrides=["features.pos_source=hmm"])


def test_a_checkpoints_config_without_a_source_reads_posseg() -> None:
    """Models trained before features.pos_source existed were trained on posseg's tags."""
    data = load_config("zh", overrides=["features.pos_dim=5"]).to_dict()
    del data["features"]["pos_source"]
    assert Config.from_dict(data).features.pos_source == "posseg"


def test_config_rejects_a_negative_size_and_the_lm_objective() -> None:
    with pytest.raises(ValueError, match="pos_dim"):
        load_config("zh", overrides=["features.pos_dim=-1"])
    with pytest.raises(ValueError, match="pos"):
        load_config(
            "zh",
            overrides=[
                "features.pos_dim=8",
                "features.bigram_dim=0",
                "features.softword_dim=0",
                "features.lexicon=false",
                "train.lm_weight=0.1",
            ],
        )


def test_a_trained_model_round_trips_through_its_checkpoint(tmp_path) -> None:
    extra = ["features.bigram_dim=8", "features.softword_dim=4", "features.bigram_min_count=1", "features.pos_dim=6"]
    extra.append("features.pos_source=segmentation")
    result = _train("zh", ZH_TRAIN, tmp_path / "run", extra)
    model, featurizer, config = checkpoint.load(result.checkpoint)
    assert config["features"]["pos_dim"] == 6 and config["features"]["pos_source"] == "segmentation"
    assert model.pos_embed is not None
    texts = ["我爱北京天安门。", "记者孔繁琦在上海报道。"]
    assert Tagger.load(result.checkpoint).predict(texts) == Tagger(model, featurizer, config).predict(texts)
    assert result.dev["f1"] > 0.5, "the tiny fixture is learnt"
    card = (result.checkpoint / "README.md").read_text()
    assert "parts of speech 6d (jieba.cut's words)" in card, "the card names the source"


def test_the_sources_script_times_both_and_counts_their_agreement(monkeypatch, capsys) -> None:
    script = load_script("pos_sources")
    monkeypatch.setattr("sys.argv", ["pos_sources.py", "--data", str(ZH_TRAIN), "--passes", "1"])
    script.main()
    out = json.loads(capsys.readouterr().out)
    assert set(out["seconds"]) == {"cut", "posseg", "segmentation"} and out["characters"] > 0
    assert 0.9 < out["same_id"] <= 1.0, "the two sources mostly agree"
