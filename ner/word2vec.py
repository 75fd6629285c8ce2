"""Embeddings pretrained on the training text itself (``features.pretrained = "train-text"``).

Where no pretrained vectors exist (Chinese here), skip-gram word2vec over the training sentences gives
the word (character) and bigram embeddings a distributional starting point. gensim does the training;
it is needed only by ``ner train`` (the training extra), never at serving time: the vectors end up in
the model's embedding weights.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Sequence

import numpy as np

WINDOW = 5
EPOCHS = 5
NEGATIVE = 5

logger = logging.getLogger(__name__)


def train_text_vectors(sequences: Sequence[Sequence[str]], dim: int, seed: int) -> dict[str, np.ndarray]:
    """Skip-gram vectors of every item seen in ``sequences``, trained with one worker (deterministic
    for a seed), as ``item -> float32 vector of length dim``."""
    try:
        from gensim.models import Word2Vec
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "features.pretrained = 'train-text' needs gensim, in the training extra: pip install 'ner-service[train]'"
        ) from e
    logging.getLogger("gensim").setLevel(logging.WARNING)  # its per-second progress lines drown the training log
    sentences = [list(s) for s in sequences if s]
    if not sentences:
        return {}
    start = time.perf_counter()
    model = Word2Vec(
        sentences,
        vector_size=dim,
        window=WINDOW,
        min_count=1,
        sg=1,
        negative=NEGATIVE,
        epochs=EPOCHS,
        workers=1,
        seed=seed,
        hashfxn=_stable_hash,
    )
    vectors = model.wv
    logger.info(
        "word2vec (dim %d) on %d training sequences: %d items in %.0f s",
        dim,
        len(sentences),
        len(vectors.index_to_key),
        time.perf_counter() - start,
    )
    return {word: np.array(vectors[word], dtype=np.float32) for word in vectors.index_to_key}


def _stable_hash(text: str) -> int:
    """gensim seeds each vector from a hash of its item; Python's own str hash differs per process."""
    return zlib.crc32(text.encode("utf-8"))
