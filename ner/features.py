"""Tokens → feature ids, and batches of them.

A :class:`Featurizer` owns the vocabularies of one model. ``encode`` turns one sentence's token
strings into an :class:`Encoded` record of ids; ``collate`` pads several into a :class:`Batch` of
tensors with a bool mask. Vocabularies are built from training data only (``Featurizer.build``) and
never grow afterwards.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import torch

from ner.charlm import CharLMSpec, load_char_lm
from ner.config import FeatureConfig
from ner.gazetteer import Gazetteer, load_gazetteer
from ner.lexicon import (
    LEXICON_POSITIONS,
    LEXICON_SIZE,
    UNKNOWN_WORDS,
    JiebaFeatures,
    Match,
    char_offsets,
    covered,
    lexicon_flags,
    segment_keys,
)
from ner.types import Sentence
from ner.vocab import Vocab

CASINGS = ("<pad>", "other", "numeric", "mostly_numeric", "lower", "upper", "title", "has_digit")
END = "</s>"
TOKEN_CACHE_SIZE = 100_000  # distinct token strings whose features a Featurizer remembers
_DIGITS = re.compile(r"\d")


def casing(token: str) -> int:
    """The id of a token's casing class in :data:`CASINGS` (Reimers & Gurevych, 2017)."""
    digits = sum(c.isdigit() for c in token)
    if token.isdigit():
        return 2
    if digits / max(len(token), 1) > 0.5:
        return 3
    if token.islower():
        return 4
    if token.isupper():
        return 5
    if token[:1].isupper():
        return 6
    if digits:
        return 7
    return 1


@dataclass
class Encoded:
    """One sentence's feature ids (lists, not yet tensors)."""

    words: list[int]
    casing: list[int] | None = None
    chars: list[tuple[int, ...]] | None = None
    bigrams: list[int] | None = None
    softword: list[int] | None = None
    pos: list[int] | None = None
    lexicon: list[list[int]] | None = None
    # features.lexicon_dim: per token, (position set, lexicon word id, weight) of each dictionary word covering it
    lexicon_words: list[list[tuple[int, int, float]]] | None = None
    gazetteer: list[list[int]] | None = None  # features.gazetteer: per token, its active flags
    keys: list[str] | None = None  # the tokens' word lookup keys, for features.doc_memory
    # features.char_lm: the sentence's character ids for the language model, each token's first and last one's place
    lm_chars: list[int] | None = None
    lm_firsts: list[int] | None = None
    lm_lasts: list[int] | None = None


@dataclass
class Batch:
    """Padded tensors for a batch of B sentences of at most T tokens (L chars per token)."""

    words: torch.Tensor  # (B, T) long
    mask: torch.Tensor  # (B, T) bool, True on real tokens
    casing: torch.Tensor | None = None  # (B, T) long
    chars: torch.Tensor | None = None  # (U, L) long: the distinct tokens' characters, row 0 all padding
    char_index: torch.Tensor | None = None  # (B, T) long: each token's row in ``chars`` (0 for padding)
    bigrams: torch.Tensor | None = None  # (B, T) long
    softword: torch.Tensor | None = None  # (B, T) long
    pos: torch.Tensor | None = None  # (B, T) long
    lexicon: torch.Tensor | None = None  # (B, T, LEXICON_SIZE) float
    # features.lexicon_dim, N matched (word, position set) pairs in all: each one's word id, its bag
    # (b * T + t) * len(LEXICON_POSITIONS) + position set, and its weight in that bag's mean
    lexicon_ids: torch.Tensor | None = None  # (N,) long
    lexicon_bags: torch.Tensor | None = None  # (N,) long
    lexicon_weights: torch.Tensor | None = None  # (N,) float
    gazetteer: torch.Tensor | None = None  # (B, T, gazetteer.size) float
    # (B, T) long, features.doc_memory: each token's (memory window, word key) group, numbered from 1
    # in the batch (0 for padding); tokens of one group share a memory
    word_groups: torch.Tensor | None = None
    # features.char_lm: (B, S) long, the sentences' characters as the language model reads them (0 is padding),
    # and (B, T) long, each token's first and last character's position among them
    lm_chars: torch.Tensor | None = None
    lm_firsts: torch.Tensor | None = None
    lm_lasts: torch.Tensor | None = None
    tags: torch.Tensor | None = None  # (B, T) long
    # train.teachers (ner/distill.py): the teachers' mean P(y_t = k), (B, T, K), and P(y_t-1 = i, y_t = j),
    # (B, T, K, K); zeros at padding
    soft_unary: torch.Tensor | None = None
    soft_pairwise: torch.Tensor | None = None
    # with train.unlabelled: (B,) bool, whether each row has gold tags (unlabelled rows learn the teachers alone)
    gold: torch.Tensor | None = None
    # with train.teachers and train.mention_replace: (B,) bool, whether the teachers' targets are for the row as it
    # reads (False: mentions replaced this epoch; the row learns its gold tags alone)
    taught: torch.Tensor | None = None

    @property
    def lengths(self) -> torch.Tensor:
        return self.mask.sum(dim=1)


