"""Model cards: generated from config.json alone, with the sections a model card needs, and the
shipped cards in sync with their configs."""

from __future__ import annotations

import json

import pytest

from ner.card import model_card
from ner.checkpoint import SHIPPED
from ner.train import TrainResult


@pytest.mark.parametrize("name", ["en", "zh"])
def test_shipped_cards_are_generated_from_their_config(name: str) -> None:
    config = json.loads((SHIPPED / name / "config.json").read_text(encoding="utf-8"))
    card = (SHIPPED / name / "README.md").read_text(encoding="utf-8")
    assert card == model_card(config, name), "regenerate with: python scripts/write_cards.py ner/models/*"
    for section in ("## Intended use", "## Data", "## Scores on the dev set", "## Limitations", "## Trained with"):
        assert section in card
    assert f"**{config['metrics']['dev']['f1']:.4f}**" in card


def test_card_of_a_fresh_run_says_what_it_lacks(tiny_en: TrainResult) -> None:
    config = json.loads((tiny_en.checkpoint / "config.json").read_text(encoding="utf-8"))
    card = model_card(config, "tiny")
    assert "No held-out score is recorded" in card
    assert "ner predict --model tiny" in card
    assert f"`{config['data']['train']['path']}` (20 sentences" in card
    held_out = {**config, "metrics": {**config["metrics"], "held_out": {"test.txt": config["metrics"]["dev"]}}}
    with_held_out = model_card(held_out, "tiny")
    assert "## Scores on held-out data: test.txt" in with_held_out and "No held-out score" not in with_held_out


def test_card_names_the_language_model_only_when_training_used_one(tiny_en: TrainResult) -> None:
    config = json.loads((tiny_en.checkpoint / "config.json").read_text(encoding="utf-8"))
    assert config["train"]["lm_weight"] == 0.1, "the English default"
    assert "neighbour-word language model beside the CRF (weight 0.1, 5000 words" in model_card(config, "tiny")
    without = {**config, "train": {**config["train"], "lm_weight": 0.0}}
    assert "language model" not in model_card(without, "tiny")


def test_card_names_the_document_memory_only_when_the_model_has_one(tiny_en: TrainResult) -> None:
    config = json.loads((tiny_en.checkpoint / "config.json").read_text(encoding="utf-8"))
    assert config["features"]["doc_memory_attention"] == 64, "the English default"
    without = {**config, "features": {**config["features"], "doc_memory": 0, "doc_memory_attention": 0}}
    assert "document memory" not in model_card(without, "tiny")
    assert config["model"]["doc_memory_alone"] == 0.3 and config["model"]["alone_head"], "the English defaults"
    assert "a second set of tag scores that reads no memory" in model_card(config, "tiny")
    plain = {**config["model"], "doc_memory_alone": 0.0, "alone_head": False}
    with_memory = {
        **config,
        "features": {**config["features"], "doc_memory": 32, "doc_memory_attention": 0},
        "model": plain,
    }
    assert "document memory: each token's tag scores also read" in model_card(with_memory, "tiny")
    assert "up to 32 neighbouring sentences" in model_card(with_memory, "tiny")
    others = {**config, "features": {**config["features"], "doc_memory": 32, "doc_memory_self": False}}
    assert "its word's other occurrences" in model_card(others, "tiny")
    assert "other occurrences" not in model_card(with_memory, "tiny")
    attending = {**config, "features": {**config["features"], "doc_memory": 32, "doc_memory_attention": 64}}
    assert "attention-weighted mean BiLSTM state" in model_card(attending, "tiny")
    assert "with 64d queries and keys" in model_card(attending, "tiny")
    assert "attention" not in model_card(with_memory, "tiny")
    assert "sentence alone" not in model_card(with_memory, "tiny")
    alone = {**with_memory, "model": {**plain, "doc_memory_alone": 0.3}}
    assert "in training, 30% of the sentences (drawn each epoch) read a memory of their own sentence alone" in (
        model_card(alone, "tiny")
    )
    assert "second set of tag scores" not in model_card(alone, "tiny")
    head = {**with_memory, "model": {**plain, "alone_head": True, "alone_head_sentences": 1}}
    assert "a text of one sentence is tagged by a second set of tag scores that reads no memory, fitted after" in (
        model_card(head, "tiny")
    )
    assert "jieba segments" not in model_card(with_memory, "tiny")
    segmented = {**with_memory, "features": {**with_memory["features"], "doc_memory_key": "segment"}}
    assert "occurrences (the word jieba segments it into, and its place there) in up to 32" in (
        model_card(segmented, "tiny")
    )
    three = {**with_memory, "model": {**plain, "alone_head": True, "alone_head_sentences": 3}}
    assert "texts of up to 3 sentences are tagged by a second set" in model_card(three, "tiny")


