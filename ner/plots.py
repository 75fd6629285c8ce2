"""PNG plots of a training run and of evaluation scores (matplotlib, imported only when drawing).

- :func:`learning_curve`: training loss and dev precision/recall/F1 per epoch, best epoch marked, from
  a run's ``metrics.jsonl``;
- :func:`per_type_chart`: precision/recall/F1 bars per entity type, with support;
- :func:`render_run`: both, for a training output directory (also one trained before this module).

matplotlib is optional (the ``train`` and ``dev`` extras): :func:`try_plot` returns ``None`` and logs
a warning when it is missing, so training and evaluation work without it. Figures are drawn with the
object-oriented API on the Agg canvas, never through pyplot, so no global backend or state is touched.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.jsonl"
LEARNING_CURVE_FILE = "learning_curve.png"
PER_TYPE_FILE = "per_type.png"
_COLOURS = {"loss": "#444444", "precision": "#4c9be8", "recall": "#f28e2b", "f1": "#2ca02c"}


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The per-epoch records of a ``metrics.jsonl`` file (blank lines ignored).

    Raises:
        ValueError: a line is not a JSON object with ``epoch``, ``loss`` and ``dev_f1``; names file and line.
    """
    records = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as e:
            raise ValueError(f"{path}:{lineno}: not JSON: {e}") from None
        if not isinstance(record, dict) or not {"epoch", "loss", "dev_f1"} <= record.keys():
            raise ValueError(f"{path}:{lineno}: expected an object with epoch, loss and dev_f1")
        records.append(record)
    return records


def _figure(width: float, height: float, rows: int = 1) -> tuple[Any, Any]:
    from matplotlib.figure import Figure  # optional dependency: imported only when drawing

    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True) if rows > 1 else fig.subplots()
    return fig, axes


def learning_curve(records: Sequence[dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """Plot loss (top) and dev P/R/F1 (bottom) per epoch, marking the best dev F1; write a PNG."""
    if not records:
        raise ValueError("no epochs to plot")
    from matplotlib.ticker import MaxNLocator

    epochs = [r["epoch"] for r in records]
    fig, (top, bottom) = _figure(8, 6, rows=2)
    top.plot(epochs, [r["loss"] for r in records], marker=".", color=_COLOURS["loss"])
    top.set_ylabel("training loss\n(per sentence)")
    top.grid(alpha=0.3)
    for key in ("precision", "recall", "f1"):
        values = [r.get(f"dev_{key}") for r in records]
        if all(v is not None for v in values):
            style = {"linewidth": 2.2} if key == "f1" else {"linewidth": 1.0, "alpha": 0.8}
            bottom.plot(epochs, values, marker=".", color=_COLOURS[key], label=f"dev {key}", **style)
    best = max(records, key=lambda r: r["dev_f1"])
    for ax in (top, bottom):
        ax.axvline(best["epoch"], color="#999999", linestyle="--", linewidth=1)
    bottom.text(
        0.02,
        0.04,
        f"best dev F1 {best['dev_f1']:.4f} at epoch {best['epoch']} (dashed line)",
        transform=bottom.transAxes,
        bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "#bbbbbb"},
    )
    # Zoom on the plateau: the first epoch can sit far below it (its points then run off the axis).
    later = records[1:] if len(records) >= 5 else records
    shown = [v for r in later for k in ("precision", "recall", "f1") if (v := r.get(f"dev_{k}")) is not None]
    low, high = min(shown), max(shown)
    margin = max(0.005, 0.05 * (high - low))
    bottom.set_ylim(max(0.0, low - 4 * margin), min(1.0, high + margin))
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    bottom.set_ylabel("dev score (entity level)")
    bottom.set_xlabel("epoch")
    bottom.legend(loc="lower right")
    bottom.grid(alpha=0.3)
    fig.suptitle(title or "learning curve")
    out = Path(path)
    fig.savefig(out)
    return out


def per_type_chart(per_type: dict[str, dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """Grouped precision/recall/F1 bars per entity type (support under each type); write a PNG."""
    if not per_type:
        raise ValueError("no entity types to plot")
    types = sorted(per_type)
    fig, ax = _figure(max(5.0, 1.3 * len(types) + 2), 4)
    width = 0.26
    for k, key in enumerate(("precision", "recall", "f1")):
        xs = [i + (k - 1) * width for i in range(len(types))]
        bars = ax.bar(xs, [per_type[t][key] for t in types], width, label=key, color=_COLOURS[key])
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    ax.set_xticks(range(len(types)), [f"{t}\n({per_type[t]['support']})" for t in types])
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("score")
    ax.set_xlabel("entity type (gold support)")
    ax.legend(loc="lower right", ncols=3, fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title or "scores per entity type")
    out = Path(path)
    fig.savefig(out)
    return out


def try_plot(draw: Callable[..., Path], *args: Any, **kwargs: Any) -> Path | None:
    """Call a drawing function; if matplotlib is not installed, log that the plot was skipped."""
    try:
        return draw(*args, **kwargs)
    except ImportError as e:
        logger.warning("plots skipped: matplotlib is not installed (%s); pip install matplotlib", e)
        return None


def render_run(run_dir: str | Path, out_dir: str | Path | None = None, title: str = "") -> list[Path]:
    """The learning curve (from ``metrics.jsonl``) and, when the run has a checkpoint with per-type dev
    scores, the per-type chart of a training output directory; written to ``out_dir`` (default: the run).

    Returns:
        The files written; empty when matplotlib is missing.

    Raises:
        FileNotFoundError: the run has no ``metrics.jsonl``.
        ValueError: ``metrics.jsonl`` is malformed or empty.
    """
    run = Path(run_dir)
    out = Path(out_dir) if out_dir is not None else run
    metrics_path = run / METRICS_FILE
    if not metrics_path.is_file():
        raise FileNotFoundError(f"{metrics_path}: no such file (is {run} a training output directory?)")
    records = read_metrics(metrics_path)
    title = title or run.resolve().name
    out.mkdir(parents=True, exist_ok=True)
    written = [try_plot(learning_curve, records, out / LEARNING_CURVE_FILE, title=f"{title}: learning curve")]
    per_type = _best_dev_per_type(run)
    if per_type:
        written.append(try_plot(per_type_chart, per_type, out / PER_TYPE_FILE, title=f"{title}: best dev epoch"))
    return [p for p in written if p is not None]


def _best_dev_per_type(run: Path) -> dict[str, Any]:
    """Per-type dev scores saved with the run's best checkpoint, or ``{}``."""
    config = run / "model" / "config.json"
    if not config.is_file():
        return {}
    try:
        return dict(json.loads(config.read_text(encoding="utf-8"))["metrics"]["dev"]["per_type"])
    except (ValueError, KeyError, TypeError):
        return {}