class Featurizer:
    """Turns token strings into feature ids with fixed vocabularies."""

    def __init__(
        self,
        config: FeatureConfig,
        words: Vocab,
        chars: Vocab | None = None,
        bigrams: Vocab | None = None,
        fixed_words: int = 0,
        lexicon_words: Vocab | None = None,
        jieba: JiebaFeatures | None = None,
        char_lm: CharLMSpec | None = None,
        gazetteer: Gazetteer | None = None,
    ) -> None:
        """``fixed_words``: how many word ids, the last ones, are pretrained words never seen in
        training, whose vectors the model keeps fixed. ``lexicon_words``: the dictionary words with a
        SoftLexicon embedding (``features.lexicon_dim``). ``jieba``: an already loaded dictionary to use.
        ``char_lm``: the pretrained character language model's vocabulary and shape (``features.char_lm``).
        ``gazetteer``: the phrases of ``features.gazetteer``."""
        if not 0 <= fixed_words < len(words) - 1:
            raise ValueError(f"fixed_words must lie in [0, {len(words) - 1}), got {fixed_words}")
        self.config = config
        self.words = words
        self.fixed_words = fixed_words
        self.chars = chars
        self.bigrams = bigrams
        if config.char_encoder != "none" and chars is None:
            raise ValueError("a char encoder needs a character vocabulary")
        if config.bigram_dim and bigrams is None:
            raise ValueError("bigram features need a bigram vocabulary")
        if config.lexicon_dim and lexicon_words is None:
            raise ValueError("lexicon word embeddings need a lexicon word vocabulary")
        if config.char_lm and char_lm is None:
            raise ValueError("features.char_lm needs the language model's vocabulary")
        if config.gazetteer and gazetteer is None:
            raise ValueError("features.gazetteer needs the gazetteer's phrases")
        self.gazetteer = gazetteer if config.gazetteer else None
        self.lexicon_words = lexicon_words
        self.char_lm = char_lm if config.char_lm else None
        self._segment_keys = bool(config.doc_memory) and config.doc_memory_key == "segment"
        self._unknown_lexicon = [lexicon_words[w] for w in UNKNOWN_WORDS] if lexicon_words else []
        needs_jieba = (
            config.softword_dim or config.pos_dim or config.lexicon or config.lexicon_dim or self._segment_keys
        )
        self._jieba = (jieba or JiebaFeatures()) if needs_jieba else None
        if config.pos_dim and self._jieba is not None:
            self._jieba.load_pos_tagger()  # now, not on a served model's first request
        # Per-token features depend on the token string alone; texts repeat tokens, so remember them.
        self._token_features = lru_cache(maxsize=TOKEN_CACHE_SIZE)(self._features_of)

    def word_key(self, token: str) -> str:
        """The string a token is looked up by in the word vocabulary."""
        return word_key(token, self.config)

    @classmethod
    def build(
        cls, config: FeatureConfig, sentences: Sequence[Sequence[str]], pretrained_words: Sequence[str] = ()
    ) -> Featurizer:
        """Vocabularies from training sentences, the word vocabulary extended by ``pretrained_words``
        (already in lookup form) so unseen words keep their pretrained vectors: those come last, as
        the featurizer's ``fixed_words``."""
        word_counts = Counter(word_key(t, config) for s in sentences for t in s)
        trained_words = Vocab.build(word_counts, min_count=config.word_min_count)
        words = trained_words.extended(pretrained_words)
        chars = bigrams = None
        if config.char_encoder != "none":
            chars = Vocab.build(Counter(c for s in sentences for t in s for c in t))
        if config.bigram_dim:
            counts = Counter(b for s in sentences for b in bigram_keys(s))
            bigrams = Vocab.build(counts, min_count=config.bigram_min_count, max_size=config.bigram_max_size)
        jieba = lexicon_words = None
        if config.lexicon_dim:
            jieba = JiebaFeatures()
            counts = Counter(m.word for s in sentences for m in jieba.matches("".join(s)))
            lexicon_words = Vocab.build(
                counts, min_count=config.lexicon_min_count, max_size=config.lexicon_max_size, extra=UNKNOWN_WORDS
            )
        fixed_words = len(words) - len(trained_words)
        char_lm = load_char_lm(config.char_lm, weights=False)[0] if config.char_lm else None  # the spec alone
        gazetteer = (
            load_gazetteer(config.gazetteer, chars=config.lang == "zh", max_tokens=config.gazetteer_max_tokens)
            if config.gazetteer
            else None
        )
        return cls(
            config,
            words,
            chars,
            bigrams,
            fixed_words=fixed_words,
            lexicon_words=lexicon_words,
            jieba=jieba,
            char_lm=char_lm,
            gazetteer=gazetteer,
        )

    def _features_of(self, token: str) -> tuple[int, int, tuple[int, ...]]:
        """(word id, casing id, character ids) of one token; casing and characters 0/() when unused."""
        cfg = self.config
        chars = tuple(self.chars.lookup(token[: cfg.char_max_len])) if self.chars is not None else ()
        return self.words[self.word_key(token)], casing(token) if cfg.casing_dim else 0, chars

    def encode(self, tokens: Sequence[str]) -> Encoded:
        """Feature ids for one sentence (at least one token)."""
        cfg = self.config
        per_token = [self._token_features(t) for t in tokens]
        enc = Encoded(words=[f[0] for f in per_token])
        if cfg.casing_dim:
            enc.casing = [f[1] for f in per_token]
        if cfg.doc_memory and not self._segment_keys:
            enc.keys = [self.word_key(t) for t in tokens]
        if self.chars is not None:
            enc.chars = [f[2] for f in per_token]
        if self.bigrams is not None:
            enc.bigrams = self.bigrams.lookup(bigram_keys(tokens))
        if self.char_lm is not None:
            enc.lm_chars, enc.lm_firsts, enc.lm_lasts = self.char_lm.encode(tokens)
        if self.gazetteer is not None:
            enc.gazetteer = self.gazetteer.flags(tokens)
        if self._jieba is not None:
            text = "".join(tokens)
            starts = char_offsets(tokens)
            from_segmentation = cfg.pos_dim > 0 and cfg.pos_source == "segmentation"
            cut = cfg.softword_dim or self._segment_keys or from_segmentation
            words = self._jieba.cut(text) if cut else []
            if cfg.softword_dim:
                per_char = self._jieba.softword(text, words)
                enc.softword = [per_char[i] for i in starts]
            if cfg.pos_dim:
                per_char_pos = self._jieba.pos_tags(text, words if from_segmentation else None)
                enc.pos = [per_char_pos[i] for i in starts]
            if self._segment_keys:
                keys = segment_keys(words)
                enc.keys = [keys[i] for i in starts]
            matches = list(self._jieba.matches(text)) if cfg.lexicon or cfg.lexicon_dim else []
            if cfg.lexicon:
                per_char_lex = lexicon_flags(matches, len(text))
                enc.lexicon = [per_char_lex[i] for i in starts]
            if cfg.lexicon_dim:
                per_char_words = self._lexicon_words(matches, len(text))
                enc.lexicon_words = [per_char_words[i] for i in starts]
        return enc

    def _lexicon_words(self, matches: Sequence[Match], length: int) -> list[list[tuple[int, int, float]]]:
        """Per character of a text of ``length`` characters: (position set, word id, weight) of each
        dictionary word among the text's ``matches`` covering it.
        Within a position set the weights are the words' log jieba frequencies, scaled to sum to 1, so a
        set's weighted sum is a frequency-weighted mean. SoftLexicon (Ma et al., 2020) weights by raw
        counts over all sets at once; with jieba's frequencies, which span six orders of magnitude, that
        leaves a rare long word (often the name itself) next to nothing beside a common short one."""
        assert self.lexicon_words is not None
        found: list[list[tuple[int, int, float]]] = [[] for _ in range(length)]
        vocab, unknown = self.lexicon_words, self._unknown_lexicon
        for m in matches:
            word = vocab[m.word] if m.word in vocab else unknown[m.group]
            for j, position in covered(m):
                found[j].append((position, word, math.log1p(m.freq)))
        for words in found:
            totals = [0.0] * len(LEXICON_POSITIONS)
            for position, _, weight in words:
                totals[position] += weight
            words[:] = [(p, i, w / totals[p]) for p, i, w in words]
        return found

    def collate(
        self,
        items: Sequence[Encoded],
        tags: Sequence[Sequence[int]] | None = None,
        windows: Sequence[object] | None = None,
    ) -> Batch:
        """Pad encoded sentences into a :class:`Batch`; ``tags`` are label ids, if training; ``windows``
        the document-memory window of each sentence (see :func:`memory_windows`; default: each alone)."""
        t = max(len(e.words) for e in items)
        mask = _padded([[1] * len(e.words) for e in items], t, torch.bool)
        batch = Batch(words=_padded([e.words for e in items], t), mask=mask)
        for name in ("casing", "bigrams", "softword", "pos"):
            if getattr(items[0], name) is not None:
                setattr(batch, name, _padded([getattr(e, name) for e in items], t))
        if items[0].chars is not None:
            rows: dict[Sequence[int], int] = {(): 0}  # distinct character sequences; row 0 for padding
            index = [[rows.setdefault(tuple(w), len(rows)) for w in e.chars or ()] for e in items]
            longest = max(max(map(len, rows)), 1)
            batch.chars = _padded(list(rows), longest)
            batch.char_index = _padded(index, t)
        if items[0].lexicon is not None:
            batch.lexicon = _multi_hot([e.lexicon or [] for e in items], t, LEXICON_SIZE)
        if items[0].gazetteer is not None:
            assert self.gazetteer is not None
            batch.gazetteer = _multi_hot([e.gazetteer or [] for e in items], t, self.gazetteer.size)
        if items[0].lexicon_words is not None:
            sets = len(LEXICON_POSITIONS)
            flat = [
                (word, (i * t + j) * sets + position, weight)
                for i, e in enumerate(items)
                for j, matched in enumerate(e.lexicon_words or ())
                for position, word, weight in matched
            ]
            batch.lexicon_ids = torch.tensor([f[0] for f in flat], dtype=torch.long)
            batch.lexicon_bags = torch.tensor([f[1] for f in flat], dtype=torch.long)
            batch.lexicon_weights = torch.tensor([f[2] for f in flat], dtype=torch.float)
        if items[0].keys is not None:
            groups: dict[tuple[object, str], int] = {}
            owners = range(len(items)) if windows is None else windows
            batch.word_groups = _padded(
                [[groups.setdefault((w, k), len(groups) + 1) for k in e.keys or ()] for w, e in zip(owners, items)], t
            )
        if items[0].lm_chars is not None:
            batch.lm_chars = _padded([e.lm_chars or () for e in items], max(len(e.lm_chars or ()) for e in items))
            batch.lm_firsts = _padded([e.lm_firsts or () for e in items], t)
            batch.lm_lasts = _padded([e.lm_lasts or () for e in items], t)
        if tags is not None:
            batch.tags = _padded(tags, t)
        return batch


