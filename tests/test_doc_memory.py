"""The document memory (features.doc_memory): groups, windows, batching, and what the tags may depend on."""

from __future__ import annotations

import dataclasses
import json
import random

import pytest
import torch
from torch import nn

from ner import checkpoint
from ner.config import load_config
from ner.conll import DOCSTART, format_conll, read_conll
from ner.features import Featurizer, memory_windows
from ner.model import BiLstmCrf, DocumentMemory, attended_memory, document_memory
from ner.pipeline import Tagger, _scored_batches, tag_sentences
from ner.tags import bioes_labels
from ner.train import _memory_owners, _window_batches, train

from .conftest import EN_TRAIN, TINY, assert_entity_offsets, load_script

SENTENCES = [["Paris", "is", "big", "."], ["Hilton", "left", "paris", "."], ["Paris", "Hilton"], ["Rome"]]


def _model(
    window: int = 8, include_self: bool = True, attention: int = 0, emit_hidden: int = 0, alone_head: bool = False
) -> tuple[BiLstmCrf, Featurizer]:
    torch.manual_seed(0)
    overrides = [*TINY, f"features.doc_memory={window}", f"features.doc_memory_self={str(include_self).lower()}"]
    overrides += [f"features.doc_memory_attention={attention}", f"model.emit_hidden={emit_hidden}"]
    overrides += [f"model.alone_head={str(alone_head).lower()}"]
    config = load_config("en", overrides=overrides)
    featurizer = Featurizer.build(config.features, SENTENCES)
    return BiLstmCrf.for_featurizer(featurizer, config.model, bioes_labels(["LOC", "PER"])).eval(), featurizer


def test_memory_is_the_mean_state_of_each_group_and_zero_at_padding() -> None:
    states = torch.tensor([[[1.0, 0.0], [3.0, 2.0], [0.0, 0.0]], [[5.0, 4.0], [7.0, 6.0], [2.0, 2.0]]])
    groups = torch.tensor([[1, 2, 0], [1, 3, 3]])
    memory = document_memory(states, groups)
    assert memory.tolist() == [[[3.0, 2.0], [3.0, 2.0], [0.0, 0.0]], [[3.0, 2.0], [4.5, 4.0], [4.5, 4.0]]]


def test_memory_without_self_is_the_mean_of_the_other_occurrences() -> None:
    states = torch.tensor([[[1.0, 0.0], [3.0, 2.0], [0.0, 0.0]], [[5.0, 4.0], [7.0, 6.0], [2.0, 2.0]]])
    groups = torch.tensor([[1, 2, 0], [1, 3, 3]])
    memory = document_memory(states, groups, include_self=False)
    # group 1: each sees the other; group 2 occurs once (zeros); group 3: each sees the other; padding zeros
    assert memory.tolist() == [[[5.0, 4.0], [0.0, 0.0], [0.0, 0.0]], [[1.0, 0.0], [2.0, 2.0], [7.0, 6.0]]]


@pytest.mark.parametrize("include_self", [True, False])
def test_attention_with_equal_scores_is_the_mean(include_self: bool) -> None:
    torch.manual_seed(0)
    states, groups = torch.randn(3, 5, 4), torch.tensor([[1, 2, 1, 0, 0], [3, 3, 3, 1, 0], [2, 4, 4, 4, 5]])
    queries, keys = torch.zeros(3, 5, 2), torch.randn(3, 5, 2)
    memory = attended_memory(states, groups, queries, keys, include_self)
    assert torch.allclose(memory, document_memory(states, groups, include_self), atol=1e-6)
    start = DocumentMemory(4, attention_dim=2, include_self=include_self)
    assert torch.allclose(start(states, groups), document_memory(states, groups, include_self), atol=1e-6), (
        "the query projection starts at zero: an attending memory starts as the mean"
    )


