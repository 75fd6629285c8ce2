"""Pretrained word (or character) vectors from a file: ``features.pretrained`` = NAME or PATH.

Two formats:

- a safetensors file holding one float tensor ``vectors`` (rows in order, most frequent first where that is
  known) and, in its metadata under ``words``, the JSON list of the rows' words. This is what the library
  ships as ``ner/pretrained/vectors-NAME.safetensors``, named by ``features.pretrained = "NAME"``;
- a word2vec text file (``.txt``, ``.vec``, optionally ``.gz``): one ``word v1 … vd`` line per word, after an
  optional ``count dim`` header line, as fastText and gensim write them. Users bring their own vectors so.

The vectors are read when training only: a trained checkpoint carries the rows it uses.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import safetensors.numpy

from ner.shipped import resolve_shipped

KIND = "vectors"
SUFFIX = ".safetensors"
WORDS_KEY = "words"
ABOUT_KEY = "about"  # where the vectors come from and under which licence, in words
TENSOR = "vectors"


def resolve_vectors(name_or_path: str | Path) -> Path:
    """The vectors file that ``features.pretrained`` names: a path, or NAME of a shipped file."""
    return resolve_shipped(name_or_path, KIND, SUFFIX, "pretrained vectors", "features.pretrained")


def load_vectors(name_or_path: str | Path) -> tuple[list[str], np.ndarray]:
    """The words of a vectors file and their ``(n, dim)`` float32 vectors, in the file's order.

    Raises:
        ValueError: no such file, or one that is not in either format (naming the file and, for text, the line).
    """
    path = resolve_vectors(name_or_path)
    if path.suffix == SUFFIX:
        return _load_safetensors(path)
    return _load_text(path)


def save_vectors(path: str | Path, words: Sequence[str], vectors: np.ndarray, about: str = "") -> Path:
    """Write ``vectors`` (one row per word of ``words``) as a safetensors vectors file, with ``about`` (their
    source and licence) in its metadata; returns the path."""
    if len(words) != len(vectors) or vectors.ndim != 2:
        raise ValueError(f"{len(words)} words for vectors of shape {vectors.shape}")
    if len(set(words)) != len(words):
        raise ValueError("the words of a vectors file must be distinct")
    path = Path(path)
    metadata = {WORDS_KEY: json.dumps(list(words), ensure_ascii=False), ABOUT_KEY: about}
    safetensors.numpy.save_file({TENSOR: np.ascontiguousarray(vectors)}, str(path), metadata=metadata)
    return path


def _load_safetensors(path: Path) -> tuple[list[str], np.ndarray]:
    try:
        with safetensors.safe_open(str(path), framework="np") as f:
            words = json.loads((f.metadata() or {})[WORDS_KEY])
            vectors = f.get_tensor(TENSOR)
    except (KeyError, json.JSONDecodeError, safetensors.SafetensorError) as e:
        raise ValueError(f"{path}: not a vectors file (a tensor {TENSOR!r} and the metadata {WORDS_KEY!r})") from e
    if vectors.ndim != 2 or len(words) != len(vectors):
        raise ValueError(f"{path}: {len(words)} words for vectors of shape {vectors.shape}")
    return words, vectors.astype(np.float32)


def _load_text(path: Path) -> tuple[list[str], np.ndarray]:
    opener = gzip.open if path.suffix == ".gz" else open
    words: list[str] = []
    rows: list[np.ndarray] = []
    dim = 0
    with opener(path, "rt", encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            parts = line.rstrip("\n").rstrip(" ").split(" ")
            if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                continue  # the "count dim" header
            if not parts[0] or len(parts) < 2:
                raise ValueError(f"{path}, line {number}: expected a word and its vector, separated by spaces")
            try:
                row = np.asarray(parts[1:], dtype=np.float32)
            except ValueError as e:
                raise ValueError(f"{path}, line {number}: a vector component is not a number") from e
            if dim and len(row) != dim:
                raise ValueError(f"{path}, line {number}: {len(row)} components, the lines before have {dim}")
            dim = len(row)
            words.append(parts[0])
            rows.append(row)
    if not rows:
        raise ValueError(f"{path}: no vectors")
    return words, np.stack(rows)
