"""Smoke test of the performance harness (bench/): every section runs on tiny inputs and reports figures.

Not a timed test: it checks the harness works and its figures are sane, not how fast anything is.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, TINY

ROOT = Path(__file__).resolve().parent.parent
TINY_INPUTS = ["--en", str(FIXTURES / "en_train.txt"), "--zh", str(FIXTURES / "zh_train.txt"), "--limit", "12"]


def _bench(tmp_path: Path, *args: str) -> tuple[str, dict]:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", *TINY_INPUTS, "--passes", "1", "--out", str(out), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, json.loads(out.read_text())


def test_inprocess_and_ceiling_sections(tmp_path: Path) -> None:
    stdout, report = _bench(tmp_path, "--sections", "inprocess,ceiling", "--batches", "1,4")
    assert "| ours/spaCy |" in stdout and "FLOPs per token: total" in stdout
    speeds = report["inprocess"]
    assert {(s["system"], s["batch"]) for s in speeds} >= {("ours", 1), ("ours", 4), ("spaCy", 1), ("spaCy", 4)}
    assert {s["corpus"] for s in speeds if s["system"] == "ours"} == {"en_train.txt", "zh_train.txt"}
    assert all(s["tokens_per_s"] > s["sentences_per_s"] > 0 for s in speeds)
    ceiling = report["ceiling"]
    # The shipped en model: a 1-layer BiLSTM of 200 per direction dominates, about 1 MFLOP per token.
    assert 0.5e6 < ceiling["flops_per_token"]["word_lstm"] < 2e6
    assert ceiling["matmul_flops_1024"] > 1e8 and ceiling["model_only_tokens_per_s_256"] > 0


def test_training_section(tmp_path: Path) -> None:
    sets = [arg for item in TINY for arg in ("--train-set", item)]
    args = ["--sections", "training", "--train", str(FIXTURES / "en_train.txt"), "--train-config", "configs/en.toml"]
    stdout, report = _bench(tmp_path, *args, *sets, "--train-epochs", "2")
    measured = report["training"]["measured"]
    assert measured["epochs"] == 2 and measured["seconds_per_epoch"] > 0 and measured["sentences_per_s"] > 0
    assert report["training"]["shipped"]["best_epoch"] > 0
    assert "seconds per epoch" in stdout


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk; .ci/run does)")
def test_rest_section(tmp_path: Path) -> None:
    args = ["--sections", "rest", "--connections", "2", "--batch-connections", "1", "--seconds", "1"]
    stdout, report = _bench(tmp_path, *args)
    results = report["rest"]
    assert {(r["service"], r["texts_per_request"]) for r in results} == {
        ("ours", 1),
        ("ours", 32),
        ("spaCy reference", 1),
        ("spaCy reference", 32),
    }
    for r in results:
        assert r["errors"] == 0 and r["requests"] > 0 and r["p99_ms"] >= r["p50_ms"] > 0


def test_model_comparison(tmp_path: Path) -> None:
    """bench.models: two checkpoints on the same sentences and documents; a model against itself is ~1×."""
    out = tmp_path / "models.json"
    command = [sys.executable, "-m", "bench.models", "--reference", "en", "--candidate", "en", "--batches", "1,4"]
    command += ["--data", str(FIXTURES / "en_train.txt"), "--passes", "1", "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| texts | batch | reference tokens/s | candidate tokens/s | candidate slowdown |" in done.stdout
    rows = json.loads(out.read_text())["rows"]
    assert [(r["texts"], r["batch"]) for r in rows] == [
        ("en_train.txt", 1),
        ("en_train.txt", 4),
        ("en_train.txt (documents)", 1),
        ("en_train.txt (documents)", 4),
    ]
    assert all(r["reference_tokens_per_s"] > 0 and r["candidate_tokens_per_s"] > 0 for r in rows)
    assert all(0.2 < r["slowdown"] < 5 for r in rows)