def test_attention_weighs_each_groups_states_by_softmax_of_query_and_key() -> None:
    torch.manual_seed(1)
    states, groups = torch.randn(2, 4, 3), torch.tensor([[1, 2, 1, 0], [1, 4, 4, 3]])  # groups of 3, 2, 1 and 1
    queries, keys = torch.randn(2, 4, 2), torch.randn(2, 4, 2)
    memory = attended_memory(states, groups, queries, keys)
    flat, g, q, k = states.view(-1, 3), groups.view(-1), queries.view(-1, 2) / 2**0.5, keys.view(-1, 2)
    for i in range(8):
        if g[i] == 0:
            assert memory.view(-1, 3)[i].abs().sum() == 0, "padding"
            continue
        mates = (g == g[i]).nonzero().squeeze(1)
        weights = torch.softmax(k[mates] @ q[i], dim=0)
        assert torch.allclose(memory.view(-1, 3)[i], weights @ flat[mates], atol=1e-6)
    states.requires_grad_(True)
    attended_memory(states, groups, queries, keys).sum().backward()
    assert states.grad is not None and states.grad[0, 3].abs().sum() == 0, "padding gets no gradient"


def test_groups_join_a_words_occurrences_within_a_window_only() -> None:
    _, featurizer = _model()
    items = [featurizer.encode(s) for s in SENTENCES[:3]]
    groups = featurizer.collate(items, windows=["a", "a", "b"]).word_groups
    assert groups is not None
    paris, hilton = groups[0, 0].item(), groups[1, 0].item()
    assert groups[1, 2].item() == paris, "lookup keys are lower-cased: paris and Paris are one word"
    assert groups[2, 0].item() not in (paris, 0) and groups[2, 1].item() not in (hilton, 0), "another window"
    assert groups[2, 2:].tolist() == [0, 0], "padding"
    alone = featurizer.collate(items).word_groups  # no windows given: each sentence its own
    assert alone is not None and alone[1, 2].item() != alone[0, 0].item()


def test_windows_split_documents_and_never_join_two() -> None:
    assert memory_windows([0, 0, 0, 1, 1, 2], 2) == [[0, 1], [2], [3, 4], [5]]
    assert memory_windows([0, 0], 0) == [[0], [1]]


def test_training_batches_hold_whole_windows_and_every_sentence_once() -> None:
    windows = memory_windows([d for d in range(40) for _ in range(d % 7 + 1)], 5)
    lengths = [random.Random(i).randint(1, 30) for i in range(sum(map(len, windows)))]
    batches = _window_batches(windows, lengths, batch_size=8, rng=random.Random(0))
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    where = {i: k for k, b in enumerate(batches) for i in b}
    assert all(len({where[i] for i in w}) == 1 for w in windows), "a window is never split"
    assert all(len(b) <= 8 for b in batches)
    big = _window_batches([[0, 1, 2]], [1, 1, 1], batch_size=2, rng=random.Random(0))
    assert big == [[0, 1, 2]], "a window larger than the batch is a batch of its own"


def test_memory_owners_are_the_windows_or_with_doc_memory_alone_some_sentences_on_their_own() -> None:
    windows = memory_windows([d for d in range(50) for _ in range(d % 5 + 1)], 4)
    n = sum(map(len, windows))
    rng = random.Random(0)
    assert _memory_owners(windows, 0.0, rng) == [w for w, window in enumerate(windows) for _ in window]
    assert rng.random() == random.Random(0).random(), "off, it draws nothing: earlier runs' batches stay as they were"
    assert _memory_owners(windows, 1.0, rng) == [len(windows) + i for i in range(n)], "each sentence its own"
    owners = _memory_owners(windows, 0.3, random.Random(1))
    assert owners == _memory_owners(windows, 0.3, random.Random(1)), "the seed decides"
    alone = [o >= len(windows) for o in owners]
    assert 0.2 < sum(alone) / n < 0.4
    assert all(o == len(windows) + i for i, o in enumerate(owners) if alone[i]), "no two lone sentences share"
    where = {i: w for w, window in enumerate(windows) for i in window}
    assert all(o == where[i] for i, o in enumerate(owners) if not alone[i])
    with pytest.raises(ValueError, match="doc_memory_alone"):
        load_config("en", overrides=["model.doc_memory_alone=1.5"])


def test_a_sentences_tags_depend_on_its_window_and_not_beyond() -> None:
    model, featurizer = _model()
    items = [featurizer.encode(s) for s in SENTENCES]
    shared = model.emissions(featurizer.collate(items, windows=[0, 0, 0, 1]))
    apart = model.emissions(featurizer.collate(items, windows=[0, 1, 2, 3]))
    alone = model.emissions(featurizer.collate(items[:1]))
    assert torch.allclose(apart[0, :4], alone[0], atol=1e-5), "batch mates of other windows change nothing"
    assert not torch.allclose(shared[0, :4], apart[0, :4], atol=1e-5), "Paris reads its other mentions"
    assert torch.allclose(shared[3, :1], apart[3, :1], atol=1e-5), "Rome shares its window with no one"


