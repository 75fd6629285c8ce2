"""Knowledge distillation (train.teachers): the soft cross-entropy, the teachers' marginals, and training with them."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch

from ner import checkpoint, distill
from ner.config import load_config
from ner.conll import read_conll
from ner.crf import ConstrainedCRF
from ner.distill import SoftTargets, collate_targets, soft_nll, teacher_marginals
from ner.objective import TrainingObjective
from ner.tags import allowed_transitions, bioes_labels
from ner.train import TrainResult, train

from .conftest import EN_TRAIN, TINY, ZH_TRAIN, load_script


def _crf(labels: list[str]) -> ConstrainedCRF:
    crf = ConstrainedCRF(*allowed_transitions(labels))
    for name in ("transitions", "start_transitions", "end_transitions"):
        torch.nn.init.normal_(crf._parameters[name])
    return crf


def _path_log_probs(crf: ConstrainedCRF, emissions: torch.Tensor, n: int) -> dict[tuple[int, ...], float]:
    """log P(y) of every tag path of one sentence's first n steps, by enumeration."""
    k = emissions.shape[-1]
    mask = torch.ones(1, n, dtype=torch.bool)
    with torch.no_grad():
        return {
            y: float(crf(emissions[None, :n].detach(), torch.tensor([y]), mask=mask))
            for y in itertools.product(range(k), repeat=n)
        }


def _targets_of(crf: ConstrainedCRF, emissions: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The CRF's own marginals as soft targets, by enumeration: (B, T, K) and (B, T, K, K)."""
    b, t, k = emissions.shape
    unary, pairwise = torch.zeros(b, t, k), torch.zeros(b, t, k, k)
    for row in range(b):
        n = int(mask[row].sum())
        for y, log_p in _path_log_probs(crf, emissions[row], n).items():
            p = float(np.exp(log_p))
            for i in range(n):
                unary[row, i, y[i]] += p
                if i:
                    pairwise[row, i, y[i - 1], y[i]] += p
    return unary, pairwise


def test_soft_nll_against_its_own_marginals_is_the_entropy_by_enumeration() -> None:
    torch.manual_seed(0)
    crf = _crf(bioes_labels(["PER"]))
    emissions = torch.randn(2, 4, 5)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.bool)
    unary, pairwise = _targets_of(crf, emissions, mask)
    entropies = []
    for row in range(2):
        log_ps = np.array(list(_path_log_probs(crf, emissions[row], int(mask[row].sum())).values()))
        entropies.append(-(np.exp(log_ps) * log_ps).sum())
    assert soft_nll(crf, emissions, mask, unary, pairwise).item() == pytest.approx(np.mean(entropies), rel=1e-5)


def test_soft_nll_of_one_hot_targets_is_the_gold_nll_and_its_gradient_flows() -> None:
    torch.manual_seed(1)
    crf = _crf(bioes_labels(["LOC", "PER"]))
    tags = torch.tensor([[1, 2, 3, 0], [4, 0, 0, 0]])  # B-LOC I-LOC E-LOC O / S-LOC
    labels = bioes_labels(["LOC", "PER"])
    assert [labels[i] for i in tags[0]] == ["B-LOC", "I-LOC", "E-LOC", "O"] and labels[4] == "S-LOC"
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.bool)
    emissions = torch.randn(2, 4, len(labels), requires_grad=True)
    unary = torch.nn.functional.one_hot(tags, len(labels)).float() * mask[..., None]
    pairwise = unary[:, :-1, :, None] * unary[:, 1:, None, :]
    pairwise = torch.cat([torch.zeros_like(pairwise[:, :1]), pairwise], dim=1)
    soft = soft_nll(crf, emissions, mask, unary, pairwise)
    assert soft.item() == pytest.approx(crf.nll(emissions, tags, mask).item(), rel=1e-5)
    soft.backward()
    assert emissions.grad is not None and emissions.grad[mask].abs().sum() > 0


def _teacher(tmp_path_factory: pytest.TempPathFactory, lang: str, data, extra: list[str]) -> TrainResult:
    config = load_config(lang, overrides=[*TINY, "train.epochs=3", *extra])
    return train(config, data, tmp_path_factory.mktemp(f"teacher-{lang}"), dev_path=data, progress=False)


