"""A real ``ner serve`` process queried over HTTP, and ``ner retrain`` changing what it answers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts.reliability.serve_process import free_port, serve

from .conftest import DRUGS_TRAIN, EN_TRAIN, TINY

KEY = "serve-test-key"
NER = [sys.executable, "-m", "ner.cli"]
DRUG_TEXT = "Doctors prescribed ibuprofen for the pain ."


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("store")


@pytest.fixture(scope="module")
def server(store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {**os.environ, "NER_API_KEY": KEY, "NER_MODEL_DIR": str(store), "NER_MAX_CHARS": "5000"}
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with serve(env, log, args=["--model", "en,zh"], timeout=120) as running:
        yield running.url


def _ner(url: str, text: str, model: str | None = None) -> list[tuple[str, str, int, int]]:
    response = httpx.post(f"{url}/v1/ner", json={"text": text, "model": model}, timeout=30)
    assert response.status_code == 200, response.text
    entities = response.json()["entities"]
    for e in entities:
        assert text[e["start"] : e["end"]] == e["text"]
    return [(e["text"], e["label"], e["start"], e["end"]) for e in entities]


def test_english_and_chinese_over_http(server: str) -> None:
    assert httpx.get(f"{server}/health").json() == {"status": "ok"}
    assert _ner(server, "Angela Merkel visited Paris.") == [("Angela Merkel", "PER", 0, 13), ("Paris", "LOC", 22, 27)]
    assert _ner(server, "李明在上海交通大学读书。", "zh") == [("李明", "PER", 0, 2), ("上海交通大学", "ORG", 3, 9)]


def test_batch_order_over_http(server: str) -> None:
    texts = ["Tokyo is big.", "", "Barack Obama spoke.", "IBM hired him."]
    body = httpx.post(f"{server}/v1/ner/batch", json={"texts": texts}).json()
    assert [[e["text"] for e in r["entities"]] for r in body["results"]] == [["Tokyo"], [], ["Barack Obama"], ["IBM"]]


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"content": b"Paris", "headers": {"content-type": "text/plain"}}, 415, "unsupported_media_type"),
        ({"json": {"text": "x" * 5001}}, 413, "text_too_long"),
        ({"content": b"{" + b" " * 3_000_000 + b"}", "headers": {"content-type": "application/json"}}, 413, None),
        ({"content": b"{oops", "headers": {"content-type": "application/json"}}, 422, "invalid_json"),
        ({"json": {"text": "Paris", "model": "klingon"}}, 404, "unknown_model"),
    ],
)
def test_bad_input_over_http(server: str, kwargs: dict[str, Any], status: int, code: str | None) -> None:
    try:
        response = httpx.post(f"{server}/v1/ner", timeout=30, **kwargs)
    except httpx.WriteError:
        # The server may answer 413 and close before a huge upload has been fully sent.
        assert status == 413
        return
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == (code or "payload_too_large")


def _retrain(store: Path, url: str, dev: Path, min_f1: float) -> subprocess.CompletedProcess[str]:
    sets = [x for o in TINY for x in ("--set", o)]
    command = [
        *NER, "retrain", "--name", "en", "--lang", "en", "--train", str(DRUGS_TRAIN), "--dev", str(dev),
        "--model-dir", str(store), "--min-f1", str(min_f1), "--url", url, *sets,
    ]  # fmt: skip
    return subprocess.run(command, env={**os.environ, "NER_API_KEY": KEY}, capture_output=True, text=True, timeout=300)


def test_retrain_then_reload_changes_the_answers(server: str, store: Path) -> None:
    assert all(label != "DRUG" for _, label, _, _ in _ner(server, DRUG_TEXT))
    done = _retrain(store, server, DRUGS_TRAIN, min_f1=0.9)
    assert done.returncode == 0, done.stderr
    assert _ner(server, DRUG_TEXT) == [("ibuprofen", "DRUG", 19, 28)]
    info = {m["name"]: m for m in httpx.get(f"{server}/v1/models").json()["models"]}["en"]
    current = (store / "en" / "current").resolve()
    assert info["labels"] == ["DRUG"] and info["path"].startswith(str(current))

    # Below the threshold (dev data with other labels): not promoted, service and `current` unchanged.
    failed = _retrain(store, server, EN_TRAIN, min_f1=0.5)
    assert failed.returncode == 1 and "not promoted" in failed.stderr
    assert (store / "en" / "current").resolve() == current
    assert len(list((store / "en" / "versions").iterdir())) == 2, "the refused version stays on disk"
    assert _ner(server, DRUG_TEXT) == [("ibuprofen", "DRUG", 19, 28)]


def test_reload_over_http_needs_the_key(server: str) -> None:
    response = httpx.post(f"{server}/v1/models/en/reload", headers={"X-API-Key": "wrong"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


def test_serve_refuses_an_unknown_model_at_once(tmp_path: Path) -> None:
    done = subprocess.run([*NER, "serve", "--model", "en,nosuch"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "nosuch" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run([*NER, "serve", "--port", "0"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "port" in done.stderr


def test_serve_stops_with_a_clear_error_on_a_broken_checkpoint(tmp_path: Path, tiny_drugs: Any) -> None:
    from ner import store

    version = store.new_version(tmp_path, "en")
    shutil.copytree(tiny_drugs.checkpoint, version / "model")
    store.promote(tmp_path, "en", version)
    weights = version / "model" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:500])
    command = [*NER, "serve", "--model", "en", "--model-dir", str(tmp_path), "--port", str(free_port())]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "error: model en:" in done.stderr and "weights do not load" in done.stderr
    assert "Traceback" not in done.stderr