@pytest.mark.parametrize(("include_self", "attention"), [(True, 0), (False, 0), (True, 8)])
def test_tagging_keeps_each_document_together_whatever_the_batch_size(include_self: bool, attention: int) -> None:
    model, featurizer = _model(window=3, include_self=include_self, attention=attention)
    if model.memory is not None and model.memory.query is not None:
        nn.init.normal_(model.memory.query.weight)  # attention that is not yet the mean
    docs = [0, 0, 1, 1]
    expected = tag_sentences(model, featurizer, SENTENCES, batch_size=128, docs=docs)
    assert tag_sentences(model, featurizer, SENTENCES, batch_size=1, docs=docs) == expected
    by_document = tag_sentences(model, featurizer, SENTENCES[:2], docs=[0, 0]) + tag_sentences(
        model, featurizer, SENTENCES[2:], docs=[1, 1]
    )
    assert by_document == expected
    batch = featurizer.collate([featurizer.encode(SENTENCES[0])])
    batch.word_groups = None
    with pytest.raises(ValueError, match="word_groups"):
        model.emissions(batch)


@pytest.mark.parametrize(
    ("include_self", "attention", "emit_hidden"),
    [(True, 0, 0), (False, 0, 0), (True, 8, 0), (False, 8, 0), (True, 8, 6)],
)
def test_tagging_scores_equal_the_models_own_emissions_over_whole_windows(
    include_self: bool, attention: int, emit_hidden: int
) -> None:
    """Tagging reads the memory of each state's tag scores where the scores are linear in the memory (no
    emit_hidden), and of the states themselves otherwise: both give what the model computes on one batch."""
    model, featurizer = _model(window=8, include_self=include_self, attention=attention, emit_hidden=emit_hidden)
    if model.memory is not None and model.memory.query is not None:
        nn.init.normal_(model.memory.query.weight)
    assert (model.split_emissions(torch.zeros(1, 1, 64)) is None) == bool(emit_hidden)
    items = [featurizer.encode(s) for s in SENTENCES]
    with torch.no_grad():
        expected = model.emissions(featurizer.collate(items, windows=[0, 0, 0, 0]))  # (4, T, K): one window
        scored = list(_scored_batches(model, featurizer, SENTENCES, docs=[0, 0, 0, 0], batch_size=2))
    assert sorted(i for idx, _, _ in scored for i in idx) == [0, 1, 2, 3]
    for idx, _, emissions in scored:
        for row, i in enumerate(idx):
            n = len(SENTENCES[i])
            assert torch.allclose(emissions[row, :n], expected[i, :n], atol=1e-5), i


def test_memory_without_self_reads_zeros_for_a_word_alone_in_its_window() -> None:
    model, featurizer = _model(window=3, include_self=False)
    items = [featurizer.encode(s) for s in SENTENCES]
    alone = model.emissions(featurizer.collate(items, windows=[0, 1, 2, 3]))
    with_self, _ = _model(window=3)
    assert not torch.allclose(alone, with_self.emissions(featurizer.collate(items, windows=[0, 1, 2, 3])))
    rome = model.encode(featurizer.collate(items[3:]))
    zeros = model.emit(torch.cat([rome, torch.zeros_like(rome)], dim=-1))
    assert torch.allclose(alone[3, :1], zeros[0], atol=1e-5), "a word alone in its window reads a zero memory"


def test_trained_model_round_trips_and_reads_each_text_as_one_document(tmp_path) -> None:
    config = load_config("en", overrides=[*TINY, "features.doc_memory=4", "train.epochs=3"])
    result = train(config, EN_TRAIN, tmp_path / "run", dev_path=EN_TRAIN, progress=False)
    model, featurizer, saved = checkpoint.load(result.checkpoint)
    assert featurizer.config.doc_memory == 4 and saved["features"]["doc_memory"] == 4
    tagger = Tagger(model, featurizer, saved)
    texts = ["Angela Merkel visited Paris. Merkel left.", "Merkel left."]
    out = tagger.predict(texts)
    assert_entity_offsets(texts, out)
    again = tagger.predict(texts[1:])[0]
    assert [(e.text, e.label, e.start) for e in again] == [(e.text, e.label, e.start) for e in out[1]]
    assert [e.score for e in again] == pytest.approx([e.score for e in out[1]], abs=1e-6), "texts share no memory"


