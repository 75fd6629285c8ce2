"""The network: shapes, gradients, padding independence; training overfits and round-trips."""

from __future__ import annotations

import pytest
import safetensors.torch
import torch

from ner import checkpoint
from ner.config import load_config
from ner.features import Featurizer
from ner.model import BiLstmCrf
from ner.pipeline import tag_sentences
from ner.tags import bioes_labels
from ner.train import TrainResult

SENTENCES = [["Angela", "Merkel", "visited", "Paris", "."], ["Hi"], ["The", "EU", "met", "in", "1996", "-", "ok"]]
ZH_SENTENCES = [list("张三在北京大学工作。"), list("你好"), list("联合国")]


def _build(lang: str, overrides: list[str], sentences: list[list[str]]) -> tuple[BiLstmCrf, Featurizer]:
    config = load_config(
        lang, overrides=["features.pretrained=none", "features.word_dim=12", "model.hidden_size=8", *overrides]
    )  # type: ignore[arg-type]
    featurizer = Featurizer.build(config.features, sentences)
    model = BiLstmCrf.for_featurizer(featurizer, config.model, bioes_labels(["LOC", "PER"]))
    return model, featurizer


# The English default's document memory needs whole windows (tests/test_doc_memory.py): these take sentences alone.
VARIANTS = [
    ("en", ["features.char_encoder=cnn", "model.emit_hidden=6", "features.doc_memory=0"], SENTENCES),
    (
        "en",
        ["features.char_encoder=lstm", "model.num_layers=2", "train.lm_weight=0", "features.doc_memory=0"],
        SENTENCES,
    ),
    ("zh", ["features.bigram_min_count=1"], ZH_SENTENCES),
]


@pytest.mark.parametrize(("lang", "overrides", "sentences"), VARIANTS)
def test_shapes_loss_and_every_parameter_gets_a_gradient(
    lang: str, overrides: list[str], sentences: list[list[str]]
) -> None:
    torch.manual_seed(0)
    model, featurizer = _build(lang, overrides, sentences)
    tags = [[i % 9 for i in range(len(s))] for s in sentences]
    # Tag paths must be valid BIOES for a finite likelihood under constraints: use all-O and S-LOC.
    tags = [[0 if i % 2 else 8 for i in range(len(s))] for s in sentences]
    batch = featurizer.collate([featurizer.encode(s) for s in sentences], tags)
    emissions = model.emissions(batch)
    assert emissions.shape == (len(sentences), max(map(len, sentences)), 9)
    loss = model.loss(batch)
    assert torch.isfinite(loss)
    loss.backward()
    for name, p in model.named_parameters():
        if name.startswith("char_lm."):  # the pretrained language model (the Chinese default) stays frozen
            assert not p.requires_grad and p.grad is None, name
            continue
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize(("lang", "overrides", "sentences"), VARIANTS)
def test_predictions_do_not_depend_on_padding_or_batch_mates(
    lang: str, overrides: list[str], sentences: list[list[str]]
) -> None:
    torch.manual_seed(0)
    model, featurizer = _build(lang, overrides, sentences)
    model.eval()
    together = model.emissions(featurizer.collate([featurizer.encode(s) for s in sentences]))
    for i, s in enumerate(sentences):
        alone = model.emissions(featurizer.collate([featurizer.encode(s)]))
        assert torch.allclose(alone[0], together[i, : len(s)], atol=1e-5)
    batched = tag_sentences(model, featurizer, sentences, batch_size=8)
    single = [tag_sentences(model, featurizer, [s])[0] for s in sentences]
    assert batched == single


