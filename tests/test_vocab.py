"""Vocab: building by frequency and extending with extra items."""

from collections import Counter

import pytest

from ner.vocab import PAD, UNK, Vocab


def test_build_ranks_by_count_then_string_and_appends_extra():
    vocab = Vocab.build(Counter({"b": 2, "a": 2, "c": 5, "rare": 1}), min_count=2, extra=["z", "a", "y"])
    assert vocab.items == (PAD, UNK, "c", "a", "b", "z", "y")


def test_extended_keeps_order_skips_duplicates_and_leaves_original_unchanged():
    base = Vocab([PAD, UNK, "x", "y"])
    longer = base.extended(["y", "q", "x", "r", "q", UNK])
    assert longer.items == (PAD, UNK, "x", "y", "q", "r")
    assert base.items == (PAD, UNK, "x", "y")
    assert [longer[s] for s in ("x", "q", "r", "unseen")] == [2, 4, 5, 1]


def test_vocab_rejects_repeats_and_missing_specials():
    with pytest.raises(ValueError):
        Vocab([PAD, UNK, "a", "a"])
    with pytest.raises(ValueError):
        Vocab(["a", PAD, UNK])