@pytest.fixture(scope="module")
def teacher_en(tiny_en: TrainResult) -> TrainResult:
    return tiny_en


def test_teacher_marginals_are_distributions_in_the_students_label_order(teacher_en: TrainResult) -> None:
    sentences = read_conll(EN_TRAIN).sentences
    model, _, _ = checkpoint.load(teacher_en.checkpoint)
    labels = list(reversed(model.labels))  # a student may number the labels otherwise
    one = teacher_marginals([str(teacher_en.checkpoint)], sentences, labels)
    two = teacher_marginals([str(teacher_en.checkpoint)] * 2, sentences, labels)
    for sentence, target, same in zip(sentences, one, two):
        n = len(sentence.tokens)
        assert target.unary.shape == (n, len(labels)) and target.pairwise.shape == (n, len(labels), len(labels))
        np.testing.assert_allclose(target.unary.sum(axis=1), 1.0, atol=1e-4)
        assert not target.pairwise[0].any(), "no pair ends at the first token"
        # a pair's marginal summed over its first tag is the second tag's marginal
        np.testing.assert_allclose(target.pairwise[1:].astype(np.float32).sum(axis=1), target.unary[1:], atol=2e-3)
        np.testing.assert_allclose(same.unary, target.unary, atol=1e-6), "the mean of one teacher twice is itself"
    forbidden = labels.index("O"), labels.index("I-PER")
    assert all(not t.pairwise[:, forbidden[0], forbidden[1]].any() for t in one), "O -> I- is never a pair"
    unary, pairwise = collate_targets(one[:2], 40)
    assert unary.shape == (2, 40, len(labels)) and pairwise.shape == (2, 40, len(labels), len(labels))
    assert not unary[0, len(sentences[0].tokens) :].any()


