"""Watching a training run: an overall progress bar with ETA, a per-epoch table, plots at the end.

:class:`TrainingMonitor` is called by :func:`ner.train.train` once per epoch and once at the end. The
table goes through ``logging`` (one header, then one aligned row per epoch), so it reaches a terminal
and a log file alike; the bar is tqdm's, shown only on a terminal unless asked for. At the end the
learning curve and per-type chart are drawn by :mod:`ner.plots` (skipped with a warning when
matplotlib is missing).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

logger = logging.getLogger(__name__)

_COLUMNS = (
    ("epoch", 7),
    ("loss", 9),
    ("dev P", 8),
    ("dev R", 8),
    ("dev F1", 8),
    ("best", 5),
    ("train s", 9),
    ("sent/s", 8),
    ("lr", 10),
)
TABLE_HEADER = "".join(name.rjust(width) for name, width in _COLUMNS)


def table_row(record: dict[str, Any], epochs: int) -> str:
    """One aligned row of the per-epoch table from a ``metrics.jsonl`` record."""
    cells = (
        f"{record['epoch']}/{epochs}",
        f"{record['loss']:.4f}",
        f"{record['dev_precision']:.4f}",
        f"{record['dev_recall']:.4f}",
        f"{record['dev_f1']:.4f}",
        "*" if record.get("best") else "",
        f"{record['train_seconds']:.1f}",
        f"{record['sentences_per_second']:.0f}",
        f"{record['lr']:.3g}",
    )
    return "".join(cell.rjust(width) for cell, (_, width) in zip(cells, _COLUMNS))


class TrainingMonitor:
    """Progress over the whole run (epochs, with ETA), the per-epoch table, and the final plots.

    Args:
        epochs: the most epochs the run may take (early stopping can end it sooner; the ETA assumes all).
        progress: show the bar (``None``: only on a terminal).
    """

    def __init__(self, epochs: int, progress: bool | None = None) -> None:
        self.epochs = epochs
        self._rows = 0
        self.bar = tqdm(
            total=epochs,
            desc="training",
            unit="epoch",
            disable=(not progress) if progress is not None else None,
            bar_format="{desc}: {n_fmt}/{total_fmt} epochs |{bar}| {elapsed} elapsed, ETA {remaining}{postfix}",
        )

    def epoch(self, record: dict[str, Any]) -> None:
        """Log the epoch's table row (after the header, the first time) and advance the bar."""
        with logging_redirect_tqdm():  # log lines above the bar instead of through it
            if self._rows == 0:
                logger.info(TABLE_HEADER)
            logger.info(table_row(record, self.epochs))
        self._rows += 1
        self.bar.set_postfix_str(f"dev F1 {record['dev_f1']:.4f}", refresh=False)
        self.bar.update(1)

    def close(self, out_dir: str | Path) -> list[Path]:
        """Close the bar and draw the run's learning curve and per-type chart into ``out_dir``."""
        self.bar.close()
        from ner import plots

        try:
            written = plots.render_run(out_dir)
        except (OSError, ValueError) as e:
            logger.warning("plots not written: %s", e)
            return []
        if written:
            logger.info("plots: %s", ", ".join(str(p) for p in written))
        return written
