"""Retraining into the versioned store: train → evaluate on dev → promote past a threshold → reload.

``ner retrain`` wraps :func:`retrain`. Every run trains into a fresh ``ROOT/NAME/versions/V``
directory; only a finished run whose dev F1 reaches ``min_f1`` becomes ``current`` (one atomic
rename). A failed, interrupted or below-threshold run leaves the current model as it was, and
every earlier version stays on disk.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ner import store
from ner.checkpoint import load
from ner.config import Config
from ner.conll import read_conll
from ner.evaluate import evaluate_sentences
from ner.tags import Scheme
from ner.train import train

logger = logging.getLogger(__name__)

RECORD_FILE = "retrain.json"  # what the run decided, written into its version directory


@dataclass(frozen=True)
class RetrainResult:
    """The outcome of one retrain run."""

    name: str
    version: Path
    dev: dict[str, Any]
    min_f1: float
    promoted: bool
    previous: Path | None  # the version that was current before this run

    @property
    def dev_f1(self) -> float:
        return float(self.dev["f1"])

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": str(self.version),
            "dev_f1": round(self.dev_f1, 4),
            "dev_precision": round(float(self.dev["precision"]), 4),
            "dev_recall": round(float(self.dev["recall"]), 4),
            "min_f1": self.min_f1,
            "promoted": self.promoted,
            "previous": str(self.previous) if self.previous else None,
        }


def retrain(
    config: Config,
    name: str,
    root: str | Path,
    train_path: str | Path,
    dev_path: str | Path,
    min_f1: float,
    scheme: Scheme | None = None,
    command: str = "",
    progress: bool | None = None,
) -> RetrainResult:
    """Train ``name`` into a new version under ``root``; make it current iff its dev F1 ≥ ``min_f1``.

    The dev score is measured again on the saved checkpoint (loaded back from disk), so the number
    that decides promotion is the one the service will see.
    """
    if not 0.0 <= min_f1 <= 1.0:
        raise ValueError(f"min_f1 must be in [0, 1], got {min_f1}")
    store.check_name(name)
    dev = read_conll(dev_path, scheme)  # fail on a bad dev file before spending time on training
    previous = store.current(root, name)
    version = store.new_version(root, name)
    logger.info("retraining %s into %s", name, version)
    result = train(config, train_path, version, dev_path, scheme, progress=progress, command=command)
    model, featurizer, _ = load(result.checkpoint)
    scores = evaluate_sentences(model, featurizer, dev.sentences)
    promoted = scores["f1"] >= min_f1
    outcome = RetrainResult(name, version, scores, min_f1, promoted, previous)
    record = {**outcome.summary(), "dev_path": str(dev_path), "train_path": str(train_path), "config": asdict(config)}
    (version / RECORD_FILE).write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")
    if promoted:
        store.promote(root, name, version)
        logger.info("%s: version %s is now current (dev F1 %.4f ≥ %.4f)", name, version.name, scores["f1"], min_f1)
    else:
        logger.warning("%s: dev F1 %.4f < %.4f; current model unchanged", name, scores["f1"], min_f1)
    return outcome


def request_reload(url: str, name: str, api_key: str | None, timeout: float = 120.0) -> dict[str, Any]:
    """Ask a running service to reload ``name`` (it resolves the store's new current version itself).

    Raises:
        RuntimeError: the service could not be reached or refused the reload.
    """
    import httpx

    endpoint = f"{url.rstrip('/')}/v1/models/{name}/reload"
    headers = {"X-API-Key": api_key} if api_key else {}
    try:
        response = httpx.post(endpoint, headers=headers, timeout=timeout)
    except httpx.HTTPError as e:
        raise RuntimeError(f"cannot reach {endpoint}: {e}") from None
    try:
        body = response.json()
    except ValueError:
        body = {"error": {"message": response.text[:200]}}
    if response.status_code != 200:
        message = body.get("error", {}).get("message", response.text[:200])
        raise RuntimeError(f"{endpoint} answered {response.status_code}: {message}")
    return body
