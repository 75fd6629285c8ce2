"""Chinese word-level features from jieba: segmentation positions and dictionary matches.

* ``softword``: each character's position (B/M/E/S) in the word jieba's segmenter puts it in.
* ``lexicon_flags``: for each character, which dictionary words cover it and where (B/M/E), split by the
  word's part of speech in jieba's dictionary: person (nr*), place (ns*), organisation (nt*), other.
  In the spirit of SoftLexicon (Ma et al., 2020), with jieba's own dictionary as the lexicon.
* ``matches``: the dictionary words themselves, for SoftLexicon's word embeddings (``features.lexicon_dim``).
* ``segment_keys``: each character's segmented word and place in it, for the document memory's groups.
* ``pos_tags``: each character's part of speech in jieba's tagged segmentation (``jieba.posseg``), or in the
  segmentation softword reads, tagged the same way: the dictionary's tag for a dictionary word, the tag posseg's
  HMM guesses for a word found outside it (often a name it has never seen), the two kept apart.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

SOFTWORD_TAGS = ("<pad>", "B", "M", "E", "S")
LEXICON_GROUPS = ("nr", "ns", "nt", "other")
NAME_GROUPS = LEXICON_GROUPS[:-1]  # the groups that are names: person, place, organisation
LEXICON_POSITIONS = ("B", "M", "E")
LEXICON_SIZE = len(LEXICON_GROUPS) * len(LEXICON_POSITIONS)
MAX_WORD_LEN = 8
# jieba 0.42's part-of-speech tags: those its dictionary and its HMM (jieba.posseg) give, and "eng" for Latin
# letters; any other tag reads as "x". Fixed here so that a checkpoint's feature ids never depend on the jieba
# installed beside it.
POS_TAGS = (
    "a ad ag an b bg c d df dg e eng f g h i in j jn k l ln m mg mq n ng nr nrfg nrt ns nt nz o p q qe qg r rg rr "
    "rz s t tg u ud ug uj ul uv uz v vd vg vi vn vq x y yg z zg"
).split()
POS_IDS = {tag: 1 + 2 * i for i, tag in enumerate(POS_TAGS)}  # the tag of a dictionary word; + 1: a word outside it
POS_SIZE = 1 + 2 * len(POS_TAGS)  # id 0 is padding


class Match(NamedTuple):
    """A dictionary word found in a text: ``text[start:start + length] == word``."""

    start: int
    length: int
    word: str
    group: int  # index into LEXICON_GROUPS
    freq: int  # the word's frequency in jieba's dictionary (at least 1)


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
        words: dict[str, tuple[int, int]] = {}  # word -> (group, frequency)
        with self._tokenizer.get_dict_file() as f:
            for raw in f:
                parts = raw.decode("utf-8").split()
                if len(parts) >= 2 and 2 <= len(parts[0]) <= MAX_WORD_LEN:
                    freq = int(parts[1]) if parts[1].isdigit() else 1
                    words[parts[0]] = (_group(parts[2] if len(parts) > 2 else ""), max(freq, 1))
        self._words = words
        self._tagger: Any = None  # jieba.posseg's tagger (load_pos_tagger)

    def words_of(self, group: int) -> list[str]:
        """The dictionary words of 2 to ``MAX_WORD_LEN`` characters in ``group`` (an index into
        ``LEXICON_GROUPS``), sorted."""
        return sorted(word for word, (g, _) in self._words.items() if g == group)

    def group_of(self, word: str) -> int | None:
        """``word``'s group (an index into ``LEXICON_GROUPS``), or None when the dictionary lacks it."""
        found = self._words.get(word)
        return None if found is None else found[0]

    def cut(self, text: str) -> list[str]:
        """jieba's segmentation of ``text`` (its words, in order, joining back to ``text``)."""
        return list(self._tokenizer.cut(text, HMM=True))

    def softword(self, text: str, words: Sequence[str] | None = None) -> list[int]:
        """Per character of ``text``: the id of its B/M/E/S position in jieba's segmentation (``words``:
        :meth:`cut`'s, when already made)."""
        ids: list[int] = []
        for word in self.cut(text) if words is None else words:
            n = len(word)
            if n == 1:
                ids.append(4)
            else:
                ids.extend([1] + [2] * (n - 2) + [3])
        return ids

    def load_pos_tagger(self) -> Any:
        """``jieba.posseg``'s tagger over this dictionary, loaded on the first call (about half a second)."""
        if self._tagger is None:
            import jieba.posseg

            self._tagger = jieba.posseg.POSTokenizer(self._tokenizer)
        return self._tagger

    def pos_tags(self, text: str, words: Sequence[str] | None = None) -> list[int]:
        """Per character of ``text``: the id (see ``POS_IDS``) of the part of speech of the word jieba puts it in,
        one id for a word of jieba's dictionary with that tag and another for a word its HMM found outside it.

        The words and tags are ``jieba.posseg``'s tagged segmentation, or with ``words`` (:meth:`cut`'s, made for
        softword: ``features.pos_source = "segmentation"``) those words, each dictionary word with its dictionary
        tag and each other one tagged by posseg's HMM alone: 40% of posseg's time on MSRA test."""
        freq = self._tokenizer.FREQ
        tagger = self.load_pos_tagger()
        pairs = ((p.word, p.flag) for p in tagger.cut(text, HMM=True)) if words is None else self._tagged(words, tagger)
        ids: list[int] = []
        for word, tag in pairs:
            known = freq.get(word, 0) > 0 or len(word) == 1
            ids.extend([POS_IDS.get(tag, POS_IDS["x"]) + (0 if known else 1)] * len(word))
        return ids

    def _tagged(self, words: Sequence[str], tagger: Any) -> Iterator[tuple[str, str]]:
        """(word, tag) for segmented ``words``: the dictionary's tag, or the HMM's of posseg's ``tagger`` for a word
        outside it."""
        from jieba.posseg import re_eng, re_num  # posseg's own patterns for digits and Latin letters

        freq = self._tokenizer.FREQ
        for word in words:
            if freq.get(word, 0) > 0:
                yield word, tagger.word_tag_tab.get(word, "x")
            elif len(word) == 1:  # posseg would tag it with its neighbours; alone, by posseg's rules for non-Han text
                yield word, "m" if re_num.fullmatch(word) else "eng" if re_eng.fullmatch(word) else "x"
            else:
                yield from ((p.word, p.flag) for p in tagger.cut(word, HMM=True))

    def matches(self, text: str) -> Iterator[Match]:
        """Every dictionary word of 2 to ``MAX_WORD_LEN`` characters in ``text``, overlaps included."""
        n = len(text)
        words = self._words
        for i in range(n):
            for length in range(2, min(MAX_WORD_LEN, n - i) + 1):
                word = text[i : i + length]
                found = words.get(word)
                if found is not None:
                    yield Match(i, length, word, *found)