def test_training_with_doc_memory_alone_keeps_it_in_the_checkpoint(tmp_path) -> None:
    overrides = [*TINY, "features.doc_memory=4", "model.doc_memory_alone=0.5", "train.epochs=2"]
    result = train(
        load_config("en", overrides=overrides), EN_TRAIN, tmp_path / "run", dev_path=EN_TRAIN, progress=False
    )
    assert checkpoint.load(result.checkpoint)[2]["model"]["doc_memory_alone"] == 0.5


def test_evaluate_sentences_alone_tags_each_sentence_as_its_own_document(tmp_path) -> None:
    from typer.testing import CliRunner

    from ner.cli import app

    # a model that always trained within its documents (doc_memory_alone=0), so that lone sentences are new to it
    overrides = [*TINY, "features.casing_dim=4", "features.doc_memory=32", "model.doc_memory_alone=0"]
    result = train(
        load_config("en", overrides=overrides), EN_TRAIN, tmp_path / "run", dev_path=EN_TRAIN, progress=False
    )
    model, featurizer, saved = checkpoint.load(result.checkpoint)
    hidden = model.emit.in_features // 2
    torch.manual_seed(0)
    with torch.no_grad():  # a memory that sways tags, so that reading it over a document or a sentence differs
        model.emit.weight[:, hidden:] += torch.randn(len(model.labels), hidden)
    perturbed = checkpoint.save(model, featurizer, tmp_path / "perturbed")
    each = tmp_path / "each.txt"  # every sentence its own -DOCSTART- document
    each.write_text("".join(f"{DOCSTART}\n\n" + format_conll(s.tokens, s.tags) for s in read_conll(EN_TRAIN).sentences))
    runner = CliRunner()

    def scores(path, *flags: str) -> dict:
        out = runner.invoke(app, ["evaluate", "--model", str(perturbed), "--data", str(path), "--json", *flags])
        assert out.exit_code == 0, out.output
        return json.loads(out.stdout)

    alone = scores(EN_TRAIN, "--sentences-alone")
    assert alone == scores(each) == scores(each, "--sentences-alone") == scores(EN_TRAIN, "--sentences-per-text", "1")
    assert alone["f1"] != scores(EN_TRAIN)["f1"], "within their documents, the sentences read each other's mentions"
    assert scores(EN_TRAIN, "--sentences-per-text", "1000") == scores(EN_TRAIN), "texts as long as the documents"
    both = runner.invoke(
        app,
        [
            "evaluate",
            "--model",
            str(perturbed),
            "--data",
            str(EN_TRAIN),
            "--sentences-alone",
            "--sentences-per-text",
            "2",
        ],
    )
    assert both.exit_code == 2 and "cannot go with" in both.output


def test_doc_memory_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="doc_memory"):
        load_config("en", overrides=["features.doc_memory=-1"])
    with pytest.raises(ValueError, match="doc_memory_attention"):
        load_config("en", overrides=["features.doc_memory_attention=-1"])


def test_an_attending_memory_trains_and_round_trips(tmp_path) -> None:
    overrides = [*TINY, "features.doc_memory=4", "features.doc_memory_attention=8", "train.epochs=2"]
    result = train(
        load_config("en", overrides=overrides), EN_TRAIN, tmp_path / "run", dev_path=EN_TRAIN, progress=False
    )
    model, featurizer, saved = checkpoint.load(result.checkpoint)
    assert model.memory is not None and model.memory.query is not None
    assert model.memory.query.weight.abs().sum() > 0, "training moved the queries off zero"
    assert saved["features"]["doc_memory_attention"] == 8
    texts = ["Angela Merkel visited Paris. Merkel left."]
    assert_entity_offsets(texts, Tagger(model, featurizer, saved).predict(texts))