@pytest.mark.parametrize("fixture", ["tiny_en", "tiny_zh"])
def test_tiny_model_overfits_fixture_to_f1_one(fixture: str, request: pytest.FixtureRequest) -> None:
    result: TrainResult = request.getfixturevalue(fixture)
    assert result.dev["f1"] == 1.0
    assert (result.checkpoint / "model.safetensors").is_file()
    lines = (result.checkpoint.parent / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == result.epochs_run


@pytest.mark.parametrize("fixture", ["tiny_en", "tiny_zh"])
def test_save_load_gives_identical_predictions(fixture: str, request: pytest.FixtureRequest, tmp_path) -> None:
    result: TrainResult = request.getfixturevalue(fixture)
    model, featurizer, config = checkpoint.load(result.checkpoint)
    sentences = SENTENCES if fixture == "tiny_en" else ZH_SENTENCES
    before = tag_sentences(model, featurizer, sentences)
    checkpoint.save(model, featurizer, tmp_path / "copy", {k: config[k] for k in ("metrics", "data")})
    again, featurizer2, _ = checkpoint.load(tmp_path / "copy")
    assert tag_sentences(again, featurizer2, sentences) == before
    for (name, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), name


def test_pack_sequences_keeps_documents_and_the_token_budget() -> None:
    from ner.features import pack_sequences

    assert pack_sequences([1, 1, 1, 2, 2, 3], [3, 4, 10, 2, 2, 1], 8) == [[0, 1], [2], [3, 4], [5]]
    assert pack_sequences([1, 1], [3, 4], 0) == [[0], [1]]
    assert pack_sequences([], [], 8) == []


def test_document_context_model_trains_and_scores_per_sentence(tmp_path) -> None:
    from ner.conll import read_conll
    from ner.evaluate import evaluate_sentences
    from ner.features import pack_sentences
    from ner.train import train

    from .conftest import EN_TRAIN, TINY, assert_entity_offsets

    sentences = read_conll(EN_TRAIN).sentences
    packed = pack_sentences(sentences, 40)
    assert len(packed) < len(sentences)
    assert [t for s in packed for t in s.tags] == [t for s in sentences for t in s.tags]
    # Documents never mix: the fixture's two documents start at sentences 0 and 10.
    assert sum(1 for p in packed if p.doc_id == 1) + sum(1 for p in packed if p.doc_id == 2) == len(packed)
    config = load_config("en", overrides=[*TINY, "features.context_tokens=40", "train.epochs=3"])
    result = train(config, EN_TRAIN, tmp_path, dev_path=EN_TRAIN, progress=False)
    model, featurizer, saved = checkpoint.load(result.checkpoint)
    assert saved["features"]["context_tokens"] == 40
    scores = evaluate_sentences(model, featurizer, sentences)
    assert scores["sentences"] == 20 and scores["f1"] == pytest.approx(result.dev["f1"])
    from ner.pipeline import Tagger

    text = "Angela Merkel visited Paris. Angela Merkel visited Paris again! Apple Apple."
    entities = Tagger(model, featurizer, saved).predict([text, ""])
    assert_entity_offsets([text, ""], entities)
    assert entities[1] == []


def test_quantized_copy_tags_like_the_float_model_and_leaves_it_alone() -> None:
    from ner.pipeline import Tagger

    texts = ["Angela Merkel met Emmanuel Macron in Paris on Tuesday, said Reuters.", "IBM hired him in New York."]
    exact = Tagger.load("en")
    fast = Tagger.load("en", quantize=True)
    assert fast.quantized and not exact.quantized
    assert type(exact.model.lstm) is torch.nn.LSTM and type(fast.model.lstm) is not torch.nn.LSTM
    spans = [[(e.start, e.end, e.label) for e in ents] for ents in exact.predict(texts)]
    assert [[(e.start, e.end, e.label) for e in ents] for ents in fast.predict(texts)] == spans


@pytest.mark.parametrize("layers", [1, 2])
def test_bilstm_padded_equals_the_packed_lstm_with_gradients(layers: int) -> None:
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    from ner.model import bilstm_padded

    torch.manual_seed(0)
    lstm = torch.nn.LSTM(6, 5, num_layers=layers, batch_first=True, bidirectional=True)
    lengths = torch.tensor([7, 3, 1, 5])
    mask = torch.arange(7)[None, :] < lengths[:, None]
    x = torch.randn(4, 7, 6) * mask.unsqueeze(2)
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    packed = pack_padded_sequence(x1, lengths, batch_first=True, enforce_sorted=False)
    reference = pad_packed_sequence(lstm(packed)[0], batch_first=True, total_length=7)[0]
    ours = bilstm_padded(lstm, x2, mask)
    assert torch.allclose(ours, reference, atol=1e-6)
    weights = torch.randn_like(reference)
    grads_ref = torch.autograd.grad((reference * weights).sum(), [x1, *lstm.parameters()])
    grads_ours = torch.autograd.grad((ours * weights).sum(), [x2, *lstm.parameters()])
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(grads_ref, grads_ours))
    # A batch without padding takes the one-call path, with the same result.
    full = torch.ones(4, 7, dtype=torch.bool)
    assert torch.allclose(bilstm_padded(lstm, x, full), lstm(x)[0])


