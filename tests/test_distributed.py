"""Data-parallel training: the rank helpers, and two ``torchrun`` processes training one epoch."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import safetensors.torch
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ner.config import load_config
from ner.conll import read_conll
from ner.distributed import World, world_from_env
from ner.features import Featurizer
from ner.model import BiLstmCrf
from ner.pipeline import load
from ner.progress import TABLE_HEADER
from ner.tags import bioes_labels

from .conftest import EN_TRAIN, TINY

SHARDS = ([0, 1, 2, 3], [4, 5, 6, 7])  # rank r's batch: sentences SHARDS[r] of the fixture


def _model_and_batches(seed: int) -> tuple[BiLstmCrf, list]:
    """The tiny English model (same seed, same weights) and one batch per rank of ``SHARDS``."""
    config = load_config("en", overrides=[*TINY, "features.doc_memory=0"])  # batches of lone sentences: no memory
    sentences = read_conll(EN_TRAIN).sentences
    featurizer = Featurizer.build(config.features, [s.tokens for s in sentences])
    labels = bioes_labels(sorted({t[2:] for s in sentences for t in s.tags if t != "O"}))
    ids = {label: i for i, label in enumerate(labels)}
    torch.manual_seed(seed)
    model = BiLstmCrf.for_featurizer(featurizer, config.model, labels)
    encoded = [featurizer.encode(s.tokens) for s in sentences]
    tags = [[ids[t] for t in s.tags] for s in sentences]
    batches = [featurizer.collate([encoded[i] for i in idx], [tags[i] for i in idx]) for idx in SHARDS]
    return model, batches


def _one_ddp_step(rank: int, init_method: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=init_method, rank=rank, world_size=2)
    try:
        torch.set_num_threads(1)
        model, batches = _model_and_batches(seed=rank)  # different seeds: DDP must broadcast rank 0's weights
        net = World(rank, 2).wrap(model, seed=7)  # kept: the DDP object owns the gradient hooks
        net.loss(batches[rank]).backward()
        grads = {name: p.grad for name, p in model.named_parameters() if p.grad is not None}
        weights = {f"weight.{name}": p.detach() for name, p in model.named_parameters()}
        safetensors.torch.save_file({**grads, **weights}, f"{out}/rank{rank}.safetensors")
        dist.barrier()  # both ranks done before teardown: gloo has aborted a rank torn down while its peer still ran
    finally:
        dist.destroy_process_group()


def test_ddp_step_gives_every_rank_the_gradient_of_the_global_batch(tmp_path: Path) -> None:
    """Rank r's loss on its own batch, through the wrapper, leaves on every rank the gradient of the
    mean loss over both batches, on rank 0's initial weights (the global batch is 2 x batch_size)."""
    mp.spawn(_one_ddp_step, args=(f"file://{tmp_path}/rendezvous", str(tmp_path)), nprocs=2, join=True)
    ranks = [safetensors.torch.load_file(tmp_path / f"rank{r}.safetensors") for r in (0, 1)]
    model, batches = _model_and_batches(seed=0)
    ((model.loss(batches[0]) + model.loss(batches[1])) / 2).backward()
    expected = {name: p.grad for name, p in model.named_parameters() if p.grad is not None}
    assert set(ranks[0]) == set(ranks[1]) and len(expected) == len(list(model.parameters()))
    for name, grad in expected.items():
        for r in (0, 1):
            torch.testing.assert_close(ranks[r][name], grad, rtol=1e-4, atol=1e-6, msg=f"rank {r}: {name}")
    for name, p in model.named_parameters():
        assert torch.equal(ranks[1][f"weight.{name}"], p.detach())  # rank 1 now holds rank 0's weights


@pytest.mark.parametrize("n_batches", [0, 1, 5, 8, 13])
@pytest.mark.parametrize("size", [1, 2, 3])
def test_shards_are_disjoint_equal_and_cover_all_but_the_remainder(n_batches: int, size: int) -> None:
    batches = [[i] for i in range(n_batches)]
    shards = [World(rank, size).shard(batches) for rank in range(size)]
    assert len({len(s) for s in shards}) == 1  # the same number of steps on every rank
    taken = [b[0] for s in shards for b in s]
    assert len(taken) == len(set(taken)) == n_batches - n_batches % size
    assert set(taken) == set(range(len(taken)))  # only the last, incomplete round is dropped
    if size == 1:
        assert shards[0] == batches


def test_world_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("RANK", raising=False)
    assert world_from_env() == World(0, 1) and world_from_env().is_main
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert world_from_env() == World(1, 2) and not world_from_env().is_main
    monkeypatch.setenv("RANK", "2")
    with pytest.raises(ValueError, match="RANK=2"):
        world_from_env()


def test_retrain_refuses_to_run_under_torchrun(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from ner.cli import app

    monkeypatch.setenv("WORLD_SIZE", "2")
    args = ["retrain", "--name", "en", "--train", str(EN_TRAIN), "--dev", str(EN_TRAIN), "--min-f1", "0.5"]
    result = CliRunner().invoke(app, [*args, "--model-dir", str(tmp_path / "store")])
    assert result.exit_code == 2 and "retrain does not run under torchrun" in result.output
    assert not (tmp_path / "store").exists()


def test_two_processes_train_one_epoch_and_rank_0_alone_writes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    overrides = [a for o in [*TINY, "train.epochs=1"] for a in ("--set", o)]
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "ner.cli", "train", "--train", str(EN_TRAIN), "--dev", str(EN_TRAIN), "--out", str(out), *overrides,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    reports = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(reports) == 1 and reports[0]["epochs_run"] == 1  # only rank 0 reports
    assert done.stderr.count(TABLE_HEADER) == 1  # only rank 0 logs its per-epoch table
    assert len(re.findall(r"(?<![\d/])1/1(?![\d/])", done.stderr)) == 1  # one table row: epoch 1 of 1
    names = {p.name for p in out.iterdir()}
    assert {"metrics.jsonl", "model"} <= names <= {"metrics.jsonl", "model", "learning_curve.png", "per_type.png"}
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in metrics] == [1]  # written once, not once per rank
    config = json.loads((out / "model" / "config.json").read_text())
    assert config["distributed"] == {"world_size": 2, "global_batch_size": 8}
    tagger = load(out / "model")
    text = "Angela Merkel visited Paris on Monday."
    [entities] = tagger.predict([text])
    assert all(text[e.start : e.end] == e.text for e in entities)
