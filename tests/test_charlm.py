"""The pretrained character language model (features.char_lm): pretraining, features, checkpoints."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from ner import checkpoint
from ner.charlm import (
    BOUNDARY,
    SHIPPED,
    CharLM,
    CharLMSpec,
    lm_weights,
    load_char_lm,
    resolve_char_lm,
    save_char_lm,
    serving_copy,
)
from ner.cli import app
from ner.config import load_config
from ner.pipeline import Tagger
from ner.pretrain_lm import LMObjective, PretrainConfig, build_spec, pieces, pretrain, read_sentences
from ner.train import TrainResult

from .conftest import EN_TRAIN, ZH_TRAIN, _train

TINY_LM = PretrainConfig(embed_dim=8, hidden_size=12, min_count=1, epochs=3, batch_size=4, held_out=0.2)


@pytest.fixture(scope="module")
def zh_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lm") / "zh.safetensors"
    pretrain(read_sentences("zh", [ZH_TRAIN]), "zh", out, TINY_LM)
    return out


@pytest.fixture(scope="module")
def zh_tagger_run(zh_lm: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    extra = ["features.bigram_dim=8", "features.bigram_min_count=1", f"features.char_lm={zh_lm}"]
    extra.append("features.char_lm_dim=6")
    return _train("zh", ZH_TRAIN, tmp_path_factory.mktemp("zh-lm"), extra)


def test_spec_encodes_tokens_joined_as_the_language_reads_them() -> None:
    spec = build_spec(["ab cd"], "en", TINY_LM)
    ids, firsts, lasts = spec.encode(["ab", "cd"])
    assert len(ids) == 5 and ids[2] == spec.chars[" "]
    assert (firsts, lasts) == ([0, 3], [1, 4])
    zh = build_spec(["北京"], "zh", TINY_LM)
    assert zh.encode(["北", "京"])[1:] == ([0, 1], [0, 1])
    assert zh.encode(["上"])[0] == [1], "an unseen character reads <unk>"


def test_states_of_a_padded_row_equal_those_of_the_row_alone() -> None:
    torch.manual_seed(0)
    lm = CharLM(10, 4, 5)
    short, long = torch.tensor([[3, 4, 5]]), torch.tensor([[6, 7, 8, 9, 2]])
    padded = torch.tensor([[3, 4, 5, 0, 0], [6, 7, 8, 9, 2]])
    fw, bw = lm.states(padded)
    fw1, bw1 = lm.states(short)
    fw2, bw2 = lm.states(long)
    assert torch.allclose(fw[0, :3], fw1[0], atol=1e-6) and torch.allclose(bw[0, :3], bw1[0], atol=1e-6)
    assert torch.allclose(fw[1], fw2[0], atol=1e-6) and torch.allclose(bw[1], bw2[0], atol=1e-6)
    # the backward state at the first character has read the whole row: changing the last character moves it
    fw3, bw3 = lm.states(torch.tensor([[3, 4, 6]]))
    assert not torch.allclose(bw3[0, 0], bw1[0, 0]), "the backward state reads what follows"
    assert torch.allclose(fw3[0, :2], fw1[0, :2]), "the forward state does not"


def test_objective_predicts_the_next_and_the_previous_character() -> None:
    spec = build_spec(["abab"] * 20, "en", TINY_LM)
    torch.manual_seed(0)
    objective = LMObjective(spec)
    batch = torch.tensor([spec.chars.lookup("abab")] * 8)
    optimizer = torch.optim.Adam(objective.parameters(), lr=0.05)
    first = objective(batch).item()
    for _ in range(60):
        loss = objective(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert first > math.log(3) * 0.9 and objective(batch).item() < 0.1, "a fully predictable text is learnt"


def test_pretraining_writes_a_loadable_file(zh_lm: Path) -> None:
    spec, state = load_char_lm(zh_lm)
    assert spec.separator == "" and BOUNDARY in spec.chars and spec.hidden_size == 12
    alone, nothing = load_char_lm(zh_lm, weights=False)
    assert alone.to_json() == spec.to_json() and nothing == {}, "the spec without reading a tensor"
    lm = CharLM.for_spec(spec)
    lm.load_state_dict(lm_weights(state))
    assert all(v.dtype == torch.float32 for v in lm_weights(state).values())


def test_a_file_that_is_not_a_language_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such"):
        load_char_lm(tmp_path / "missing.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="not a character language model"):
        load_char_lm(bad)


def test_pieces_cut_long_sentences() -> None:
    assert pieces(["abcdefg", "hi"], 3) == ["abc", "def", "g", "hi"]


def test_tagger_carries_the_frozen_language_model(zh_tagger_run: TrainResult, zh_lm: Path) -> None:
    model, featurizer, config = checkpoint.load(zh_tagger_run.checkpoint)
    assert featurizer.char_lm is not None and model.char_lm is not None
    assert not any(p.requires_grad for p in model.char_lm.parameters())
    # trained frozen: the weights in the checkpoint are the pretrained ones (rounded to float16)
    for name, value in lm_weights(load_char_lm(zh_lm)[1]).items():
        assert torch.equal(model.char_lm.state_dict()[name], value), name
    # the checkpoint stands alone: the language model file is not needed to tag
    zh_lm.rename(zh_lm.with_suffix(".moved"))
    try:
        tagger = Tagger.load(zh_tagger_run.checkpoint)
        result = tagger.predict(["我爱北京天安门。"])
        assert len(result) == 1
    finally:
        zh_lm.with_suffix(".moved").rename(zh_lm)


def test_quantized_tagger_reads_the_language_model_too(zh_tagger_run: TrainResult) -> None:
    quantized = Tagger.load(zh_tagger_run.checkpoint, quantize=True)
    lm = quantized.model.char_lm
    assert lm is not None and type(lm.forward_lstm).__module__.startswith("torch.ao.nn.quantized")
    text = "我爱北京天安门。中国人民银行在北京。"
    [entities] = quantized.predict([text])
    assert all(text[e.start : e.end] == e.text for e in entities)


def test_language_model_features_change_with_context(zh_tagger_run: TrainResult) -> None:
    model, featurizer, _ = checkpoint.load(zh_tagger_run.checkpoint)
    a = featurizer.collate([featurizer.encode(list("北京大学"))])
    b = featurizer.collate([featurizer.encode(list("北京市"))])
    fa, fb = model._char_lm_features(a), model._char_lm_features(b)
    assert fa.shape == (1, 4, 6)
    assert not torch.allclose(fa[0, 1], fb[0, 1]), "京 reads what follows it"


def test_cli_pretrains_and_names_bad_input(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    runner = CliRunner()
    out = tmp_path / "en.safetensors"
    args = ["pretrain-lm", "--lang", "en", "--labelled", str(EN_TRAIN), "--out", str(out), "--hidden", "8"]
    result = runner.invoke(app, [*args, "--embed", "4", "--epochs", "1"])
    assert result.exit_code == 0, result.output
    assert '"held_out_bits_per_char"' in result.output and out.is_file()
    assert load_char_lm(out)[0].separator == " "
    result = runner.invoke(app, ["pretrain-lm", "--out", str(out)])
    assert result.exit_code != 0 and "--labelled or --text" in result.output
    missing = tmp_path / "missing.txt"
    result = runner.invoke(app, ["pretrain-lm", "--labelled", str(missing), "--out", str(out)])
    assert result.exit_code != 0 and "missing.txt" in result.output


def test_training_with_a_missing_language_model_names_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nowhere.safetensors"):
        _train("zh", ZH_TRAIN, tmp_path, ["features.char_lm=" + str(tmp_path / "nowhere.safetensors")])


def test_save_is_atomic(tmp_path: Path) -> None:
    spec = CharLMSpec(build_spec(["ab"], "en", TINY_LM).chars, 2, 3, " ")
    state = {f"lm.{k}": v for k, v in CharLM.for_spec(spec).state_dict().items()}
    path = save_char_lm(tmp_path / "x.safetensors", spec, state)
    assert [p.name for p in tmp_path.iterdir()] == ["x.safetensors"] and path.is_file()


def test_a_shipped_chinese_language_model_is_the_chinese_default() -> None:
    default = load_config("zh").features.char_lm
    assert default and resolve_char_lm(default).parent == SHIPPED
    assert load_config("en").features.char_lm == ""


@pytest.mark.parametrize("name", ["zh-news", "zh-news-reviews"])
def test_the_shipped_language_models_are_chinese_without_heads_in_float16(name: str) -> None:
    assert resolve_char_lm(name) == SHIPPED / f"charlm-{name}.safetensors"
    spec, state = load_char_lm(name)
    assert spec.separator == "" and BOUNDARY in spec.chars
    assert set(state) == {f"lm.{k}" for k in CharLM.for_spec(spec).state_dict()}, "no prediction heads shipped"
    assert all(v.dtype == torch.float16 for v in state.values())


def test_an_unknown_name_lists_the_shipped_ones() -> None:
    with pytest.raises(ValueError, match="shipped: .*zh-news"):
        resolve_char_lm("klingon")


def test_serving_copy_drops_the_heads_and_halves_the_weights(zh_lm: Path, tmp_path: Path) -> None:
    copy = serving_copy(zh_lm, tmp_path / "copy.safetensors")
    spec, state = load_char_lm(copy)
    assert spec.to_json() == load_char_lm(zh_lm)[0].to_json()
    assert lm_weights(state).keys() == lm_weights(load_char_lm(zh_lm)[1]).keys()
    for name, value in lm_weights(state).items():
        assert torch.equal(value, lm_weights(load_char_lm(zh_lm)[1])[name]), "the same weights a tagger reads"
    assert copy.stat().st_size < zh_lm.stat().st_size
