"""Tag schemes: conversions, round trips, conlleval slip reading, detection and BIOES transitions."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ner.tags import (
    SCHEME_PREFIXES,
    SCHEMES,
    TagError,
    allowed_transitions,
    bioes_labels,
    bioes_to,
    detect_scheme,
    from_spans,
    split_tag,
    to_bioes,
    to_spans,
)
from ner.types import Span

# Fast and reproducible: the same examples on every run, nothing written to .hypothesis/.
FAST = settings(max_examples=150, deadline=None, derandomize=True, database=None)

LABELS = ("PER", "LOC", "ORG")

# One sentence per row, written out by hand in every scheme.
EXAMPLES: dict[str, dict[str, list[str]]] = {
    "empty sentence": {"bioes": [], "iob1": [], "bio": [], "bmes": [], "bilou": []},
    "all O": {s: ["O", "O", "O"] for s in SCHEMES},
    "single token": {
        "bioes": ["S-PER", "O"],
        "iob1": ["I-PER", "O"],
        "bio": ["B-PER", "O"],
        "bmes": ["S-PER", "O"],
        "bilou": ["U-PER", "O"],
    },
    "adjacent same-type singles": {
        "bioes": ["S-PER", "S-PER"],
        "iob1": ["I-PER", "B-PER"],
        "bio": ["B-PER", "B-PER"],
        "bmes": ["S-PER", "S-PER"],
        "bilou": ["U-PER", "U-PER"],
    },
    "adjacent same-type multi-token": {
        "bioes": ["B-PER", "E-PER", "B-PER", "I-PER", "E-PER"],
        "iob1": ["I-PER", "I-PER", "B-PER", "I-PER", "I-PER"],
        "bio": ["B-PER", "I-PER", "B-PER", "I-PER", "I-PER"],
        "bmes": ["B-PER", "E-PER", "B-PER", "M-PER", "E-PER"],
        "bilou": ["B-PER", "L-PER", "B-PER", "I-PER", "L-PER"],
    },
    "adjacent different types": {
        "bioes": ["B-ORG", "E-ORG", "S-LOC"],
        "iob1": ["I-ORG", "I-ORG", "I-LOC"],
        "bio": ["B-ORG", "I-ORG", "B-LOC"],
        "bmes": ["B-ORG", "E-ORG", "S-LOC"],
        "bilou": ["B-ORG", "L-ORG", "U-LOC"],
    },
    "sentence-final multi-token": {
        "bioes": ["O", "O", "B-LOC", "E-LOC"],
        "iob1": ["O", "O", "I-LOC", "I-LOC"],
        "bio": ["O", "O", "B-LOC", "I-LOC"],
        "bmes": ["O", "O", "B-LOC", "E-LOC"],
        "bilou": ["O", "O", "B-LOC", "L-LOC"],
    },
    "sentence-final single": {
        "bioes": ["O", "S-MISC"],
        "iob1": ["O", "I-MISC"],
        "bio": ["O", "B-MISC"],
        "bmes": ["O", "S-MISC"],
        "bilou": ["O", "U-MISC"],
    },
    "whole sentence one entity": {
        "bioes": ["B-LOC", "I-LOC", "E-LOC"],
        "iob1": ["I-LOC", "I-LOC", "I-LOC"],
        "bio": ["B-LOC", "I-LOC", "I-LOC"],
        "bmes": ["B-LOC", "M-LOC", "E-LOC"],
        "bilou": ["B-LOC", "I-LOC", "L-LOC"],
    },
    "mixed": {
        "bioes": ["S-PER", "O", "B-ORG", "I-ORG", "E-ORG", "S-ORG", "O"],
        "iob1": ["I-PER", "O", "I-ORG", "I-ORG", "I-ORG", "B-ORG", "O"],
        "bio": ["B-PER", "O", "B-ORG", "I-ORG", "I-ORG", "B-ORG", "O"],
        "bmes": ["S-PER", "O", "B-ORG", "M-ORG", "E-ORG", "S-ORG", "O"],
        "bilou": ["U-PER", "O", "B-ORG", "I-ORG", "L-ORG", "U-ORG", "O"],
    },
}
EXAMPLE_SPANS: dict[str, list[Span]] = {
    "empty sentence": [],
    "all O": [],
    "single token": [Span(0, 1, "PER")],
    "adjacent same-type singles": [Span(0, 1, "PER"), Span(1, 2, "PER")],
    "adjacent same-type multi-token": [Span(0, 2, "PER"), Span(2, 5, "PER")],
    "adjacent different types": [Span(0, 2, "ORG"), Span(2, 3, "LOC")],
    "sentence-final multi-token": [Span(2, 4, "LOC")],
    "sentence-final single": [Span(1, 2, "MISC")],
    "whole sentence one entity": [Span(0, 3, "LOC")],
    "mixed": [Span(0, 1, "PER"), Span(2, 5, "ORG"), Span(5, 6, "ORG")],
}
CASES = [(name, scheme) for name in EXAMPLES for scheme in SCHEMES]


def test_schemes_listed() -> None:
    assert set(SCHEMES) == {"iob1", "bio", "bioes", "bmes", "bilou"}


# --- hand-written conversions ----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "scheme"), CASES)
def test_bioes_to_scheme(name: str, scheme: str) -> None:
    bioes = tuple(EXAMPLES[name]["bioes"])
    assert bioes_to(bioes, scheme) == EXAMPLES[name][scheme]  # type: ignore[arg-type]
    assert bioes == tuple(EXAMPLES[name]["bioes"])


@pytest.mark.parametrize(("name", "scheme"), CASES)
def test_scheme_to_bioes_without_slips(name: str, scheme: str) -> None:
    tags = EXAMPLES[name][scheme]
    before = list(tags)
    assert to_bioes(tags, scheme) == (EXAMPLES[name]["bioes"], [])  # type: ignore[arg-type]
    assert tags == before


@pytest.mark.parametrize(("name", "scheme"), CASES)
def test_round_trip_through_scheme(name: str, scheme: str) -> None:
    bioes = EXAMPLES[name]["bioes"]
    back, slips = to_bioes(bioes_to(bioes, scheme), scheme)  # type: ignore[arg-type]
    assert back == bioes
    assert slips == []


@pytest.mark.parametrize(("name", "scheme"), CASES)
def test_to_spans_and_from_spans(name: str, scheme: str) -> None:
    tags = tuple(EXAMPLES[name][scheme])
    spans = EXAMPLE_SPANS[name]
    assert to_spans(tags, scheme) == (spans, [])  # type: ignore[arg-type]
    assert from_spans(tuple(spans), len(tags), scheme) == list(tags)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_bio_bioes_bio_round_trip(name: str) -> None:
    bio = EXAMPLES[name]["bio"]
    bioes, slips = to_bioes(bio, "bio")
    assert slips == []
    assert bioes_to(bioes, "bio") == bio


def test_from_spans_default_scheme_is_bioes_and_sorts_spans() -> None:
    spans = (Span(3, 4, "LOC"), Span(0, 2, "PER"))
    assert from_spans(spans, 5) == ["B-PER", "E-PER", "O", "S-LOC", "O"]
    assert spans == (Span(3, 4, "LOC"), Span(0, 2, "PER"))


@pytest.mark.parametrize(
    "spans",
    [
        [Span(0, 2, "PER"), Span(1, 3, "LOC")],  # overlap
        [Span(0, 2, "PER"), Span(0, 2, "PER")],  # duplicate
        [Span(2, 5, "PER")],  # past the end
        [Span(-1, 1, "PER")],  # before the start
        [Span(1, 1, "PER")],  # empty
    ],
)
def test_from_spans_rejects_bad_spans(spans: list[Span]) -> None:
    with pytest.raises(ValueError):
        from_spans(spans, 4, "bioes")


def test_labels_with_hyphens_survive() -> None:
    tags = ["B-GPE-X", "E-GPE-X", "O"]
    assert to_spans(tags, "bioes") == ([Span(0, 2, "GPE-X")], [])
    assert bioes_to(tags, "bio") == ["B-GPE-X", "I-GPE-X", "O"]


# --- property tests --------------------------------------------------------------------------------


@st.composite
def spans_and_length(draw: st.DrawFn) -> tuple[list[Span], int]:
    """Random non-overlapping spans (adjacent ones included) and a sentence length that holds them."""
    pieces = draw(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 4), st.sampled_from(LABELS)), max_size=6))
    spans: list[Span] = []
    pos = 0
    for gap, length, label in pieces:
        start = pos + gap
        spans.append(Span(start, start + length, label))
        pos = start + length
    return spans, pos + draw(st.integers(0, 3))


@pytest.mark.parametrize("scheme", SCHEMES)
@FAST
@given(data=spans_and_length())
def test_property_spans_round_trip(scheme: str, data: tuple[list[Span], int]) -> None:
    spans, n = data
    frozen = tuple(spans)
    tags = from_spans(frozen, n, scheme)  # type: ignore[arg-type]
    assert len(tags) == n
    frozen_tags = tuple(tags)
    assert to_spans(frozen_tags, scheme) == (spans, [])  # type: ignore[arg-type]
    # Through BIOES and back.
    bioes, slips = to_bioes(frozen_tags, scheme)  # type: ignore[arg-type]
    assert slips == []
    assert bioes == from_spans(spans, n, "bioes")
    assert bioes_to(tuple(bioes), scheme) == tags  # type: ignore[arg-type]
    # Nothing was mutated.
    assert frozen == tuple(spans)
    assert frozen_tags == tuple(tags)


@FAST
@given(data=spans_and_length())
def test_property_bio_bioes_bio(data: tuple[list[Span], int]) -> None:
    spans, n = data
    bio = from_spans(spans, n, "bio")
    copy = list(bio)
    bioes, slips = to_bioes(bio, "bio")
    assert slips == []
    assert bioes_to(bioes, "bio") == bio
    assert bio == copy


def _tags_of(scheme: str) -> st.SearchStrategy[list[str]]:
    tags = ["O"] + [f"{p}-{label}" for p in sorted(SCHEME_PREFIXES[scheme]) for label in ("PER", "LOC")]
    return st.lists(st.sampled_from(tags), max_size=10)


@pytest.mark.parametrize("scheme", SCHEMES)
@FAST
@given(data=st.data())
def test_property_any_tags_become_valid_bioes(scheme: str, data: st.DataObject) -> None:
    """Arbitrary (possibly broken) tags decode to spans that BIOES encodes exactly and validly."""
    tags = data.draw(_tags_of(scheme))
    copy = list(tags)
    spans, slips = to_spans(tags, scheme)  # type: ignore[arg-type]
    assert all(0 <= i < len(tags) for i in slips)
    assert slips == sorted(set(slips))
    bioes, slips2 = to_bioes(tags, scheme)  # type: ignore[arg-type]
    assert slips2 == slips
    assert to_spans(bioes, "bioes") == (spans, [])
    assert to_bioes(bioes, "bioes") == (bioes, [])  # idempotent
    assert tags == copy


# --- IOB1 ------------------------------------------------------------------------------------------


def test_iob1_i_opening_is_not_a_slip() -> None:
    assert to_spans(["I-PER", "I-PER", "O"], "iob1") == ([Span(0, 2, "PER")], [])
    assert to_spans(["O", "I-LOC"], "iob1") == ([Span(1, 2, "LOC")], [])
    # The same tags read as BIO are slips.
    assert to_spans(["I-PER", "I-PER", "O"], "bio") == ([Span(0, 2, "PER")], [0])


def test_iob1_b_separates_adjacent_same_type() -> None:
    tags = ["I-PER", "I-PER", "B-PER", "I-PER", "O"]
    assert to_spans(tags, "iob1") == ([Span(0, 2, "PER"), Span(2, 4, "PER")], [])
    assert to_bioes(tags, "iob1") == (["B-PER", "E-PER", "B-PER", "E-PER", "O"], [])


def test_iob1_type_change_separates_without_b() -> None:
    assert to_spans(["I-PER", "I-LOC"], "iob1") == ([Span(0, 1, "PER"), Span(1, 2, "LOC")], [])


def test_iob1_encoding_uses_b_only_between_same_type() -> None:
    spans = [Span(0, 1, "PER"), Span(1, 2, "LOC"), Span(2, 3, "LOC"), Span(4, 5, "LOC")]
    assert from_spans(spans, 5, "iob1") == ["I-PER", "I-LOC", "B-LOC", "O", "I-LOC"]


# --- detection -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("corpus", "scheme"),
    [
        ([["I-PER", "I-PER", "O"], ["O", "I-LOC", "B-LOC"]], "iob1"),
        ([["O", "I-ORG"], ["I-PER", "B-PER", "I-PER"]], "iob1"),
        ([["B-PER", "I-PER"], ["O", "B-LOC"]], "bio"),
        ([["B-PER", "O", "B-LOC"]], "bio"),
        # B- opening after O or another type means BIO, even with I- slips elsewhere.
        ([["I-PER", "O", "B-LOC"]], "bio"),
        ([["I-PER", "B-LOC"]], "bio"),
        ([["O", "O"], []], "bio"),
        ([["B-PER", "I-PER", "E-PER", "O", "S-LOC"]], "bioes"),
        ([["S-PER"], ["O"]], "bioes"),
        ([["B-LOC", "E-LOC"], ["S-PER"]], "bioes"),
        ([["B-PER", "M-PER", "E-PER", "O", "S-LOC"]], "bmes"),
        ([["O"], ["M-PER", "E-PER"]], "bmes"),
        ([["U-PER", "O", "B-LOC", "L-LOC"]], "bilou"),
        ([["B-LOC", "I-LOC", "L-LOC"]], "bilou"),
    ],
)
def test_detect_scheme(corpus: list[list[str]], scheme: str) -> None:
    frozen = tuple(tuple(s) for s in corpus)
    assert detect_scheme(corpus) == scheme
    assert frozen == tuple(tuple(s) for s in corpus)


@pytest.mark.parametrize(
    "corpus",
    [
        [["I-PER", "M-PER"]],
        [["B-PER", "I-PER"], ["B-LOC", "M-LOC", "E-LOC"]],
        [["U-PER"], ["S-LOC"]],
        [["B-PER", "E-PER"], ["B-LOC", "L-LOC"]],
        [["M-PER", "L-PER"]],
    ],
)
def test_detect_scheme_mixed_prefixes_raise(corpus: list[list[str]]) -> None:
    with pytest.raises(TagError):
        detect_scheme(corpus)


@pytest.mark.parametrize("tag", ["X-PER", "B-", "PER", "b-PER", "", "-PER", "o"])
def test_malformed_tags_raise(tag: str) -> None:
    with pytest.raises(TagError):
        split_tag(tag)
    with pytest.raises(TagError):
        detect_scheme([["O", tag]])


def test_split_tag() -> None:
    assert split_tag("O") == ("O", "")
    assert split_tag("B-PER") == ("B", "PER")
    assert split_tag("U-GPE-X") == ("U", "GPE-X")


@pytest.mark.parametrize(
    ("tag", "scheme"),
    [("L-PER", "bioes"), ("M-PER", "bio"), ("E-PER", "iob1"), ("S-PER", "bilou"), ("I-PER", "bmes")],
)
def test_prefix_foreign_to_scheme_raises(tag: str, scheme: str) -> None:
    with pytest.raises(TagError):
        to_spans(["O", tag], scheme)  # type: ignore[arg-type]
    with pytest.raises(TagError):
        to_bioes([tag], scheme)  # type: ignore[arg-type]


# --- slips, read the conlleval way -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "scheme", "spans", "slips"),
    [
        (["O", "I-PER", "I-PER"], "bio", [Span(1, 3, "PER")], [1]),
        (["I-PER", "I-LOC"], "bio", [Span(0, 1, "PER"), Span(1, 2, "LOC")], [0, 1]),
        (["B-PER", "I-LOC"], "bio", [Span(0, 1, "PER"), Span(1, 2, "LOC")], [1]),
        (["B-PER", "I-PER", "I-LOC", "O"], "bio", [Span(0, 2, "PER"), Span(2, 3, "LOC")], [2]),
        (["M-LOC", "E-LOC", "O"], "bmes", [Span(0, 2, "LOC")], [0]),
        (["M-LOC"], "bmes", [Span(0, 1, "LOC")], [0]),
        (["B-PER", "O"], "bioes", [Span(0, 1, "PER")], [0]),
        (["O", "B-PER"], "bioes", [Span(1, 2, "PER")], [1]),
        (["B-PER", "I-PER", "O"], "bioes", [Span(0, 2, "PER")], [1]),
        (["B-PER", "S-PER"], "bioes", [Span(0, 1, "PER"), Span(1, 2, "PER")], [0]),
        (["B-PER", "E-LOC"], "bioes", [Span(0, 1, "PER"), Span(1, 2, "LOC")], [0, 1]),
        (["O", "E-PER"], "bioes", [Span(1, 2, "PER")], [1]),
        (["S-PER", "I-PER", "E-PER"], "bioes", [Span(0, 1, "PER"), Span(1, 3, "PER")], [1]),
        (["E-PER", "E-PER"], "bioes", [Span(0, 1, "PER"), Span(1, 2, "PER")], [0, 1]),
        (["L-PER", "O"], "bilou", [Span(0, 1, "PER")], [0]),
        (["B-PER", "I-PER"], "bilou", [Span(0, 2, "PER")], [1]),
    ],
)
def test_slips(tags: list[str], scheme: str, spans: list[Span], slips: list[int]) -> None:
    assert to_spans(tuple(tags), scheme) == (spans, slips)  # type: ignore[arg-type]


def test_to_bioes_repairs_slips() -> None:
    assert to_bioes(["O", "I-PER", "I-PER"], "bio") == (["O", "B-PER", "E-PER"], [1])
    assert to_bioes(["M-LOC", "E-LOC"], "bmes") == (["B-LOC", "E-LOC"], [0])
    assert to_bioes(["B-PER", "O"], "bioes") == (["S-PER", "O"], [0])


# --- BIOES inventory and transitions ---------------------------------------------------------------

LABELS_LP = bioes_labels(["LOC", "PER"])


def test_bioes_labels() -> None:
    assert LABELS_LP == ["O", "B-LOC", "I-LOC", "E-LOC", "S-LOC", "B-PER", "I-PER", "E-PER", "S-PER"]
    assert bioes_labels(("PER", "LOC", "PER")) == LABELS_LP
    assert bioes_labels([]) == ["O"]


def _transitions() -> tuple[dict[str, bool], dict[str, bool], dict[tuple[str, str], bool]]:
    start, end, trans = allowed_transitions(tuple(LABELS_LP))
    n = len(LABELS_LP)
    assert len(start) == len(end) == len(trans) == n
    assert all(len(row) == n for row in trans)
    return (
        dict(zip(LABELS_LP, start, strict=True)),
        dict(zip(LABELS_LP, end, strict=True)),
        {(a, b): trans[i][j] for i, a in enumerate(LABELS_LP) for j, b in enumerate(LABELS_LP)},
    )


def test_allowed_start_and_end() -> None:
    start, end, _ = _transitions()
    assert {t for t, ok in start.items() if ok} == {"O", "B-LOC", "S-LOC", "B-PER", "S-PER"}
    assert {t for t, ok in end.items() if ok} == {"O", "E-LOC", "S-LOC", "E-PER", "S-PER"}


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("O", "I-PER"),
        ("O", "E-PER"),
        ("S-LOC", "I-LOC"),
        ("E-LOC", "E-LOC"),
        ("B-PER", "B-PER"),
        ("B-PER", "O"),
        ("B-PER", "S-PER"),
        ("B-PER", "I-LOC"),
        ("B-PER", "E-LOC"),
        ("I-PER", "O"),
        ("I-PER", "B-LOC"),
        ("I-PER", "S-PER"),
        ("I-LOC", "I-PER"),
    ],
)
def test_forbidden_transitions(a: str, b: str) -> None:
    assert _transitions()[2][(a, b)] is False


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("O", "O"),
        ("O", "B-PER"),
        ("O", "S-LOC"),
        ("B-PER", "I-PER"),
        ("B-PER", "E-PER"),
        ("I-LOC", "I-LOC"),
        ("I-LOC", "E-LOC"),
        ("E-PER", "O"),
        ("E-PER", "B-PER"),
        ("E-PER", "S-LOC"),
        ("S-PER", "S-PER"),
        ("S-PER", "B-LOC"),
        ("S-LOC", "O"),
    ],
)
def test_allowed_transitions(a: str, b: str) -> None:
    assert _transitions()[2][(a, b)] is True


@FAST
@given(tags=st.lists(st.sampled_from(LABELS_LP), max_size=8))
def test_property_transitions_agree_with_slips(tags: list[str]) -> None:
    """A BIOES sequence uses only allowed transitions exactly when decoding it finds no slips."""
    start, end, trans = _transitions()
    legal = not tags or (start[tags[0]] and end[tags[-1]] and all(trans[(a, b)] for a, b in pairwise(tags)))
    assert legal == (to_spans(tags, "bioes")[1] == [])
