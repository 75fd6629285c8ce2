"""Pretrained words never seen in training: looked up as fixed int8 vectors, never trained, saved and loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ner import checkpoint
from ner.config import load_config
from ner.features import Featurizer, word_key
from ner.model import BiLstmCrf
from ner.pipeline import tag_sentences
from ner.tags import bioes_labels
from ner.train import _optimizer, train

from .conftest import EN_TRAIN, TINY

SENTENCES = [["Angela", "Merkel", "visited", "Paris", "."], ["Hi", "Rome"]]
EXTRA = ["berlin", "paris", "madrid", "lisbon"]  # "paris" is also a training word


def _build(seed: int = 0) -> tuple[BiLstmCrf, Featurizer, torch.Tensor]:
    torch.manual_seed(seed)
    config = load_config("en", overrides=["features.pretrained=none", "features.word_dim=12", "model.hidden_size=8"])
    featurizer = Featurizer.build(config.features, SENTENCES, EXTRA)
    model = BiLstmCrf.for_featurizer(featurizer, config.model, bioes_labels(["LOC", "PER"]))
    vectors = torch.randn(featurizer.fixed_words, 12)
    model.set_fixed_words(vectors)
    return model, featurizer, vectors


def test_pretrained_words_unseen_in_training_come_last_and_are_fixed() -> None:
    model, featurizer, vectors = _build()
    words = featurizer.words
    assert featurizer.fixed_words == 3 and words.items[-3:] == ("berlin", "madrid", "lisbon")
    assert model.word_embed.num_embeddings == len(words) - 3, "only words seen in training have trained rows"
    ids = torch.tensor([words[w] for w in ("berlin", "madrid", "lisbon")])
    got = model.word_vectors(ids)
    # int8 with one scale per row: each value within half a step (the row's largest magnitude / 254).
    tolerance = vectors.abs().amax(dim=1, keepdim=True) / 254 + 1e-6
    assert ((got - vectors).abs() <= tolerance).all()
    trained = torch.tensor([words["paris"], words["hi"]])
    assert torch.equal(model.word_vectors(trained), model.word_embed(trained))


def test_no_gradient_or_optimizer_step_reaches_fixed_vectors() -> None:
    model, featurizer, _ = _build()
    config = load_config("en", overrides=["train.optimizer=adam", "train.weight_decay=0.01"])
    optimizer = _optimizer(model, config)
    fixed_ids = torch.tensor([featurizer.words[w] for w in ("berlin", "madrid", "lisbon")])
    before = model.word_vectors(fixed_ids).detach().clone()
    last_trained_row = model.word_embed.num_embeddings - 1  # fixed ids are clamped onto it for the lookup
    assert featurizer.words.items[last_trained_row] == "visited"
    tokens = ["Berlin", "Madrid", "Lisbon", "Hi"]
    batch = featurizer.collate([featurizer.encode(tokens)], [[0, 0, 0, 0]])
    model.loss(batch).backward()
    grad = model.word_embed.weight.grad
    assert grad is not None and grad[last_trained_row].abs().sum() == 0, "fixed words leak no gradient"
    assert grad[featurizer.words["hi"]].abs().sum() > 0
    for _ in range(3):  # Adam with weight decay shrinks rows that get no gradient: fixed ones must not move
        optimizer.step()
    assert torch.equal(model.word_vectors(fixed_ids), before)


def test_fixed_vectors_round_trip_through_a_checkpoint(tmp_path: Path) -> None:
    model, featurizer, _ = _build()
    path = checkpoint.save(model, featurizer, tmp_path / "model")
    assert json.loads((path / checkpoint.VOCAB_FILE).read_text())["fixed_words"] == 3
    loaded, loaded_featurizer, _ = checkpoint.load(path)
    assert loaded_featurizer.fixed_words == 3 and loaded.fixed_words.dtype == torch.int8
    sentences = [["Berlin", "and", "Lisbon", "met", "Angela"], ["Madrid"]]
    assert tag_sentences(loaded, loaded_featurizer, sentences) == tag_sentences(model.eval(), featurizer, sentences)
    ids = torch.tensor([featurizer.words["madrid"]])
    assert torch.equal(loaded.word_vectors(ids), model.word_vectors(ids))

    vocab = json.loads((path / checkpoint.VOCAB_FILE).read_text())
    vocab["fixed_words"] = len(vocab["words"])
    (path / checkpoint.VOCAB_FILE).write_text(json.dumps(vocab))
    with pytest.raises(checkpoint.CheckpointError, match="fixed_words"):
        checkpoint.load(path)


def test_training_keeps_glove_vectors_of_unseen_words_fixed(tmp_path: Path) -> None:
    """The real path: GloVe rows of words not in the training file are carried fixed, the rest trained."""
    from ner.glove import load_glove

    sets = ["features.pretrained=glove-6b-50d", "features.word_dim=50", "features.pretrained_max_words=3000"]
    config = load_config("en", overrides=[*TINY, *sets, "train.epochs=2"])
    result = train(config, EN_TRAIN, tmp_path / "run", dev_path=EN_TRAIN, progress=False)
    model, featurizer, _ = checkpoint.load(result.checkpoint)
    words, vectors = load_glove(max_words=3000)
    glove: dict[str, torch.Tensor] = {}
    for word, vector in zip(words, vectors):  # lookup keys (digits as 0): the most frequent word's vector
        glove.setdefault(word_key(word, config.features), torch.tensor(vector))
    assert featurizer.fixed_words > 2000
    fixed = featurizer.words.items[-featurizer.fixed_words :]
    train_words = set(featurizer.words.items[: -featurizer.fixed_words])
    assert not train_words & set(fixed) and "government" in fixed
    ids = torch.tensor([featurizer.words[w] for w in fixed])
    expected = torch.stack([glove[w] for w in fixed])
    assert ((model.word_vectors(ids) - expected).abs() <= expected.abs().amax(dim=1, keepdim=True) / 254 + 1e-6).all()


def test_pretrained_swap_feeds_training_words_their_original_vectors_while_training_only() -> None:
    torch.manual_seed(0)
    config = load_config(
        "en",
        overrides=[
            "features.pretrained=train-text",
            "features.word_dim=12",
            "model.hidden_size=8",
            "model.pretrained_swap=0.99",
            "features.doc_memory=0",  # the English default's memory needs whole windows; this reads words alone
        ],
    )
    featurizer = Featurizer.build(config.features, SENTENCES, EXTRA)
    model = BiLstmCrf.for_featurizer(featurizer, config.model, bioes_labels(["LOC", "PER"]))
    rows = model.word_embed.num_embeddings
    original = torch.randn(rows, 12)
    found = torch.tensor([featurizer.words.items[i] in ("paris", "angela") for i in range(rows)])
    model.set_original_words(original, found)
    ids = torch.tensor([featurizer.words[w] for w in ("paris", "angela", "hi")] * 50)
    model.train()
    got = model.word_vectors(ids).detach()
    paris, angela, hi = got[0::3], got[1::3], got[2::3]
    swapped = (paris == original[featurizer.words["paris"]]).all(dim=1)
    assert 0.9 < swapped.float().mean() < 1.0, "about 99% of occurrences read the original vector"
    assert (angela == original[featurizer.words["angela"]]).all(dim=1).float().mean() > 0.9
    assert torch.equal(hi, model.word_embed.weight[featurizer.words["hi"]].detach().expand_as(hi)), "no original"
    model.eval()
    assert torch.equal(model.word_vectors(ids), model.word_embed(ids).detach()), "never at inference"
    assert "original_words" not in model.state_dict(), "training-only: checkpoints leave it out"

    with pytest.raises(ValueError, match="pretrained_swap needs features.pretrained"):
        load_config("en", overrides=["model.pretrained_swap=0.2", "features.pretrained=none"])
