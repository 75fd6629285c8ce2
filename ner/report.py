"""Error analysis of predicted entity spans against gold spans, and the Markdown evaluation report.

Precision, recall and F1 always come from seqeval (:func:`ner.evaluate.score`); this module explains
them. Every predicted span is paired with at most one gold span it overlaps and put in one category:

- ``exact``: same boundaries, same type (a seqeval true positive);
- ``type``: same boundaries, another type;
- ``boundary``: overlapping, other boundaries, same type;
- ``boundary+type``: overlapping, other boundaries, another type;
- ``spurious``: no gold span overlaps it.

A gold span that no predicted span overlaps is ``missed``. When a prediction overlaps several gold
spans it is paired with the best one (same boundaries first, then the same type, then the largest
overlap, then the leftmost); a gold span overlapped only by predictions paired elsewhere (two gold
entities merged into one prediction) is then in no category, so the categories count error *events*:
``exact + type + boundary + boundary+type + spurious`` is the number of predicted spans, and
``exact`` equals seqeval's true positives.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ner.tags import to_spans
from ner.types import Span

Kind = Literal["exact", "type", "boundary", "boundary+type", "missed", "spurious"]
KINDS: tuple[Kind, ...] = ("exact", "type", "boundary", "boundary+type", "missed", "spurious")
KIND_NAMES: dict[Kind, str] = {
    "exact": "exact match",
    "type": "type error, same boundaries",
    "boundary": "boundary error, same type",
    "boundary+type": "boundary and type error",
    "missed": "missed (no overlapping prediction)",
    "spurious": "spurious (no overlapping gold span)",
}
MISSED, SPURIOUS = "missed", "spurious"  # the extra column and row of the confusion table


@dataclass(frozen=True)
class Match:
    """One categorised event: a predicted span and its paired gold span (either may be ``None``)."""

    kind: Kind
    gold: Span | None
    pred: Span | None


def _overlap(a: Span, b: Span) -> int:
    return max(0, min(a.end, b.end) - max(a.start, b.start))


def classify(gold: Sequence[Span], pred: Sequence[Span]) -> list[Match]:
    """Categorise the predicted and gold spans of one sentence (see the module docstring).

    Spans within ``gold`` (and within ``pred``) must not overlap each other. Matches come in order of
    the predicted spans, then the missed gold spans in order.
    """
    matches: list[Match] = []
    overlapped: set[Span] = set()
    for p in sorted(pred, key=lambda s: s.start):
        candidates = [g for g in gold if _overlap(g, p) > 0]
        overlapped.update(candidates)
        if not candidates:
            matches.append(Match("spurious", None, p))
            continue
        best = min(
            candidates,
            key=lambda g: ((g.start, g.end) != (p.start, p.end), g.label != p.label, -_overlap(g, p), g.start),
        )
        same_bounds = (best.start, best.end) == (p.start, p.end)
        same_type = best.label == p.label
        kind: Kind = (
            ("exact" if same_type else "type") if same_bounds else ("boundary" if same_type else "boundary+type")
        )
        matches.append(Match(kind, best, p))
    matches.extend(Match("missed", g, None) for g in sorted(gold, key=lambda s: s.start) if g not in overlapped)
    return matches


@dataclass
class Analysis:
    """Error categories and the type confusion table over a corpus.

    ``confusion[gold_type][pred_type]`` counts paired spans; the column :data:`MISSED` holds missed gold
    spans and the row :data:`SPURIOUS` spurious predictions.
    """

    kinds: Counter[str] = field(default_factory=Counter)
    confusion: dict[str, Counter[str]] = field(default_factory=dict)
    wrong: list[int] = field(default_factory=list)  # indices of sentences with any non-exact match
    matches: list[list[Match]] = field(default_factory=list)  # per sentence

    @property
    def errors(self) -> int:
        """Events other than exact matches."""
        return sum(n for kind, n in self.kinds.items() if kind != "exact")


def analyze(gold: Sequence[Sequence[Span]], pred: Sequence[Sequence[Span]]) -> Analysis:
    """:func:`classify` every sentence and add up the categories and the confusion table."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")
    result = Analysis()
    for i, (g, p) in enumerate(zip(gold, pred)):
        matches = classify(g, p)
        result.matches.append(matches)
        for m in matches:
            result.kinds[m.kind] += 1
            row = m.gold.label if m.gold is not None else SPURIOUS
            col = m.pred.label if m.pred is not None else MISSED
            result.confusion.setdefault(row, Counter())[col] += 1
        if any(m.kind != "exact" for m in matches):
            result.wrong.append(i)
    return result