def test_repeated_mentions_counts_misses_found_elsewhere_in_their_document(monkeypatch, tmp_path) -> None:
    from ner.types import Sentence

    script = load_script("repeated_mentions")
    gold = [
        Sentence(("Paris", "is", "big"), ("S-LOC", "O", "O"), doc_id=1),
        Sentence(("Paris", "again"), ("S-LOC", "O"), doc_id=1),  # missed, found in sentence 1
        Sentence(("Paris",), ("S-LOC",), doc_id=2),  # missed, and nowhere else in document 2
        Sentence(("Rome",), ("S-LOC",), doc_id=1),  # missed, and no other Rome
    ]
    predicted = [["S-LOC", "O", "O"], ["S-PER", "O"], ["O"], ["O"]]
    monkeypatch.setattr(script.checkpoint, "load", lambda _: (None, None, {}))
    monkeypatch.setattr(script, "predict_sequences", lambda *_: (gold, predicted))
    monkeypatch.setattr(script, "read_conll", lambda _: type("Corpus", (), {"sentences": gold}))
    counts = script.repeated_mentions("m", "d")
    assert (counts["gold"], counts["missed"], counts["found_elsewhere"]) == (4, 3, 1)


@pytest.mark.parametrize(("emit_hidden", "few"), [(0, 1), (6, 1), (0, 2), (0, 0)])
def test_with_alone_head_a_window_of_few_sentences_is_tagged_without_the_memory(emit_hidden: int, few: int) -> None:
    model, featurizer = _model(window=8, attention=8, emit_hidden=emit_hidden, alone_head=True)
    model.config = dataclasses.replace(model.config, alone_head_sentences=few)
    nn.init.normal_(model.memory.query.weight)  # type: ignore[union-attr]
    items = [featurizer.encode(s) for s in SENTENCES]
    docs = [0, 0, 1, 2]  # sentences 2 and 3 are alone in their documents
    with torch.no_grad():
        within = model.emissions(featurizer.collate(items, windows=docs))
        alone = model.alone_emissions(model.encode(featurizer.collate(items)))
        scored = list(_scored_batches(model, featurizer, SENTENCES, docs=docs, batch_size=3))
    assert not torch.allclose(within[3, :1], alone[3, :1], atol=1e-3), "the two sets of scores differ"
    for idx, _, emissions in scored:
        for row, i in enumerate(idx):
            n = len(SENTENCES[i])
            expected = alone if docs.count(docs[i]) <= few else within
            assert torch.allclose(emissions[row, :n], expected[i, :n], atol=1e-5), (i, few)
    assert tag_sentences(model, featurizer, SENTENCES[3:]) == tag_sentences(model, featurizer, SENTENCES, docs=docs)[3:]
    with pytest.raises(ValueError, match="alone_head_sentences"):
        load_config("en", overrides=["model.alone_head_sentences=-1"])


def test_an_added_alone_head_starts_as_the_model_tags_a_sentence_alone() -> None:
    from ner.alone_head import add_alone_head

    model, featurizer = _model(attention=8)
    nn.init.normal_(model.memory.query.weight)  # type: ignore[union-attr]
    assert model.emit_alone is None
    with pytest.raises(ValueError, match="alone_head"):
        model.alone_emissions(torch.zeros(1, 1, 64))
    add_alone_head(model)
    assert model.config.alone_head and model.emit_alone is not None
    batch = featurizer.collate([featurizer.encode(SENTENCES[0])])  # no word twice: each reads its own state
    with torch.no_grad():
        assert torch.allclose(model.alone_emissions(model.encode(batch)), model.emissions(batch), atol=1e-5)
    plain, _ = _model(window=0, alone_head=True)  # without a memory, alone_head does nothing
    assert plain.emit_alone is None
    with pytest.raises(ValueError, match="document memory"):
        add_alone_head(plain)


@pytest.fixture(scope="module")
def memory_run(tmp_path_factory):
    """A tiny trained model with a document memory and no alone head."""
    overrides = [*TINY, "features.doc_memory=8", "train.epochs=3", "model.alone_head=false"]
    out = tmp_path_factory.mktemp("memory-run") / "run"
    return train(load_config("en", overrides=overrides), EN_TRAIN, out, dev_path=EN_TRAIN, progress=False)


