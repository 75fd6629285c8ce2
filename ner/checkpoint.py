"""Checkpoints: a directory with ``config.json``, ``vocab.json`` and ``model.safetensors``.

Saving writes a temporary directory and renames it into place, so a crash never leaves a
half-written checkpoint and never destroys the previous one. A process killed mid-save (SIGKILL)
can leave its hidden ``.tmp-PID-*`` directory behind: loaders never look at it, and the next save
into the same directory removes it once process PID is gone. Loading rebuilds the model from the
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

import safetensors.torch
import torch

from ner.card import model_card
from ner.charlm import CharLMSpec
from ner.config import FeatureConfig, ModelConfig
from ner.features import Featurizer
from ner.gazetteer import Gazetteer
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
_TMP = ".tmp-"  # followed by the writer's pid, so leftovers of dead writers can be told apart
SHIPPED = Path(__file__).parent / "models"


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, incomplete or inconsistent."""


def save(model: BiLstmCrf, featurizer: Featurizer, path: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint directory at ``path`` atomically (replacing any checkpoint there).

    ``extra`` is merged into ``config.json`` (metrics, data hashes, training config, versions).

    Raises:
        OSError: a write failed (a full disk is ``errno.ENOSPC``), naming ``path``; the previous
            checkpoint at ``path`` is kept and no temporary files are left.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path.parent)
    old = path.parent / f"{_OLD}-{path.name}"
    tmp: Path | None = None
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f"{_TMP}{os.getpid()}-", dir=path.parent))
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
            "fixed_words": featurizer.fixed_words,
            "lexicon_words": list(featurizer.lexicon_words.items) if featurizer.lexicon_words else None,
            "char_lm": featurizer.char_lm.to_json() if featurizer.char_lm else None,
            "gazetteer": featurizer.gazetteer.to_json() if featurizer.gazetteer else None,
        }
        _write(tmp / CONFIG_FILE, json.dumps(config, indent=2, ensure_ascii=False).encode())
        _write(tmp / VOCAB_FILE, json.dumps(vocab, ensure_ascii=False).encode())
        _write(tmp / CARD_FILE, model_card(config, path.name).encode())
        state = _stored_state(model)
        # Serialised in memory and written by ``_write``: safetensors' own file writer reports a full
        # disk as a SafetensorError without errno or path.
        weights = safetensors.torch.save(state, metadata={"format_version": str(FORMAT_VERSION)})
        _write(tmp / WEIGHTS_FILE, weights)
        # mkdtemp makes the directory private; a checkpoint is meant to be read by other users (a service).
        os.chmod(tmp, 0o755)
        for child in tmp.iterdir():
            os.chmod(child, 0o644)
        if path.exists():
            if old.exists():
                shutil.rmtree(old)
            os.rename(path, old)
        os.rename(tmp, path)
        tmp = None
        fsync_dir(path.parent)  # the renames themselves survive a power cut, not only the files
    except BaseException as e:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not path.exists():
            os.rename(old, path)  # the previous checkpoint goes back where readers look for it
        if isinstance(e, OSError) and e.errno is not None:
            raise OSError(e.errno, f"{e.strerror}; checkpoint not saved", str(path)) from e
        raise
    shutil.rmtree(old, ignore_errors=True)
    return path


def _stored_state(model: BiLstmCrf) -> dict[str, torch.Tensor]:
    """The tensors written to ``model.safetensors``: the state dict, with the embedding tables in float16
    where ``model.config.embedding_storage`` asks for it, and the frozen character language model always
    (training rounds it so: :func:`ner.charlm.lm_weights`); ``load`` copies them back into float32."""
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    for key in state:
        if key.startswith("char_lm."):
            state[key] = state[key].to(torch.float16)
    if model.config.embedding_storage == "float16":
        for name, module in model.named_modules():
            if isinstance(module, torch.nn.Embedding):
                key = f"{name}.weight"
                state[key] = state[key].to(torch.float16)
    return state


def _remove_stale_temporaries(directory: str | Path) -> list[Path]:
    """Remove the ``.tmp-PID-*`` directories in ``directory`` whose writing process no longer runs
    (a save killed with SIGKILL cannot clean up after itself); return what was removed."""
    removed = []
    for candidate in Path(directory).glob(f"{_TMP}*"):
        pid = candidate.name[len(_TMP) :].partition("-")[0]
        if pid.isdigit() and candidate.is_dir() and not _running(int(pid)):
            shutil.rmtree(candidate, ignore_errors=True)
            logger.info("removed %s, left by an interrupted save", candidate)
            removed.append(candidate)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def fsync_dir(directory: str | Path) -> None:
    """Flush a directory's entries (renames, new links) to disk."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


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
        # The previous checkpoint, moved aside by a save interrupted between its two renames.
        previous = (base / f"{_OLD}-{MODEL_DIR}", base.parent / f"{_OLD}-{base.name}")
        for path in (base, base / MODEL_DIR, *previous):
            if (path / CONFIG_FILE).is_file():
                if path.name.startswith(_OLD):
                    logger.warning("%s: using the previous checkpoint; the last save was interrupted", path)
                return path
    shipped = ", ".join(sorted(p.name for p in SHIPPED.iterdir() if p.is_dir())) if SHIPPED.is_dir() else "none"
    raise CheckpointError(
        f"no checkpoint at {name_or_path!s}: expected a directory with {CONFIG_FILE} "
        f"or a shipped model name ({shipped})"
    )


def read_config(name_or_path: str | Path) -> dict[str, Any]:
    """The ``config.json`` of a checkpoint, found as :func:`load` finds it, without building the model.

    Raises:
        CheckpointError: nothing loadable there, or a config that is not a readable JSON object.
    """
    return _read_object(resolve(name_or_path), CONFIG_FILE)


def _read_object(path: Path, name: str) -> dict[str, Any]:
    """The JSON object in the file ``name`` of the checkpoint directory ``path``; CheckpointError naming both."""
    try:
        value = json.loads((path / name).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:  # ValueError: bad JSON or bad UTF-8
        raise CheckpointError(f"{path}: cannot read {name}: {e}") from None
    if not isinstance(value, dict):
        raise CheckpointError(f"{path}: {name} must hold a JSON object")
    return value


def load(name_or_path: str | Path) -> tuple[BiLstmCrf, Featurizer, dict[str, Any]]:
    """Rebuild a model and its featurizer from a checkpoint; also return the whole config dict.

    Raises:
        CheckpointError: missing files, unreadable JSON, unknown format, or weights that do not fit.
    """
    path = resolve(name_or_path)
    config = _read_object(path, CONFIG_FILE)
    vocab = _read_object(path, VOCAB_FILE)
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
            fixed_words=int(vocab.get("fixed_words", 0)),  # absent in checkpoints made before there were any
            lexicon_words=Vocab(vocab["lexicon_words"]) if vocab.get("lexicon_words") else None,
            char_lm=CharLMSpec.from_json(vocab["char_lm"]) if vocab.get("char_lm") else None,
            gazetteer=Gazetteer.from_json(vocab["gazetteer"]) if vocab.get("gazetteer") else None,
        )
        model = BiLstmCrf.for_featurizer(featurizer, model_config, config["labels"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:  # RuntimeError: torch refuses a size
        raise CheckpointError(f"{path}: invalid config or vocabulary: {e}") from None
    try:
        state = safetensors.torch.load_file(str(path / WEIGHTS_FILE))
        model.load_state_dict(state, strict=True)
    except Exception as e:  # safetensors raises its own error types for corrupt files
        raise CheckpointError(f"{path}: weights do not load: {e}") from None
    model.eval()
    return model, featurizer, config
