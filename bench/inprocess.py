"""In-process tagging speed: our public Python API against spaCy's ``nlp.pipe``, interleaved.

Each pass tags every text once, ``batch`` texts per call (our ``Tagger.predict``, tokenising and
offset mapping included) or ``nlp.pipe(texts, batch_size=batch)`` for spaCy. One warm-up pass, then
``passes`` timed passes with the systems taking turns, so machine noise hits both; the median is reported.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bench.corpora import Texts
from ner.pipeline import Tagger


@dataclass(frozen=True)
class Speed:
    system: str
    corpus: str
    batch: int
    sentences_per_s: float
    tokens_per_s: float
    pass_seconds: list[float]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ours(tagger: Tagger, texts: Sequence[str], batch: int) -> Callable[[], int]:
    """One pass of our tagger over ``texts``; returns the number of entities found."""

    def run() -> int:
        found = 0
        for k in range(0, len(texts), batch):
            found += sum(map(len, tagger.predict(texts[k : k + batch], batch_size=max(batch, 1))))
        return found

    return run


def spacy_pipe(nlp: Any, texts: Sequence[str], batch: int) -> Callable[[], int]:
    """One pass of spaCy's ``nlp.pipe`` over ``texts``; returns the number of entities found."""

    def run() -> int:
        return sum(len(doc.ents) for doc in nlp.pipe(texts, batch_size=batch))

    return run


def compare(
    systems: dict[str, Callable[[Sequence[str], int], Callable[[], int]]],
    corpus: Texts,
    batches: Sequence[int],
    passes: int = 3,
) -> list[Speed]:
    """Speeds of each system at each batch size: a warm-up pass, then ``passes`` interleaved timed passes."""
    out = []
    for batch in batches:
        runs = {name: make(corpus.texts, batch) for name, make in systems.items()}
        for run in runs.values():
            run()  # warm-up
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(passes):
            for name, run in runs.items():
                began = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - began)
        for name, seconds in times.items():
            median = statistics.median(seconds)
            n = len(corpus.texts)
            out.append(Speed(name, corpus.name, batch, n / median, corpus.tokens / median, seconds))
    return out
