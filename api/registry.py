"""The models a running service serves, and their atomic replacement (hot reload).

A request takes a :class:`LoadedModel` from the registry once and uses it to the end, so a reload
that swaps the registry's entry never changes a request in flight; the old model is freed when the
last request holding it finishes. A candidate is fully loaded and validated before the swap, so a
broken checkpoint never replaces a working model.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ner import store
from ner.checkpoint import CONFIG_FILE, VOCAB_FILE, WEIGHTS_FILE, CheckpointError
from ner.pipeline import Tagger
from ner.tags import SCHEME_PREFIXES, split_tag

logger = logging.getLogger(__name__)

# A sentence per language that every model must get through before it may serve.
SMOKE_TEXTS = {
    "en": "Angela Merkel met Emmanuel Macron in Paris on Tuesday, the Elysee said.",
    "zh": "张三在北京大学工作，昨天去了上海。",
}


class ModelLoadError(RuntimeError):
    """A checkpoint that cannot be loaded or fails validation."""


@dataclass(frozen=True)
class LoadedModel:
    """A validated tagger plus what the service reports about it."""

    name: str
    tagger: Tagger
    path: Path
    digest: str
    loaded_at: datetime
    load_seconds: float

    def info(self) -> dict[str, Any]:
        """What ``GET /v1/models`` says about this model."""
        config = self.tagger.config
        metrics = config.get("metrics", {})
        return {
            "name": self.name,
            "language": self.tagger.lang,
            "labels": self.tagger.labels,
            "metrics": {
                "dev": _summary(metrics.get("dev")),
                "held_out": {k: _summary(v) for k, v in (metrics.get("held_out") or {}).items()},
                "best_epoch": metrics.get("best_epoch"),
            },
            "path": str(self.path),
            "digest": self.digest,
            "quantized": self.tagger.quantized,
            "loaded_at": self.loaded_at.isoformat(),
            "load_seconds": round(self.load_seconds, 3),
        }


def _summary(scores: dict[str, Any] | None) -> dict[str, Any] | None:
    if not scores:
        return None
    keep = ("precision", "recall", "f1")
    per_type = {k: {m: v[m] for m in keep} for k, v in scores.get("per_type", {}).items()}
    return {**{m: scores[m] for m in keep if m in scores}, "per_type": per_type}


def checkpoint_digest(path: Path) -> str:
    """``sha256:`` of the checkpoint's config, vocabulary and weights, in that order."""
    h = hashlib.sha256()
    for name in (CONFIG_FILE, VOCAB_FILE, WEIGHTS_FILE):
        h.update(name.encode())
        with open(path / name, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return "sha256:" + h.hexdigest()


def validate(tagger: Tagger) -> None:
    """Check a freshly loaded tagger: a usable BIOES label set and a well-formed smoke prediction.

    Raises:
        ModelLoadError: what is wrong.
    """
    labels = tagger.model.labels
    if "O" not in labels or not tagger.labels:
        raise ModelLoadError(f"label set {labels} has no 'O' or no entity type")
    for label in labels:
        prefix, _ = split_tag(label)  # parses: the checkpoint loader already built the CRF from these
        if prefix != "O" and prefix not in SCHEME_PREFIXES["bioes"]:
            raise ModelLoadError(f"label {label!r} is not a BIOES tag")
    text = SMOKE_TEXTS.get(tagger.lang)
    if text is None:
        raise ModelLoadError(f"language {tagger.lang!r} is not supported by the service")
    try:
        entities = tagger.predict([text, ""])
    except Exception as e:  # any failure here means the checkpoint cannot serve
        raise ModelLoadError(f"smoke prediction failed: {type(e).__name__}: {e}") from e
    if len(entities) != 2 or entities[1]:
        raise ModelLoadError("smoke prediction returned the wrong number of results")
    for e in entities[0]:
        if text[e.start : e.end] != e.text or not 0.0 <= e.score <= 1.0 or e.label not in tagger.labels:
            raise ModelLoadError(f"smoke prediction returned a malformed entity {e}")


def load_model(name: str, path: str | Path | None, model_dir: Path | None, quantize: bool = False) -> LoadedModel:
    """Load and validate the checkpoint for ``name`` (or at ``path``), ready to swap in.

    Raises:
        ModelLoadError: nothing loadable there, or it failed validation.
    """
    began = time.perf_counter()
    try:
        resolved = store.resolve(str(path) if path is not None else name, model_dir).resolve()
        digest = checkpoint_digest(resolved)
        tagger = Tagger.load(resolved, quantize=quantize)
    except (CheckpointError, OSError, ValueError) as e:
        raise ModelLoadError(str(e)) from e
    validate(tagger)
    if checkpoint_digest(resolved) != digest:
        raise ModelLoadError(f"{resolved} changed while it was being loaded; try again")
    tagger.name = name
    return LoadedModel(name, tagger, resolved, digest, datetime.now(UTC), time.perf_counter() - began)


@dataclass
class ModelRegistry:
    """Name → :class:`LoadedModel`. Reads are lock-free; loads and swaps are serialised."""

    model_dir: Path | None = None
    quantize: bool = False  # int8 LSTM weights (NER_QUANTIZE): faster on CPU, slightly less accurate
    _models: dict[str, LoadedModel] = field(default_factory=dict)
    _errors: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, name: str) -> LoadedModel | None:
        """The model now serving under ``name``, if any."""
        return self._models.get(name)

    def names(self) -> list[str]:
        return list(self._models)

    def errors(self) -> dict[str, str]:
        """Models that failed to load at startup, with the reason."""
        return dict(self._errors)

    def load_all(self, names: tuple[str, ...]) -> None:
        """Load the startup models one by one; a failure is logged and recorded, the rest still load."""
        for name in names:
            try:
                self.reload(name)
            except ModelLoadError as e:
                self._errors[name] = str(e)
                logger.error("model %s failed to load: %s", name, e)

    def reload(self, name: str, path: str | Path | None = None) -> tuple[LoadedModel, LoadedModel | None]:
        """Load, validate and atomically swap in the model for ``name``; return (new, old).

        Raises:
            ModelLoadError: the old model (if any) keeps serving.
        """
        with self._lock:
            new = load_model(name, path, self.model_dir, self.quantize)
            old = self._models.get(name)
            if old is not None and old.tagger.lang != new.tagger.lang:
                # Clients of a name rely on its language; a different language gets a different name.
                raise ModelLoadError(
                    f"{new.path} is a {new.tagger.lang!r} model but {name!r} serves {old.tagger.lang!r}; "
                    "load it under another name"
                )
            # One dict assignment: readers see either the old or the new entry.
            self._models = {**self._models, name: new}
            self._errors.pop(name, None)
        logger.info("model %s: loaded %s (%s) in %.2fs", name, new.path, new.digest[:19], new.load_seconds)
        return new, old