def _multi_hot(rows: Sequence[Sequence[Sequence[int]]], width: int, size: int) -> torch.Tensor:
    """Per row and token, the active flag indices as a (len(rows), width, size) float tensor of zeros and ones."""
    flags = torch.zeros(len(rows) * width * size)
    on = [(i * width + j) * size + f for i, row in enumerate(rows) for j, active in enumerate(row) for f in active]
    flags[on] = 1.0
    return flags.view(len(rows), width, size)


def _padded(rows: Sequence[Sequence[int]], width: int, dtype: torch.dtype = torch.long) -> torch.Tensor:
    """Rows right-padded with zeros to ``width``, as one tensor: (len(rows), width)."""
    return torch.tensor([[*row, *(0,) * (width - len(row))] for row in rows], dtype=dtype)


def pack_sequences(groups: Sequence[object], lengths: Sequence[int], max_tokens: int) -> list[list[int]]:
    """Indices of consecutive items packed into runs of the same group with at most ``max_tokens``
    tokens in all (an item longer than that stands alone). ``max_tokens <= 0`` keeps items apart."""
    runs: list[list[int]] = []
    total = 0
    for i, (group, length) in enumerate(zip(groups, lengths)):
        if runs and max_tokens > 0 and groups[runs[-1][-1]] == group and total + length <= max_tokens:
            runs[-1].append(i)
            total += length
        else:
            runs.append([i])
            total = length
    return runs


