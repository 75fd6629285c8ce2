"""The training objective: the CRF loss, plus the optional neighbour-word language model (train.lm_weight)."""

from __future__ import annotations

import pytest
import torch

from ner import checkpoint
from ner.config import load_config
from ner.features import Featurizer
from ner.model import BiLstmCrf
from ner.objective import BOUNDARY, IGNORE, UNKNOWN, NeighbourWordLM, TrainingObjective, neighbour_targets
from ner.tags import bioes_labels
from ner.train import train

from .conftest import EN_TRAIN, TINY

SENTENCES = [["Angela", "Merkel", "visited", "Paris", "."], ["Hi", "Paris"]]


def test_targets_are_the_neighbours_with_boundaries_rare_words_and_padding() -> None:
    words = torch.tensor([[5, 9, 3, 0], [7, 2, 0, 0], [4, 0, 0, 0]])
    following, preceding = neighbour_targets(words, words != 0, vocab_size=6)
    x, b, u = IGNORE, BOUNDARY, UNKNOWN
    assert following.tolist() == [[u, 3, b, x], [2, b, x, x], [b, x, x, x]], "9 and 7 are outside the 6 classes"
    assert preceding.tolist() == [[b, 5, u, x], [b, u, x, x], [b, x, x, x]]


def _tagger() -> tuple[BiLstmCrf, Featurizer]:
    torch.manual_seed(0)
    config = load_config("en", overrides=[*TINY, "train.lm_weight=0.5", "train.lm_vocab=4", "features.doc_memory=0"])
    featurizer = Featurizer.build(config.features, SENTENCES)
    return BiLstmCrf.for_featurizer(featurizer, config.model, bioes_labels(["LOC", "PER"])), featurizer


def test_objective_adds_the_weighted_lm_loss_and_trains_its_heads_and_the_tagger() -> None:
    tagger, featurizer = _tagger()
    objective = TrainingObjective.for_tagger(tagger, lm_weight=0.5, lm_vocab=4)
    assert objective.lm is not None and objective.lm.vocab_size == 4
    tags = [[1, 2, 0, 3, 0], [0, 3]]  # any label ids will do
    batch = featurizer.collate([featurizer.encode(s) for s in SENTENCES], tags)
    objective.eval()  # no dropout: the parts can be recomputed exactly
    states = tagger.encode(batch)
    expected = tagger.loss(batch) + 0.5 * objective.lm(states, batch.words, batch.mask)
    loss = objective.loss(batch)
    assert torch.allclose(loss, expected)
    loss.backward()
    for name, p in objective.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert TrainingObjective.for_tagger(tagger, lm_weight=0.0, lm_vocab=4).lm is None


def test_lm_loss_is_summed_per_sentence_like_the_crf_loss() -> None:
    torch.manual_seed(0)
    lm = NeighbourWordLM(state_size=8, vocab_size=5, dropout=0.0)
    for p in lm.parameters():
        torch.nn.init.zeros_(p)  # uniform predictions: every target costs log 5
    words = torch.tensor([[2, 3, 4], [2, 0, 0]])
    loss = lm(torch.zeros(2, 3, 8), words, words != 0)
    assert loss.item() == pytest.approx((6 + 2) * torch.log(torch.tensor(5.0)).item() / 2), "8 targets, 2 sentences"


def test_training_with_the_lm_saves_the_tagger_alone(tmp_path) -> None:
    config = load_config("en", overrides=[*TINY, "train.epochs=2", "train.lm_weight=0.1"])
    result = train(config, EN_TRAIN, tmp_path, dev_path=EN_TRAIN, progress=False)
    model, featurizer, saved = checkpoint.load(result.checkpoint)
    assert saved["train"]["lm_weight"] == 0.1
    fresh = BiLstmCrf.for_featurizer(featurizer, model.config, model.labels)
    assert set(model.state_dict()) == set(fresh.state_dict()), "no language-model weights in the checkpoint"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model.num_layers=2"], "num_layers = 1"),
        (["features.bigram_dim=8"], "bigram, softword, pos, lexicon or gazetteer"),
        (["features.gazetteer=en"], "phrases of several tokens"),
        (["train.lm_vocab=1"], "lm_vocab at least 2"),
    ],
)
def test_lm_is_refused_where_states_have_seen_their_targets(overrides: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_config("en", overrides=["train.lm_weight=0.1", *overrides])
    with pytest.raises(ValueError, match="lm_weight must be at least 0"):
        load_config("en", overrides=["train.lm_weight=-1"])


def _adversarial_batch():
    tagger, featurizer = _tagger()
    tags = [[1, 2, 0, 3, 0], [0, 3]]
    return tagger, featurizer.collate([featurizer.encode(s) for s in SENTENCES], tags)


def test_adversarial_loss_adds_the_loss_at_features_moved_up_the_gradient_by_epsilon_per_token() -> None:
    tagger, batch = _adversarial_batch()
    objective = TrainingObjective.for_tagger(tagger, lm_weight=0.0, lm_vocab=4, adversarial=0.3)
    objective.train()  # the tiny config has no dropout: every reading is deterministic
    inputs = tagger.represent(batch)
    clean = tagger.crf.nll(tagger.emissions(batch, tagger.encode(batch, inputs)), batch.tags, batch.mask)
    (grad,) = torch.autograd.grad(clean, inputs)
    # each sentence moves by 0.3 * sqrt(its length), along its own gradient; padding does not move
    lengths = torch.tensor([5.0, 2.0])
    move = 0.3 * lengths.sqrt().view(-1, 1, 1) * grad / grad.flatten(1).norm(dim=1).view(-1, 1, 1)
    assert move[1, 2:].abs().sum() == 0
    moved = inputs.detach() + move
    worse = tagger.crf.nll(tagger.emissions(batch, tagger.encode(batch, moved)), batch.tags, batch.mask)
    assert worse > clean, "the move goes up the loss"
    loss = objective.loss(batch)
    assert torch.allclose(loss, (clean + worse) / 2)
    loss.backward()
    assert all(p.grad is not None for p in tagger.parameters() if p.requires_grad)


def test_adversarial_loss_is_off_outside_training_and_at_zero() -> None:
    tagger, batch = _adversarial_batch()
    plain = TrainingObjective.for_tagger(tagger, lm_weight=0.0, lm_vocab=4)
    adversarial = TrainingObjective.for_tagger(tagger, lm_weight=0.0, lm_vocab=4, adversarial=0.3)
    plain.eval()
    adversarial.eval()
    assert torch.allclose(adversarial.loss(batch), plain.loss(batch))
    with pytest.raises(ValueError, match="adversarial"):
        load_config("en", overrides=["train.adversarial=-0.1"])


def test_training_with_adversarial_features_and_warmup_learns_its_training_file(tmp_path) -> None:
    config = load_config("en", overrides=[*TINY, "train.adversarial=0.5", "train.warmup=4"])
    result = train(config, EN_TRAIN, tmp_path, dev_path=EN_TRAIN, progress=False)
    _, _, saved = checkpoint.load(result.checkpoint)
    assert saved["train"]["adversarial"] == 0.5 and saved["train"]["warmup"] == 4
    assert result.dev["f1"] > 0.9, result.dev
