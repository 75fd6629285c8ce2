"""Checkpoints: a directory with ``config.json``, ``vocab.json`` and ``model.safetensors``.

Saving writes a temporary directory and renames it into place, so a crash never leaves a
half-written checkpoint and never destroys the previous one. Loading rebuilds the model from the
JSON config and loads the weights with ``strict=True``; nothing is ever unpickled.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file

from ner.card import model_card
from ner.config import FeatureConfig, ModelConfig
from ner.features import Featurizer
from ner.model import BiLstmCrf
from ner.vocab import Vocab

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
VOCAB_FILE = "vocab.json"
WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "README.md"
MODEL_DIR = "model"  # the checkpoint inside a training output directory
_OLD = ".model.old"
SHIPPED = Path(__file__).parent / "models"


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, incomplete or inconsistent."""


def save(model: BiLstmCrf, featurizer: Featurizer, path: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint directory at ``path`` atomically (replacing any checkpoint there).

    ``extra`` is merged into ``config.json`` (metrics, data hashes, training config, versions).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=path.parent))
    try:
        # The keys that describe the model itself always come from the model, never from ``extra``.
        config = {
            **(extra or {}),
            "format_version": FORMAT_VERSION,
            "features": asdict(model.features),
            "model": asdict(model.config),
            "labels": model.labels,
            "scheme": "bioes",
        }
        vocab = {
            "words": list(featurizer.words.items),
            "chars": list(featurizer.chars.items) if featurizer.chars else None,
            "bigrams": list(featurizer.bigrams.items) if featurizer.bigrams else None,
        }
        _write(tmp / CONFIG_FILE, json.dumps(config, indent=2, ensure_ascii=False))
        _write(tmp / VOCAB_FILE, json.dumps(vocab, ensure_ascii=False))
        _write(tmp / CARD_FILE, model_card(config, path.name))
        state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
        save_file(state, str(tmp / WEIGHTS_FILE), metadata={"format_version": str(FORMAT_VERSION)})
        _fsync(tmp / WEIGHTS_FILE)
        # mkdtemp makes the directory private; a checkpoint is meant to be read by other users (a service).
        os.chmod(tmp, 0o755)
        for child in tmp.iterdir():
            os.chmod(child, 0o644)
        old = path.parent / f"{_OLD}-{path.name}"
        if path.exists():
            if old.exists():
                shutil.rmtree(old)
            os.rename(path, old)
        os.rename(tmp, path)
        if old.exists():
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _write(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def resolve(name_or_path: str | Path) -> Path:
    """The checkpoint directory for a shipped model name (``en``, ``zh``), a checkpoint directory,
    or a training output directory (its ``model/``, or the previous one if a save was interrupted).

    Raises:
        CheckpointError: nothing loadable is there.
    """
    candidates = [Path(name_or_path)]
    if isinstance(name_or_path, str) and "/" not in name_or_path and (SHIPPED / name_or_path).is_dir():
        candidates.insert(0, SHIPPED / name_or_path)
    for base in candidates:
        for path in (base, base / MODEL_DIR, base / f"{_OLD}-{MODEL_DIR}"):
            if (path / CONFIG_FILE).is_file():
                if path.name.startswith(_OLD):
                    logger.warning("%s: using the previous checkpoint; the last save was interrupted", path)
                return path
    shipped = ", ".join(sorted(p.name for p in SHIPPED.iterdir() if p.is_dir())) if SHIPPED.is_dir() else "none"
    raise CheckpointError(
        f"no checkpoint at {name_or_path!s}: expected a directory with {CONFIG_FILE} "
        f"or a shipped model name ({shipped})"
    )


def load(name_or_path: str | Path) -> tuple[BiLstmCrf, Featurizer, dict[str, Any]]:
    """Rebuild a model and its featurizer from a checkpoint; also return the whole config dict.

    Raises:
        CheckpointError: missing files, unreadable JSON, unknown format, or weights that do not fit.
    """
    path = resolve(name_or_path)
    try:
        config = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
        vocab = json.loads((path / VOCAB_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: cannot read checkpoint files: {e}") from None
    if config.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: format_version {config.get('format_version')!r}, expected {FORMAT_VERSION}")
    try:
        features = FeatureConfig(**config["features"])
        model_config = ModelConfig(**config["model"])
        featurizer = Featurizer(
            features,
            Vocab(vocab["words"]),
            Vocab(vocab["chars"]) if vocab.get("chars") else None,
            Vocab(vocab["bigrams"]) if vocab.get("bigrams") else None,
        )
        model = BiLstmCrf.for_featurizer(featurizer, model_config, config["labels"])
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: invalid config or vocabulary: {e}") from None
    try:
        state = load_file(str(path / WEIGHTS_FILE))
        model.load_state_dict(state, strict=True)
    except Exception as e:  # safetensors raises its own error types for corrupt files
        raise CheckpointError(f"{path}: weights do not load: {e}") from None
    model.eval()
    return model, featurizer, config