def test_locked_dropout_shares_one_mask_across_the_sentence() -> None:
    from ner.model import LockedDropout

    torch.manual_seed(0)
    drop = LockedDropout(0.5)
    x = torch.ones(3, 7, 20)
    y = drop(x)
    assert torch.equal(y, y[:, :1, :].expand_as(y)), "every token of a sentence gets the same mask"
    assert set(y.unique().tolist()) == {0.0, 2.0}
    assert not torch.equal(y[0], y[1]), "sentences get their own masks"
    assert torch.equal(drop.eval()(x), x)


def test_locked_dropout_model_trains() -> None:
    torch.manual_seed(0)
    model, featurizer = _build("en", ["model.locked_dropout=true", "model.dropout=0.3"], SENTENCES)
    assert type(model.dropout).__name__ == "LockedDropout"
    tags = [[0] * len(s) for s in SENTENCES]
    loss = model.loss(featurizer.collate([featurizer.encode(s) for s in SENTENCES], tags))
    loss.backward()
    assert torch.isfinite(loss) and model.emit.weight.grad is not None


def test_freeze_pretrained_keeps_the_embedding_table_and_trains_the_rest() -> None:
    from ner.train import _freeze_pretrained, _optimizer

    torch.manual_seed(0)
    model, featurizer = _build("en", [], SENTENCES)
    config = load_config("en", overrides=["train.freeze_pretrained=true", "train.optimizer=adam"])
    _freeze_pretrained(model, config)
    optimizer = _optimizer(model, config)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    tags = [[0] * len(s) for s in SENTENCES]
    model.loss(featurizer.collate([featurizer.encode(s) for s in SENTENCES], tags)).backward()
    optimizer.step()
    after = dict(model.named_parameters())
    assert torch.equal(after["word_embed.weight"], before["word_embed.weight"])
    assert not torch.equal(after["emit.weight"], before["emit.weight"])
    with pytest.raises(ValueError, match="freeze_pretrained needs features.pretrained"):
        load_config("en", overrides=["train.freeze_pretrained=true", "features.pretrained=none"])


def test_float16_embedding_storage_halves_the_tables_and_loads_back_as_float32(tmp_path) -> None:
    overrides = ["features.bigram_min_count=1", "features.softword_dim=4", "model.embedding_storage=float16"]
    model, featurizer = _build("zh", overrides, ZH_SENTENCES)
    checkpoint.save(model, featurizer, tmp_path / "half")
    stored = safetensors.torch.load_file(str(tmp_path / "half" / checkpoint.WEIGHTS_FILE))
    tables = {f"{n}.weight" for n, m in model.named_modules() if isinstance(m, torch.nn.Embedding)}
    assert {"word_embed.weight", "bigram_embed.weight", "softword_embed.weight"} <= tables
    frozen_lm = {k for k in stored if k.startswith("char_lm.")}  # the Chinese default's language model: always float16
    assert {k for k, v in stored.items() if v.dtype == torch.float16} == tables | frozen_lm
    again, _, config = checkpoint.load(tmp_path / "half")
    assert config["model"]["embedding_storage"] == "float16"
    for name, original in model.state_dict().items():
        loaded = again.state_dict()[name]
        assert loaded.dtype == original.dtype, name
        expected = original.to(torch.float16).to(original.dtype) if name in tables | frozen_lm else original
        assert torch.equal(loaded, expected), name
    checkpoint.save(again, featurizer, tmp_path / "again")  # a second round trip loses nothing more
    twice = safetensors.torch.load_file(str(tmp_path / "again" / checkpoint.WEIGHTS_FILE))
    assert all(torch.equal(twice[k], v) for k, v in stored.items())


def test_embedding_storage_is_checked() -> None:
    with pytest.raises(ValueError, match="embedding_storage"):
        load_config("zh", overrides=["model.embedding_storage=int4"])