def test_card_gives_a_shipped_gazetteers_sources_and_licences(tiny_en: TrainResult) -> None:
    config = json.loads((tiny_en.checkpoint / "config.json").read_text(encoding="utf-8"))
    assert "gazetteer" not in model_card(config, "tiny")
    shipped = model_card({**config, "features": {**config["features"], "gazetteer": "en"}}, "tiny")
    assert "gazetteer `en`: Places: GeoNames (geonames.org, CC BY 4.0)" in shipped and "public domain" in shipped
    chinese = model_card({**config, "features": {**config["features"], "gazetteer": "zh"}}, "tiny")
    assert "LGPL-2.1" in chinese
    own = model_card({**config, "features": {**config["features"], "gazetteer": "lists/drugs.tsv"}}, "tiny")
    assert "gazetteer `lists/drugs.tsv`" in own and "licence" not in own and "CC BY" not in own


def test_card_names_the_emission_layer_only_when_the_model_has_one(tiny_en: TrainResult) -> None:
    config = json.loads((tiny_en.checkpoint / "config.json").read_text(encoding="utf-8"))
    assert "tanh layer" not in model_card(config, "tiny")
    with_layer = {**config, "model": {**config["model"], "emit_hidden": 100}}
    assert "a tanh layer of 100 between the BiLSTM and the tag scores" in model_card(with_layer, "tiny")


def test_card_names_weight_averaging_and_half_precision_tables_only_when_used(tiny_en: TrainResult) -> None:
    config = json.loads((tiny_en.checkpoint / "config.json").read_text(encoding="utf-8"))
    card = model_card(config, "tiny")
    assert "moving average" not in card and "mean of the weights" not in card and "float16" not in card
    ema = {**config, "train": {**config["train"], "ema_decay": 0.999}}
    assert "an exponential moving average of the training weights (decay 0.999)" in model_card(ema, "tiny")
    averaged = {**config, "train": {**config["train"], "average_epochs": 5}}
    assert "the mean of the weights at the ends of the last 5 epochs" in model_card(averaged, "tiny")
    half = {**config, "model": {**config["model"], "embedding_storage": "float16"}}
    assert "embedding tables are stored in float16" in model_card(half, "tiny")
    assert "mention replacement" not in card
    replaced = {**config, "train": {**config["train"], "mention_replace": 0.3}}
    assert "each epoch, 30% of the training mentions replaced" in model_card(replaced, "tiny")
    assert "jieba's dictionary" not in model_card(replaced, "tiny")
    dictionary = {**config, "train": {**config["train"], "mention_replace": 0.3, "mention_dictionary": 0.5}}
    assert "50% of those where the type has any by names of its kind from jieba's dictionary" in model_card(
        dictionary, "tiny"
    )


def test_card_names_teachers_and_unlabelled_text_only_when_distilled(tiny_en: TrainResult) -> None:
    config = json.loads((tiny_en.checkpoint / "config.json").read_text(encoding="utf-8"))
    assert "distilled" not in model_card(config, "tiny")
    taught = {**config, "train": {**config["train"], "teachers": "zh, runs/b/model", "teacher_weight": 0.5}}
    card = model_card(taught, "tiny")
    assert "2 trained model(s) (named as when this one was trained: `zh`, `runs/b/model`; weight 0.5)" in card
    assert "unlabelled" not in card
    text = {"path": "runs/text.txt", "sha256": "ab" * 32, "sentences": 1200}
    with_text = model_card({**taught, "data": {**taught["data"], "unlabelled": text}}, "tiny")
    assert "- unlabelled: `runs/text.txt` (1,200 sentences" in with_text
    assert "and on that distribution alone over the unlabelled text above" in with_text


def test_card_gives_the_lone_sentence_dev_f1_of_a_fitted_alone_head(tiny_en: TrainResult) -> None:
    config = json.loads((tiny_en.checkpoint / "config.json").read_text(encoding="utf-8"))
    assert config["metrics"]["alone_head"]["epochs"], "the English defaults fit one"
    unfitted = {**config, "metrics": {k: v for k, v in config["metrics"].items() if k != "alone_head"}}
    assert "as one-sentence requests are" not in model_card(unfitted, "tiny")
    fit = {"best_epoch": 5, "dev_f1_alone": 0.9431, "epochs": [{"epoch": 0, "dev_f1_alone": 0.9363}]}
    fitted = {**config, "metrics": {**config["metrics"], "alone_head": fit}}
    card = model_card(fitted, "tiny")
    assert "as one-sentence requests are: 0.9431, through the tag scores without the memory (epoch 5 of their" in card