def test_fitting_the_alone_head_trains_it_alone_and_keeps_its_best_lone_dev_f1(memory_run) -> None:
    from ner.alone_head import fit_alone_head
    from ner.evaluate import as_texts, evaluate_sentences

    model, featurizer, _ = checkpoint.load(memory_run.checkpoint)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    sentences = read_conll(EN_TRAIN).sentences
    labels = {label: i for i, label in enumerate(model.labels)}
    examples = [(featurizer.encode(s.tokens), [labels[t] for t in s.tags]) for s in sentences]
    fit = fit_alone_head(model, featurizer, examples, sentences, epochs=3, lr=0.05, batch_size=4, seed=1)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), "everything the model had stays as trained"
    assert [e["epoch"] for e in fit.epochs] == [0, 1, 2, 3]
    assert fit.dev_f1_alone == max(e["dev_f1_alone"] for e in fit.epochs) == fit.epochs[fit.best_epoch]["dev_f1_alone"]
    assert evaluate_sentences(model, featurizer, as_texts(sentences, 1))["f1"] == fit.dev_f1_alone, "the kept weights"
    assert all(p.requires_grad for p in model.parameters()) and not model.training


def test_ner_train_fits_the_alone_head_after_training(tmp_path) -> None:
    overrides = [*TINY, "features.doc_memory=4", "model.alone_head=true", "train.epochs=2"]
    overrides += ["train.alone_head_epochs=2"]
    result = train(
        load_config("en", overrides=overrides), EN_TRAIN, tmp_path / "run", dev_path=EN_TRAIN, progress=False
    )
    model, featurizer, saved = checkpoint.load(result.checkpoint)
    assert saved["model"]["alone_head"] is True and model.emit_alone is not None
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    best = max(records, key=lambda r: r["dev_f1"])
    assert saved["metrics"]["dev_before_alone_head"]["f1"] == best["dev_f1"], "training itself read the memory"
    assert saved["metrics"]["dev"] == result.dev and len(saved["metrics"]["alone_head"]["epochs"]) == 3
    texts = ["Angela Merkel visited Paris. Merkel left.", "Merkel left."]
    assert_entity_offsets(texts, Tagger(model, featurizer, saved).predict(texts))
    plain = train(
        load_config("en", overrides=[*overrides, "features.doc_memory=0"]),
        EN_TRAIN,
        tmp_path / "plain",
        dev_path=EN_TRAIN,
        progress=False,
    )
    model, _, saved = checkpoint.load(plain.checkpoint)
    assert model.emit_alone is None and "alone_head" not in saved["metrics"], "no memory: nothing to fit"


def test_fit_alone_head_script_writes_a_new_checkpoint(memory_run, tmp_path, capsys) -> None:
    script = load_script("fit_alone_head")
    args = ["--model", str(memory_run.checkpoint), "--train", str(EN_TRAIN), "--dev", str(EN_TRAIN)]
    out = tmp_path / "with-head"
    assert script.main([*args, "--out", str(out), "--epochs", "1", "--alone-head-sentences", "2"]) == 0
    summary = json.loads(capsys.readouterr().out)
    model, _, saved = checkpoint.load(out)
    assert model.emit_alone is not None and saved["model"]["alone_head_sentences"] == 2
    assert (
        saved["metrics"]["dev"]["f1"] == summary["dev_f1"]
        and saved["command"] == json.loads((memory_run.checkpoint / "config.json").read_text())["command"]
    ), "the original training record is kept"
    with pytest.raises(SystemExit):
        script.main([*args, "--out", str(out)])  # an existing directory is never replaced


def test_as_texts_cuts_each_document_into_runs_of_n_sentences() -> None:
    from ner.evaluate import as_texts
    from ner.types import Sentence

    sentences = [Sentence(("a",), ("O",), doc, 1) for doc in [0, 0, 0, 0, 0, 1, 1, 2]]
    assert [s.doc_id for s in as_texts(sentences, 2)] == [0, 0, 1, 1, 2, 3, 3, 4]
    assert [s.doc_id for s in as_texts(sentences, 1)] == list(range(8))
    assert [s.doc_id for s in as_texts(sentences, 32)] == [0, 0, 0, 0, 0, 1, 1, 2]
    assert as_texts(sentences, 3)[0].tokens == ("a",)
    with pytest.raises(ValueError, match="at least one"):
        as_texts(sentences, 0)


