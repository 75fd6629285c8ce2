"""Chinese word-level features from jieba: segmentation positions and dictionary matches.

* ``softword``: each character's position (B/M/E/S) in the word jieba's segmenter puts it in.
* ``lexicon``: for each character, which dictionary words cover it and where (B/M/E), split by the
  word's part of speech in jieba's dictionary: person (nr*), place (ns*), organisation (nt*), other.
  In the spirit of SoftLexicon (Ma et al., 2020), with jieba's own dictionary as the lexicon.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

SOFTWORD_TAGS = ("<pad>", "B", "M", "E", "S")
LEXICON_GROUPS = ("nr", "ns", "nt", "other")
LEXICON_POSITIONS = ("B", "M", "E")
LEXICON_SIZE = len(LEXICON_GROUPS) * len(LEXICON_POSITIONS)
MAX_WORD_LEN = 8


def _group(pos: str) -> int:
    for i, prefix in enumerate(LEXICON_GROUPS[:-1]):
        if pos.startswith(prefix):
            return i
    return len(LEXICON_GROUPS) - 1


class JiebaFeatures:
    """jieba's segmenter and dictionary, loaded once per instance (no global jieba state)."""

    def __init__(self) -> None:
        import jieba

        logging.getLogger("jieba").setLevel(logging.WARNING)
        self._tokenizer = jieba.Tokenizer()
        self._tokenizer.initialize()
        words: dict[str, int] = {}
        with self._tokenizer.get_dict_file() as f:
            for raw in f:
                parts = raw.decode("utf-8").split()
                if len(parts) >= 2 and 2 <= len(parts[0]) <= MAX_WORD_LEN:
                    words[parts[0]] = _group(parts[2] if len(parts) > 2 else "")
        self._words = words

    def softword(self, text: str) -> list[int]:
        """Per character of ``text``: the id of its B/M/E/S position in jieba's segmentation."""
        ids: list[int] = []
        for word in self._tokenizer.cut(text, HMM=True):
            n = len(word)
            if n == 1:
                ids.append(4)
            else:
                ids.extend([1] + [2] * (n - 2) + [3])
        return ids

    def lexicon(self, text: str) -> list[list[int]]:
        """Per character of ``text``: the indices of its active lexicon features (group × position)."""
        n = len(text)
        active: list[set[int]] = [set() for _ in range(n)]
        words = self._words
        for i in range(n):
            for length in range(2, min(MAX_WORD_LEN, n - i) + 1):
                group = words.get(text[i : i + length])
                if group is None:
                    continue
                base = group * len(LEXICON_POSITIONS)
                active[i].add(base)
                for j in range(i + 1, i + length - 1):
                    active[j].add(base + 1)
                active[i + length - 1].add(base + 2)
        return [sorted(a) for a in active]


def char_offsets(tokens: Sequence[str]) -> list[int]:
    """Offset of each token's first character in ``"".join(tokens)``."""
    offsets, pos = [], 0
    for tok in tokens:
        offsets.append(pos)
        pos += len(tok)
    return offsets