def memory_windows(docs: Sequence[object], size: int) -> list[list[int]]:
    """Indices of consecutive sentences of one document (``docs``: each sentence's document) in windows
    of at most ``size`` sentences, which share a document memory; ``size <= 0``: each sentence alone."""
    return pack_sequences(docs, [1] * len(docs), size)


def pack_sentences(sentences: Sequence[Sentence], max_tokens: int) -> list[Sentence]:
    """Neighbouring sentences of one document joined into sequences of at most ``max_tokens`` tokens."""
    if max_tokens <= 0:
        return list(sentences)
    runs = pack_sequences([s.doc_id for s in sentences], [len(s.tokens) for s in sentences], max_tokens)
    return [
        Sentence(
            tuple(t for i in run for t in sentences[i].tokens),
            tuple(t for i in run for t in sentences[i].tags),
            sentences[run[0]].doc_id,
            sentences[run[0]].line,
        )
        for run in runs
    ]


def word_key(token: str, config: FeatureConfig) -> str:
    """The string a token is looked up by in the word vocabulary (lower-cased, digits as 0)."""
    if config.lowercase:
        token = token.lower()
    if config.normalize_digits:
        token = _DIGITS.sub("0", token)
    return token


def bigram_keys(tokens: Sequence[str]) -> list[str]:
    return [a + b for a, b in zip(tokens, [*tokens[1:], END])]