def analyze_tags(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> Analysis:
    """:func:`analyze` on BIOES tag sequences."""
    return analyze([to_spans(g, "bioes")[0] for g in gold], [to_spans(p, "bioes")[0] for p in pred])


def sample_wrong(analysis: Analysis, size: int, seed: int = 0) -> list[int]:
    """A deterministic random sample of at most ``size`` wrong sentence indices, in corpus order."""
    wrong = analysis.wrong
    return sorted(random.Random(seed).sample(wrong, min(size, len(wrong))))


# ---------------------------------------------------------------------------------------------- Markdown


def _escape(text: str) -> str:
    """Text safe inside a Markdown table cell (no emphasis, links, code or cell breaks)."""
    for ch in "\\`*_[]<>|~#":
        text = text.replace(ch, "\\" + ch)
    return text


def _table(header: Sequence[str], rows: Sequence[Sequence[object]], numeric: bool = True) -> list[str]:
    """A Markdown table; with ``numeric`` every column after the first is right-aligned."""
    rule = ["---"] + ["---:" if numeric else "---"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def mark_spans(tokens: Sequence[str], spans: Sequence[Span], joiner: str) -> str:
    """Markdown of a sentence with each span in bold followed by its label: ``**Angela Merkel**/PER``."""
    starts = {s.start: s for s in spans}
    out: list[str] = []
    i = 0
    while i < len(tokens):
        span = starts.get(i)
        if span is not None:
            out.append(f"**{_escape(joiner.join(tokens[span.start : span.end]))}**/{_escape(span.label)}")
            i = span.end
        else:
            out.append(_escape(tokens[i]))
            i += 1
    return joiner.join(out)


def _describe(m: Match, tokens: Sequence[str], joiner: str) -> str:
    def text(s: Span) -> str:
        return _escape(joiner.join(tokens[s.start : s.end]))

    if m.kind == "missed" and m.gold is not None:
        return f"missed {text(m.gold)}/{m.gold.label}"
    if m.kind == "spurious" and m.pred is not None:
        return f"spurious {text(m.pred)}/{m.pred.label}"
    assert m.gold is not None and m.pred is not None
    return f"{m.kind}: {text(m.gold)}/{m.gold.label} → {text(m.pred)}/{m.pred.label}"


@dataclass(frozen=True)
class ReportInput:
    """What the report describes: the model, the data, seqeval's scores and the evaluated sentences."""

    model: str
    data: str
    lang: str
    scores: dict[str, Any]  # :func:`ner.evaluate.score` output, plus "sentences" and "tokens"
    tokens: Sequence[Sequence[str]]  # the evaluated sequences
    gold: Sequence[Sequence[str]]  # BIOES tags
    pred: Sequence[Sequence[str]]
    lines: Sequence[int]  # 1-based line of each sequence's first token in ``data``


def render_markdown(
    inp: ReportInput, analysis: Analysis, sample_size: int = 20, seed: int = 0, chart: str | None = None
) -> str:
    """The evaluation report as Markdown."""
    s = inp.scores
    types = sorted(s["per_type"])
    joiner = "" if inp.lang == "zh" else " "
    n_pred = sum(analysis.kinds[k] for k in KINDS if k != "missed")
    n_gold = sum(v["support"] for v in s["per_type"].values())
    lines = [
        f"# Evaluation report: `{inp.model}` on `{Path(inp.data).name}`",
        "",
        f"Model `{inp.model}`, gold file `{inp.data}`: {s.get('sentences', len(inp.tokens))} sentences, "
        f"{s.get('tokens', sum(map(len, inp.tokens)))} tokens, {n_gold} gold and {n_pred} predicted entities. "
        "Entity-level scores from seqeval (strict mode, IOBES): an entity counts only with exact boundaries and type.",
        "",
        "## Scores",
        "",
    ]
    rows: list[list[object]] = [
        [t, f"{v['precision']:.4f}", f"{v['recall']:.4f}", f"{v['f1']:.4f}", v["support"]]
        for t, v in ((t, s["per_type"][t]) for t in types)
    ]
    rows.append(["**overall** (micro)", f"{s['precision']:.4f}", f"{s['recall']:.4f}", f"**{s['f1']:.4f}**", n_gold])
    lines += _table(["type", "precision", "recall", "F1", "support"], rows)
    if chart:
        lines += ["", f"![precision, recall and F1 per type]({chart})"]
    lines += [
        "",
        "## Confusion between entity types",
        "",
        "Rows: gold type; columns: predicted type of the paired prediction. A prediction is paired with the "
        f"gold span it overlaps best; `{MISSED}`: a gold span no prediction overlaps; `{SPURIOUS}`: a "
        "prediction that overlaps no gold span. The diagonal includes boundary errors of the right type.",
        "",
    ]
    cols = [*types, MISSED]
    conf_rows: list[list[object]] = []
    for row in [*types, SPURIOUS]:
        counts = analysis.confusion.get(row, Counter())
        conf_rows.append(
            [f"**{row}**", *(counts.get(c, 0) if not (row == SPURIOUS and c == MISSED) else "" for c in cols)]
        )
    lines += _table(["gold \\ predicted", *cols], conf_rows)
    total = sum(analysis.kinds.values())
    lines += [
        "",
        "## Error patterns",
        "",
        "Each prediction in one category, plus the missed gold spans (see `ner/report.py` for the pairing "
        "rule). `exact match` equals seqeval's true positives.",
        "",
    ]
    ranked = sorted(KINDS, key=lambda k: (k != "exact", -analysis.kinds[k], KINDS.index(k)))
    errors = analysis.errors
    lines += _table(
        ["pattern", "count", "share of all", "share of errors"],
        [
            [
                KIND_NAMES[k],
                analysis.kinds[k],
                f"{analysis.kinds[k] / total:.1%}" if total else "-",
                "-" if k == "exact" else (f"{analysis.kinds[k] / errors:.1%}" if errors else "-"),
            ]
            for k in ranked
        ],
    )
    sample = sample_wrong(analysis, sample_size, seed)
    lines += [
        "",
        f"## Wrong sentences ({len(sample)} of {len(analysis.wrong)}, a fixed random sample)",
        "",
        "Entities in bold, followed by their type.",
        "",
    ]
    if sample:
        sample_rows = []
        for i in sample:
            tokens = inp.tokens[i]
            gold_spans = to_spans(inp.gold[i], "bioes")[0]
            pred_spans = to_spans(inp.pred[i], "bioes")[0]
            problems = "; ".join(_describe(m, tokens, joiner) for m in analysis.matches[i] if m.kind != "exact")
            sample_rows.append(
                [
                    f"{Path(inp.data).name}:{inp.lines[i]}",
                    mark_spans(tokens, gold_spans, joiner),
                    mark_spans(tokens, pred_spans, joiner),
                    problems,
                ]
            )
        lines += _table(["line", "gold", "predicted", "errors"], sample_rows, numeric=False)
    else:
        lines.append("No wrong sentences." if not analysis.wrong else "No sample requested.")
    lines += ["", f"Written by `ner evaluate --report`; sample seed {seed}.", ""]
    return "\n".join(lines)


def write_report(
    out_dir: str | Path, inp: ReportInput, sample_size: int = 20, seed: int = 0, chart: bool = True
) -> list[Path]:
    """Write ``out_dir/report.md`` (and ``out_dir/per_type.png`` when matplotlib is installed).

    Returns:
        The files written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    chart_name: str | None = None
    if chart:
        from ner import plots

        png = plots.try_plot(
            plots.per_type_chart,
            inp.scores["per_type"],
            out / plots.PER_TYPE_FILE,
            title=f"{inp.model} on {Path(inp.data).name}",
        )
        if png is not None:
            written.append(png)
            chart_name = png.name
    analysis = analyze_tags(inp.gold, inp.pred)
    path = out / "report.md"
    path.write_text(render_markdown(inp, analysis, sample_size, seed, chart_name), encoding="utf-8")
    written.insert(0, path)
    return written
