"""Tag schemes: pure conversions between IOB1, BIO (IOB2), BMES, BILOU and BIOES, and tag spans.

BIOES is the only scheme used inside the library. Every other scheme is read by decoding it into
spans with conlleval's chunk rules (so a slip such as ``I-X`` after ``O`` in BIO opens an entity,
exactly as conlleval would score it) and re-encoding the spans as BIOES. Decoding also reports the
positions where the input broke its own scheme's rules ("slips"), so callers can warn about them.

Nothing here mutates its inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

from ner.types import Span

Scheme = Literal["iob1", "bio", "bioes", "bmes", "bilou"]
SCHEMES: tuple[str, ...] = get_args(Scheme)

# Each scheme's prefixes mapped to their conlleval role: B (begin), I (inside), E (end), S (single).
_ROLES: dict[str, dict[str, str]] = {
    "iob1": {"B": "B", "I": "I"},
    "bio": {"B": "B", "I": "I"},
    "bioes": {"B": "B", "I": "I", "E": "E", "S": "S"},
    "bmes": {"B": "B", "M": "I", "E": "E", "S": "S"},
    "bilou": {"B": "B", "I": "I", "L": "E", "U": "S"},
}
ALL_PREFIXES = frozenset(p for roles in _ROLES.values() for p in roles)
SCHEME_PREFIXES: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in _ROLES.items()}


class TagError(ValueError):
    """A tag that no supported scheme can read (unknown prefix, missing type, mixed schemes)."""


def split_tag(tag: str) -> tuple[str, str]:
    """Split ``"B-PER"`` into ``("B", "PER")``; ``"O"`` gives ``("O", "")``.

    Raises:
        TagError: the tag is not ``O`` and not ``PREFIX-TYPE`` with a known prefix and a type.
    """
    if tag == "O":
        return "O", ""
    prefix, sep, label = tag.partition("-")
    if not sep or not label:
        raise TagError(f"tag {tag!r} is neither 'O' nor PREFIX-TYPE")
    if prefix not in ALL_PREFIXES:
        raise TagError(f"tag {tag!r} has unknown prefix {prefix!r} (known: {', '.join(sorted(ALL_PREFIXES))})")
    return prefix, label


def detect_scheme(sentences: Sequence[Sequence[str]]) -> Scheme:
    """Guess the scheme of a corpus from its tags (each inner sequence is one sentence).

    E/S without M → BIOES, M → BMES, L/U → BILOU. Files with only B/I/O are IOB1 when some entity
    opens with ``I-`` and ``B-`` only ever separates two adjacent entities of one type (the original
    CoNLL-2003 release); otherwise BIO.

    Raises:
        TagError: the tags mix prefixes that belong to no single scheme, or a tag is malformed.
    """
    prefixes: set[str] = set()
    i_opens = 0
    b_after_other = 0
    for tags in sentences:
        prev_prefix, prev_label = "O", ""
        for tag in tags:
            prefix, label = split_tag(tag)
            prefixes.add(prefix)
            same = prev_prefix != "O" and prev_label == label
            if prefix == "I" and not same:
                i_opens += 1
            if prefix == "B" and not same:
                b_after_other += 1
            prev_prefix, prev_label = prefix, label
    prefixes.discard("O")
    for scheme in ("bio", "bioes", "bmes", "bilou"):
        if prefixes <= set(_ROLES[scheme]):
            if scheme == "bio" and i_opens and not b_after_other:
                return "iob1"
            return scheme  # type: ignore[return-value]
    raise TagError(f"tag prefixes {sorted(prefixes)} do not belong to one scheme")


def _role(tag: str, scheme: Scheme) -> tuple[str, str]:
    prefix, label = split_tag(tag)
    if prefix == "O":
        return "O", ""
    role = _ROLES[scheme].get(prefix)
    if role is None:
        raise TagError(f"tag {tag!r} is not valid in the {scheme} scheme")
    return role, label


def to_spans(tags: Sequence[str], scheme: Scheme) -> tuple[list[Span], list[int]]:
    """Decode tags into token spans with conlleval's chunk rules.

    Returns:
        ``(spans, slips)``: the entity spans, and the token indices where the tags broke the
        scheme's rules (an entity opened or closed by a tag that should not open or close it).
        For IOB1, ``I-`` opening an entity is the rule, not a slip.
    """
    spans: list[Span] = []
    slips: list[int] = []
    start = -1
    prev_role, prev_label = "O", ""
    for i, tag in enumerate(tags):
        role, label = _role(tag, scheme)
        # conlleval endOfChunk / startOfChunk on roles B, I, E, S, O.
        ends = prev_role in ("E", "S") or (prev_role in ("B", "I") and (role in ("B", "S", "O") or label != prev_label))
        starts = role in ("B", "S") or (role in ("I", "E") and (prev_role in ("E", "S", "O") or label != prev_label))
        if prev_role != "O" and ends:
            spans.append(Span(start, i, prev_label))
            # BIOES-like schemes must close explicitly with E or S.
            if scheme in ("bioes", "bmes", "bilou") and prev_role in ("B", "I"):
                slips.append(i - 1)
        if role != "O" and starts:
            start = i
            opens_ok = role in ("B", "S") or (scheme == "iob1" and role == "I")
            if not opens_ok:
                slips.append(i)
        prev_role, prev_label = role, label
    if prev_role != "O":
        spans.append(Span(start, len(tags), prev_label))
        if scheme in ("bioes", "bmes", "bilou") and prev_role in ("B", "I"):
            slips.append(len(tags) - 1)
    return spans, sorted(set(slips))


def from_spans(spans: Sequence[Span], length: int, scheme: Scheme = "bioes") -> list[str]:
    """Encode non-overlapping token spans as tags of ``scheme`` for a sentence of ``length`` tokens."""
    tags = ["O"] * length
    inv = {role: prefix for prefix, role in _ROLES[scheme].items()}
    prev_end, prev_label = -1, ""
    for span in sorted(spans, key=lambda s: s.start):
        if span.start < 0 or span.end > length or span.start >= span.end:
            raise ValueError(f"span {span} does not fit a sentence of {length} tokens")
        if span.start < prev_end:
            raise ValueError(f"span {span} overlaps the previous span")
        n = span.end - span.start
        if scheme == "iob1":
            adjacent = span.start == prev_end and span.label == prev_label
            tags[span.start] = f"{'B' if adjacent else 'I'}-{span.label}"
            for i in range(span.start + 1, span.end):
                tags[i] = f"I-{span.label}"
        elif n == 1 and "S" in inv:
            tags[span.start] = f"{inv['S']}-{span.label}"
        else:
            tags[span.start] = f"{inv['B']}-{span.label}"
            for i in range(span.start + 1, span.end):
                tags[i] = f"{inv['I']}-{span.label}"
            if "E" in inv:
                tags[span.end - 1] = f"{inv['E']}-{span.label}"
        prev_end, prev_label = span.end, span.label
    return tags


def to_bioes(tags: Sequence[str], scheme: Scheme) -> tuple[list[str], list[int]]:
    """Convert one sentence's tags from ``scheme`` to BIOES; also return the slip positions."""
    spans, slips = to_spans(tags, scheme)
    return from_spans(spans, len(tags), "bioes"), slips