def test_a_memory_teacher_gives_the_same_marginals_in_runs_of_few_sentences(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    zh = ["features.bigram_dim=8", "features.softword_dim=4", "features.bigram_min_count=1", "features.doc_memory=4"]
    teacher = _teacher(tmp_path_factory, "zh", ZH_TRAIN, zh)
    sentences = read_conll(ZH_TRAIN).sentences
    labels = checkpoint.load(teacher.checkpoint)[0].labels
    whole = teacher_marginals([str(teacher.checkpoint)], sentences, labels)
    monkeypatch.setattr(distill, "CHUNK_SENTENCES", 3)  # runs of one window of 4 sentences
    assert [len(run) for run in distill._chunks([s.doc_id for s in sentences], 4)][:2] == [4, 4]
    runs = teacher_marginals([str(teacher.checkpoint)], sentences, labels)
    for a, b in zip(whole, runs):
        np.testing.assert_allclose(a.unary, b.unary, atol=1e-5)
        np.testing.assert_allclose(a.pairwise.astype(np.float32), b.pairwise.astype(np.float32), atol=1e-3)


def test_a_teacher_must_know_the_students_labels(teacher_en: TrainResult) -> None:
    sentences = read_conll(EN_TRAIN).sentences[:2]
    with pytest.raises(ValueError, match="teacher .* tags"):
        teacher_marginals([str(teacher_en.checkpoint)], sentences, bioes_labels(["DRUG"]))
    with pytest.raises(ValueError, match="at least one teacher"):
        teacher_marginals([], sentences, bioes_labels(["DRUG"]))


def test_a_student_of_the_teacher_alone_learns_the_tags(teacher_en: TrainResult, tmp_path) -> None:
    """With train.teacher_weight = 1 the gold tags play no part: all the student knows comes from the teacher."""
    assert teacher_en.dev["f1"] > 0.9
    overrides = [*TINY, "features.casing_dim=4", f"train.teachers={teacher_en.checkpoint}", "train.teacher_weight=1"]
    result = train(load_config("en", overrides=overrides), EN_TRAIN, tmp_path, dev_path=EN_TRAIN, progress=False)
    assert result.dev["f1"] > 0.9
    stored = json.loads((result.checkpoint / "config.json").read_text())
    assert stored["train"]["teachers"] == str(teacher_en.checkpoint) and stored["train"]["teacher_weight"] == 1.0


def test_a_chinese_student_with_a_document_memory_teacher(tmp_path_factory: pytest.TempPathFactory, tmp_path) -> None:
    zh = ["features.bigram_dim=8", "features.softword_dim=4", "features.bigram_min_count=1"]
    teacher = _teacher(tmp_path_factory, "zh", ZH_TRAIN, [*zh, "features.doc_memory=4"])
    text = tmp_path / "text.txt"  # unlabelled lines, which mention replacement leaves alone
    text.write_text("".join("".join(s.tokens) + "\n" for s in read_conll(ZH_TRAIN).sentences[:3]), encoding="utf-8")
    # mention replacement (the Chinese defaults' 0.3, here 0.5) beside the teachers: rewritten rows learn their tags
    overrides = [*TINY, *zh, "train.epochs=2", f"train.teachers={teacher.checkpoint}", "train.mention_replace=0.5"]
    config = load_config("zh", overrides=[*overrides, f"train.unlabelled={text}", "features.doc_memory=4"])
    result = train(config, ZH_TRAIN, tmp_path / "student", dev_path=ZH_TRAIN, progress=False)
    assert result.epochs_run == 2
    assert json.loads((result.checkpoint / "config.json").read_text())["train"]["mention_replace"] == 0.5


def test_a_row_rewritten_by_mention_replacement_learns_its_gold_tags_alone(teacher_en: TrainResult) -> None:
    model, featurizer, _ = checkpoint.load(teacher_en.checkpoint)
    sentences = read_conll(EN_TRAIN).sentences[:3]
    k = len(model.labels)
    gold = [[model.labels.index(tag) for tag in s.tags] for s in sentences]
    own = teacher_marginals([str(teacher_en.checkpoint)], sentences, model.labels)
    none = [SoftTargets(np.zeros((0, k), np.float32), np.zeros((0, k, k), np.float16))] * 3  # as training passes
    wrong = []  # all the mass on S-PER at every token
    for s in sentences:
        unary = np.zeros((len(s.tokens), k), np.float32)
        pairwise = np.zeros((len(s.tokens), k, k), np.float16)
        unary[:, model.labels.index("S-PER")] = 1.0
        pairwise[1:, model.labels.index("S-PER"), model.labels.index("S-PER")] = 1.0
        wrong.append(SoftTargets(unary, pairwise))
    objective = TrainingObjective(model, teacher_weight=0.5)
    objective.eval()  # no dropout: the same batch scores the same

    def loss(targets: list[SoftTargets], taught: list[bool] | None, weight: float = 0.5) -> float:
        batch = featurizer.collate([featurizer.encode(s.tokens) for s in sentences], gold)
        batch.soft_unary, batch.soft_pairwise = collate_targets(targets, batch.mask.shape[1])
        batch.taught = None if taught is None else torch.tensor(taught)
        objective.teacher_weight = weight
        with torch.no_grad():
            return objective.loss(batch).item()

    gold_alone = loss(own, None, weight=0.0)
    assert loss(none, [False, False, False]) == pytest.approx(gold_alone, rel=1e-6)
    assert loss(wrong, [False, False, False]) == pytest.approx(gold_alone, rel=1e-6), "their targets are not read"
    assert loss(own, [True, True, True]) == pytest.approx(loss(own, None), rel=1e-6)
    assert loss(wrong, [True, True, True]) > loss(own, [True, True, True]) + 1.0, "the taught rows read them"
    mixed = loss(wrong, [False, True, True])
    assert loss(own, [True, True, True]) < mixed < loss(wrong, [True, True, True])


def _recorded_teacher(directory, train_sha: str, dev: dict) -> str:
    """A checkpoint folder holding only the config.json records that the split check reads."""
    directory.mkdir()
    data = {"train": {"path": "train.txt", "sha256": train_sha, "sentences": 100}, "dev": dev}
    (directory / "config.json").write_text(json.dumps({"data": data}), encoding="utf-8")
    return str(directory)


def test_a_teacher_that_held_out_another_dev_split_is_refused(tmp_path) -> None:
    held = {"held_out_from_train": 0.05, "seed": 1, "block": 1, "sentences": 5}
    same = _recorded_teacher(tmp_path / "same", "aa", held)
    old = _recorded_teacher(tmp_path / "old", "aa", {"held_out_from_train": 0.05, "seed": 1, "sentences": 5})
    other_file = _recorded_teacher(tmp_path / "other-file", "bb", {**held, "seed": 2})
    distill.check_teacher_splits([same, old, other_file], "aa", held)  # no block recorded: block 1
    seed_2 = _recorded_teacher(tmp_path / "seed-2", "aa", {**held, "seed": 2})
    with pytest.raises(ValueError, match=r"teacher .*seed-2 .*held out 0.05 \(seed 2, block 1\).*\(seed 1, block 1\)"):
        distill.check_teacher_splits([same, seed_2], "aa", held)
    whole = _recorded_teacher(tmp_path / "whole", "aa", {"path": "dev.txt", "sha256": "cc", "sentences": 5})
    with pytest.raises(ValueError, match="was given a dev file and trained on all of it"):
        distill.check_teacher_splits([whole], "aa", held)
    # a run given its own dev file: what the teachers saw of it cannot be read off the records
    distill.check_teacher_splits([seed_2, whole], "aa", {"path": "dev.txt", "sha256": "cc", "sentences": 5})
    with pytest.raises(checkpoint.CheckpointError, match="no checkpoint"):
        distill.check_teacher_splits([str(tmp_path / "missing")], "aa", held)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(checkpoint.CheckpointError, match="broken: cannot read config.json"):
        distill.check_teacher_splits([str(tmp_path / "broken")], "aa", held)


def test_training_refuses_such_a_teacher_before_writing_anything(teacher_en: TrainResult, tmp_path) -> None:
    """teacher_en was given a dev file (the training file itself): a student holding dev out of that file is refused."""
    overrides = [*TINY, "features.casing_dim=4", f"train.teachers={teacher_en.checkpoint}"]
    with pytest.raises(ValueError, match="has seen this run's dev sentences"):
        train(load_config("en", overrides=overrides), EN_TRAIN, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_teacher_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="teacher_weight"):
        load_config("en", overrides=["train.teacher_weight=1.5"])
    config = load_config("en", overrides=["train.teachers= a , b,,"])
    assert config.train.teacher_list == ["a", "b"] and load_config("en").train.teacher_list == []


def test_ensemble_eval_scores_models_alone_and_together(tiny_en: TrainResult, capsys) -> None:
    script = load_script("ensemble_eval")
    model = str(tiny_en.checkpoint)
    assert script.main(["--data", str(EN_TRAIN), "--model", model, "--model", model, "--entity-bias", "0", "2"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(len(r["models"]), r["entity_bias"]) for r in rows] == [(1, 0), (1, 2), (1, 0), (1, 2), (2, 0), (2, 2)]
    assert rows[0]["f1"] == rows[4]["f1"] > 0.9, "a model twice is the model"
    assert rows[1]["recall"] >= rows[0]["recall"], "a bias toward entities finds no fewer of them"


def test_ensemble_decoding_keeps_to_bioes() -> None:
    script = load_script("ensemble_eval")
    labels = bioes_labels(["PER"])
    log_p = np.log(np.full((3, len(labels)), 1e-3))
    log_p[:, labels.index("I-PER")] = 0.0  # every step's favourite is I-PER, which cannot start or end a path
    path = script.constrained_decode(log_p, labels)
    assert path[0] in ("B-PER", "S-PER", "O") and path[-1] in ("E-PER", "S-PER", "O")
    assert path == ["B-PER", "I-PER", "E-PER"]


def test_teacher_softness_of_a_model_on_its_training_set(tiny_en: TrainResult, capsys) -> None:
    script = load_script("teacher_softness")
    assert script.main(["--data", str(EN_TRAIN), "--teacher", str(tiny_en.checkpoint), "--sentences", "5"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert 0 < row["tokens"] < sum(len(s.tokens) for s in read_conll(EN_TRAIN).sentences)
    assert row["gold_marginal"] > 0.8 and row["argmax_not_gold"] < 0.1, "the tiny model fits its training set"
    assert row["mean_entropy"] >= 0 and 0 <= row["unsure"] <= 1
