"""Immutable string ↔ id vocabularies. Lookup never adds; unknown strings map to ``<unk>``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

PAD = "<pad>"
UNK = "<unk>"


class Vocab:
    """A fixed list of strings; id 0 is ``<pad>`` and id 1 is ``<unk>``."""

    def __init__(self, items: Sequence[str]) -> None:
        items = list(items)
        if items[:2] != [PAD, UNK]:
            raise ValueError("a vocabulary must start with <pad>, <unk>")
        if len(set(items)) != len(items):
            raise ValueError("a vocabulary must not repeat items")
        self._items = tuple(items)
        self._index = {s: i for i, s in enumerate(items)}

    @classmethod
    def build(
        cls,
        counts: Counter[str],
        min_count: int = 1,
        max_size: int | None = None,
        extra: Iterable[str] = (),
    ) -> Vocab:
        """Items seen at least ``min_count`` times (most frequent first, ties by string, at most
        ``max_size``), then ``extra`` items not already in, in their given order."""
        ranked = sorted((s for s, c in counts.items() if c >= min_count), key=lambda s: (-counts[s], s))
        return cls([PAD, UNK] + [s for s in ranked[:max_size] if s not in (PAD, UNK)]).extended(extra)

    def extended(self, extra: Iterable[str]) -> Vocab:
        """This vocabulary followed by the ``extra`` items not already in, in their given order."""
        items = list(self._items)
        have = set(items)
        for s in extra:
            if s not in have:
                items.append(s)
                have.add(s)
        return type(self)(items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item: object) -> bool:
        return item in self._index

    def __getitem__(self, item: str) -> int:
        return self._index.get(item, 1)

    @property
    def items(self) -> tuple[str, ...]:
        return self._items

    def lookup(self, items: Iterable[str]) -> list[int]:
        """Ids of ``items``; unknown ones get the ``<unk>`` id."""
        get = self._index.get
        return [get(s, 1) for s in items]
