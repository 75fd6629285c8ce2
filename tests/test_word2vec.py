"""features.pretrained = "train-text": word2vec on the training text, and how vectors enter embeddings."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from ner import checkpoint
from ner.config import load_config
from ner.conll import read_conll
from ner.features import bigram_keys
from ner.train import _init_embeddings, train
from ner.word2vec import train_text_vectors
from tests.conftest import TINY, ZH_TRAIN

SENTENCES = [list("北京欢迎你"), list("上海欢迎你"), list("北京是首都"), list("你好北京")] * 5

_PROBE = (
    "from ner.word2vec import train_text_vectors\n"
    "v = train_text_vectors([list('北京欢迎你'), list('上海欢迎你'), list('北京是首都')] * 5, 8, 3)\n"
    "print(' '.join(f'{x:.6f}' for x in v['京']))\n"
)


def test_vectors_cover_every_item_and_repeat_for_a_seed() -> None:
    first = train_text_vectors(SENTENCES, 12, seed=3)
    assert set(first) == {c for s in SENTENCES for c in s}
    assert all(v.shape == (12,) and v.dtype == np.float32 for v in first.values())
    again = train_text_vectors(SENTENCES, 12, seed=3)
    assert all(np.array_equal(first[k], again[k]) for k in first)
    other = train_text_vectors(SENTENCES, 12, seed=4)
    assert not np.array_equal(first["京"], other["京"])
    assert train_text_vectors([[]], 12, seed=3) == {}


def test_vectors_do_not_depend_on_the_process_hash_seed() -> None:
    outputs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        proc = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, check=True)
        outputs.add(proc.stdout)
    assert len(outputs) == 1


def test_init_embeddings_copies_rescales_and_leaves_padding_zero() -> None:
    torch.manual_seed(0)
    embedding = torch.nn.Embedding(5, 4, padding_idx=0)
    items = ["<pad>", "<unk>", "a", "b", "c"]
    table = {"<pad>": np.full(4, 9.0, np.float32), "a": np.array([10, -10, 20, 0], np.float32)}
    table["b"] = -table["a"]
    bound = math.sqrt(3.0 / 4)
    assert _init_embeddings(embedding, items, table, rescale=False) == 2
    w = embedding.weight.detach()
    assert torch.equal(w[0], torch.zeros(4)), "padding row stays zero even if the table has it"
    assert torch.equal(w[2], torch.tensor([10.0, -10.0, 20.0, 0.0])) and torch.equal(w[3], -w[2])
    assert w[[1, 4]].abs().max() <= bound, "rows without a vector keep the uniform init"

    assert _init_embeddings(embedding, items, table, rescale=True) == 2
    w = embedding.weight.detach()
    pretrained = w[[2, 3]]
    assert math.isclose(pretrained.std().item(), bound / math.sqrt(3.0), rel_tol=1e-5), "init's spread"
    assert torch.allclose(pretrained[0] / pretrained[0].norm(), torch.tensor([10.0, -10, 20, 0]) / math.sqrt(600))


def test_training_starts_from_train_text_vectors(tmp_path: Path) -> None:
    # A learning rate too small to move the weights: the checkpoint shows its initialisation.
    sets = ["features.bigram_dim=8", "features.bigram_min_count=1", "features.pretrained=train-text"]
    config = load_config("zh", overrides=[*TINY, *sets, "train.epochs=1", "train.lr=1e-9"])
    result = train(config, ZH_TRAIN, tmp_path / "run", dev_path=ZH_TRAIN, progress=False)
    model, featurizer, saved = checkpoint.load(result.checkpoint)
    assert saved["features"]["pretrained"] == "train-text"
    assert featurizer.bigrams is not None and model.bigram_embed is not None

    tokens = [s.tokens for s in read_conll(ZH_TRAIN).sentences]
    seed = config.train.seed
    for items, embedding, vectors in (
        (featurizer.words.items, model.word_embed, train_text_vectors(tokens, 16, seed)),
        (featurizer.bigrams.items, model.bigram_embed, train_text_vectors([bigram_keys(s) for s in tokens], 8, seed)),
    ):
        key = items[2]  # the most frequent item
        cosine = torch.nn.functional.cosine_similarity(
            embedding.weight[2].detach(), torch.from_numpy(vectors[key]), dim=0
        )
        assert cosine > 0.999, key