def segment_keys(words: Sequence[str]) -> list[str]:
    """Per character of the text that ``words`` (a segmentation) join into: the word it falls in and its
    place there, e.g. ``致公党`` gives ``致公党/0``, ``致公党/1``, ``致公党/2``: the key that joins a Chinese
    character's occurrences in the document memory (``features.doc_memory_key = "segment"``)."""
    return [f"{word}/{i}" for word in words for i in range(len(word))]


def lexicon_flags(matches: Sequence[Match], length: int) -> list[list[int]]:
    """Per character of a text of ``length`` characters: the indices of its active lexicon features
    (group × position) given the text's ``matches``."""
    active: list[set[int]] = [set() for _ in range(length)]
    for m in matches:
        base = m.group * len(LEXICON_POSITIONS)
        for j, position in covered(m):
            active[j].add(base + position)
    return [sorted(a) for a in active]


def covered(match: Match) -> Iterator[tuple[int, int]]:
    """(character index, position in LEXICON_POSITIONS) for each character a match covers."""
    yield match.start, 0
    for j in range(match.start + 1, match.start + match.length - 1):
        yield j, 1
    yield match.start + match.length - 1, 2


def unknown_word(group: int) -> str:
    """The lexicon-word vocabulary's stand-in for a dictionary word of ``group`` unseen in training."""
    return f"<unk:{LEXICON_GROUPS[group]}>"


UNKNOWN_WORDS = tuple(unknown_word(g) for g in range(len(LEXICON_GROUPS)))  # one per group, in group order


def char_offsets(tokens: Sequence[str]) -> list[int]:
    """Offset of each token's first character in ``"".join(tokens)``."""
    offsets, pos = [], 0
    for tok in tokens:
        offsets.append(pos)
        pos += len(tok)
    return offsets