def test_texts_sweep_scores_each_text_size_and_alone_head_setting(tmp_path, capsys) -> None:
    from ner.evaluate import as_texts, evaluate_sentences

    overrides = [*TINY, "features.doc_memory=8", "model.alone_head=true", "train.epochs=2"]
    result = train(
        load_config("en", overrides=overrides), EN_TRAIN, tmp_path / "run", dev_path=EN_TRAIN, progress=False
    )
    sweep = load_script("texts_sweep")
    args = ["--data", str(EN_TRAIN), "--model", str(result.checkpoint), "--texts", "0", "1", "2"]
    assert sweep.main([*args, "--alone-head-sentences", "0", "1", "2", "1000"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    f1 = {r["alone_head_sentences"]: {int(n): v for n, v in r["f1"].items()} for r in rows}
    model, featurizer, _ = checkpoint.load(result.checkpoint)
    sentences = read_conll(EN_TRAIN).sentences
    assert model.config.alone_head_sentences == 2, "the default"
    assert f1[2][0] == evaluate_sentences(model, featurizer, sentences)["f1"], "the model's own setting"
    assert f1[1][1] == f1[1000][1] == f1[1000][0] == f1[1000][2], "every text tagged without the memory"
    model.config = dataclasses.replace(model.config, alone_head_sentences=0)
    assert f1[0][2] == evaluate_sentences(model, featurizer, as_texts(sentences, 2))["f1"]


def test_segment_keys_join_a_chinese_characters_occurrences_by_its_jieba_word() -> None:
    from ner.lexicon import segment_keys

    assert segment_keys(["中国", "致公党", "的"]) == ["中国/0", "中国/1", "致公党/0", "致公党/1", "致公党/2", "的/0"]
    overrides = ["features.doc_memory=8", "features.doc_memory_key=segment", "features.softword_dim=4"]
    config = load_config("zh", overrides=overrides)
    text = "致公党中央在北京开会"
    featurizer = Featurizer.build(config.features, [list(text)])
    encoded = featurizer.encode(list(text))
    words = featurizer._jieba.cut(text)  # type: ignore[union-attr]
    assert encoded.keys == segment_keys(words) and len(set(encoded.keys)) == len(text)
    assert encoded.softword == featurizer._jieba.softword(text)  # type: ignore[union-attr]
    plain = Featurizer.build(load_config("zh", overrides=["features.doc_memory=8"]).features, [list(text)])
    assert plain.encode(list(text)).keys == list(text), "by default a Chinese token's key is its character"
    with pytest.raises(ValueError, match="doc_memory_key"):
        load_config("en", overrides=["features.doc_memory_key=segment"])


def test_a_chinese_memory_over_segments_trains_and_round_trips(tmp_path) -> None:
    from .conftest import ZH_TRAIN

    overrides = [*TINY, "features.doc_memory=8", "features.doc_memory_key=segment", "features.bigram_min_count=1"]
    overrides += ["features.doc_memory_attention=8", "train.epochs=2"]
    config = load_config("zh", overrides=overrides)
    result = train(config, ZH_TRAIN, tmp_path / "run", dev_path=ZH_TRAIN, progress=False)
    model, featurizer, saved = checkpoint.load(result.checkpoint)
    assert saved["features"]["doc_memory_key"] == "segment" and featurizer._segment_keys
    texts = ["新华社北京电，致公党中央今天开会。致公党主席讲话。"]
    assert_entity_offsets(texts, Tagger(model, featurizer, saved).predict(texts))


def test_the_script_fits_what_ner_train_fits(memory_run, tmp_path, capsys) -> None:
    """A run with model.alone_head trains as one without it, then fits the head as the script does."""
    overrides = [*TINY, "features.doc_memory=8", "train.epochs=3", "model.alone_head=true", "train.alone_head_epochs=2"]
    with_head = train(load_config("en", overrides=overrides), EN_TRAIN, tmp_path / "run", dev_path=EN_TRAIN)
    script = load_script("fit_alone_head")
    args = ["--model", str(memory_run.checkpoint), "--train", str(EN_TRAIN), "--dev", str(EN_TRAIN), "--epochs", "2"]
    assert script.main([*args, "--out", str(tmp_path / "fitted")]) == 0
    trained, fitted = checkpoint.load(with_head.checkpoint)[0], checkpoint.load(tmp_path / "fitted")[0]
    for name, weight in trained.state_dict().items():
        assert torch.equal(weight, fitted.state_dict()[name]), name
