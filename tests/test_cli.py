"""The ``ner`` command line end to end: train, evaluate, predict, and user errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from ner.cli import app
from ner.train import TrainResult

from .conftest import EN_TRAIN, FIXTURES, TINY, ZH_TRAIN

runner = CliRunner()


def _run(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


def test_evaluate_json_has_the_documented_shape(tiny_en: TrainResult) -> None:
    result = _run("evaluate", "--model", str(tiny_en.checkpoint), "--data", str(EN_TRAIN), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"precision", "recall", "f1", "per_type", "sentences", "tokens"}
    assert data["f1"] == 1.0 and data["sentences"] == 20
    assert set(data["per_type"]) == {"LOC", "MISC", "ORG", "PER"}
    for scores in data["per_type"].values():
        assert set(scores) == {"precision", "recall", "f1", "support"}
        assert all(0.0 <= scores[k] <= 1.0 for k in ("precision", "recall", "f1"))


def test_evaluate_reads_other_schemes_and_prints_a_table(tiny_zh: TrainResult, tmp_path) -> None:
    # The same gold data rewritten in BIO must score the same as the BMES original.
    from ner.conll import format_conll, read_conll
    from ner.tags import bioes_to

    bio = tmp_path / "zh_bio.txt"
    bio.write_text("".join(format_conll(s.tokens, bioes_to(s.tags, "bio")) for s in read_conll(ZH_TRAIN).sentences))
    scores = [
        json.loads(_run("evaluate", "--model", str(tiny_zh.checkpoint), "--data", str(p), "--json").stdout)["f1"]
        for p in (ZH_TRAIN, bio)
    ]
    assert scores == [1.0, 1.0]
    table = _run("evaluate", "--model", str(tiny_zh.checkpoint), "--data", str(bio))
    assert table.exit_code == 0 and "overall" in table.stdout and "PER" in table.stdout


def test_predict_arguments_and_stdin(tiny_en: TrainResult) -> None:
    text = "Angela Merkel visited Paris on Monday."
    by_arg = _run("predict", "--model", str(tiny_en.checkpoint), text)
    by_stdin = _run("predict", "--model", str(tiny_en.checkpoint), input=f"{text}\n\nApple\n")
    assert by_arg.exit_code == 0 and by_stdin.exit_code == 0
    records = [json.loads(line) for line in by_stdin.stdout.splitlines()]
    assert [r["text"] for r in records] == [text, "", "Apple"]
    # The same text, alone or batched with others: the same entities. The scores agree to rounding only,
    # since the BLAS kernels a batch gets depend on its shape (CI's CPUs differ in the 14th digit).
    alone = json.loads(by_arg.stdout)
    assert _without_scores(alone) == _without_scores(records[0])
    scores = [[e["score"] for e in r["entities"]] for r in (alone, records[0])]
    assert scores[0] == pytest.approx(scores[1], abs=1e-6)
    for e in records[0]["entities"]:
        assert text[e["start"] : e["end"]] == e["text"]
    assert [e["label"] for e in records[0]["entities"]] == ["PER", "LOC"]


def _without_scores(record: dict) -> dict:
    return {**record, "entities": [{k: v for k, v in e.items() if k != "score"} for e in record["entities"]]}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["evaluate", "--model", "no/such/model", "--data", str(EN_TRAIN)], "no checkpoint at no/such/model"),
        (["predict", "--model", "no-such-name", "x"], "no checkpoint at no-such-name"),
        (["train", "--train", str(FIXTURES / "bad_prefix.txt"), "--out", "{tmp}"], "bad_prefix.txt:4:"),
        (["train", "--train", str(EN_TRAIN), "--out", "{tmp}", "--set", "model.nope=1"], "model.nope=1"),
        (["train", "--train", str(EN_TRAIN), "--out", "{tmp}", "--set", "train.epochs=x"], "train.epochs=x"),
        (["train", "--train", str(EN_TRAIN), "--out", "{tmp}", "--lang", "fr"], "--lang must be en or zh"),
        (["train", "--train", "missing.txt", "--out", "{tmp}"], "missing.txt"),
        (["evaluate", "--model", "x", "--data", str(EN_TRAIN), "--scheme", "xyz"], "--scheme must be one of"),
    ],
)
def test_user_errors_are_one_line_without_traceback(args: list[str], needle: str, tmp_path) -> None:
    result = _run(*[a.replace("{tmp}", str(tmp_path / "out")) for a in args])
    assert result.exit_code == 2
    assert needle in result.stderr and "Traceback" not in result.output + result.stderr
    assert result.stderr.startswith("error: ")


def test_train_command_in_a_real_process(tmp_path) -> None:
    """The installed console script trains with a config file plus overrides, then predicts."""
    config = tmp_path / "tiny.toml"
    config.write_text("[model]\nhidden_size = 16\n[train]\nepochs = 2\n")
    sets = [x for o in TINY if not o.startswith(("model.hidden_size", "train.epochs")) for x in ("--set", o)]
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "ner.cli",
        "train",
        "--train",
        str(EN_TRAIN),
        "--dev",
        str(EN_TRAIN),
        "--out",
        str(out),
        "--config",
        str(config),
        *sets,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["epochs_run"] == 2
    saved = json.loads((out / "model" / "config.json").read_text())
    assert saved["model"]["hidden_size"] == 16 and saved["train"]["epochs"] == 2
    assert saved["data"]["train"]["sha256"] and saved["labels"][0] == "O"
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2
    assert "2/2" in done.stderr and "dev F1" in done.stderr  # the per-epoch table
    predicted = subprocess.run(
        [sys.executable, "-m", "ner.cli", "predict", "--model", str(out), "Paris"], capture_output=True, text=True
    )
    assert predicted.returncode == 0 and json.loads(predicted.stdout)["text"] == "Paris"


def test_train_refuses_to_replace_an_existing_checkpoint(tiny_en: TrainResult) -> None:
    out = tiny_en.checkpoint.parent
    before = (tiny_en.checkpoint / "model.safetensors").read_bytes()
    result = _run("train", "--train", str(EN_TRAIN), "--out", str(out))
    assert result.exit_code == 2 and "already holds a checkpoint" in result.stderr
    assert (tiny_en.checkpoint / "model.safetensors").read_bytes() == before