def bioes_to(tags: Sequence[str], scheme: Scheme) -> list[str]:
    """Convert valid BIOES tags to ``scheme``."""
    spans, _ = to_spans(tags, "bioes")
    return from_spans(spans, len(tags), scheme)


def bioes_labels(types: Sequence[str]) -> list[str]:
    """The BIOES tag inventory for entity ``types``: ``O`` first, then B/I/E/S per sorted type."""
    return ["O"] + [f"{p}-{t}" for t in sorted(set(types)) for p in "BIES"]


def allowed_transitions(labels: Sequence[str]) -> tuple[list[bool], list[bool], list[list[bool]]]:
    """Which BIOES transitions are legal among ``labels``.

    Returns:
        ``(start, end, trans)``: ``start[j]`` whether a sentence may begin with ``labels[j]``,
        ``end[i]`` whether it may end with ``labels[i]``, ``trans[i][j]`` whether ``labels[j]`` may
        follow ``labels[i]``.
    """
    parsed = [split_tag(tag) for tag in labels]

    def can_follow(a: tuple[str, str], b: tuple[str, str]) -> bool:
        (pa, la), (pb, lb) = a, b
        if pa in ("B", "I"):  # inside an entity: continue or close it, same type
            return pb in ("I", "E") and la == lb
        return pb in ("O", "B", "S")  # after O, E, S: only something that opens or stays outside

    start = [p in ("O", "B", "S") for p, _ in parsed]
    end = [p in ("O", "E", "S") for p, _ in parsed]
    trans = [[can_follow(a, b) for b in parsed] for a in parsed]
    return start, end, trans
