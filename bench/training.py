"""Training speed: seconds per epoch and sentences/s of the shipped English configuration, measured on a
short run of ``ner train`` (its own per-epoch figures from ``metrics.jsonl``), beside the recorded
training time of the shipped model (its checkpoint's ``metrics.train_seconds``)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def measure_epochs(train: Path, dev: Path, config: Path, epochs: int = 1, extra: Sequence[str] = ()) -> dict[str, Any]:
    """Run ``ner train`` for ``epochs`` epochs and return its per-epoch timings and the command's wall clock."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "ner.cli", "train", "--config", str(config), "--lang", "en"]
        command += ["--train", str(train), "--dev", str(dev), "--out", f"{tmp}/run"]
        for item in [*extra, f"train.epochs={epochs}"]:  # the last setting of a key wins
            command += ["--set", item]
        began = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        wall = time.perf_counter() - began
        rows = [json.loads(line) for line in Path(tmp, "run", "metrics.jsonl").read_text().splitlines() if line]
    seconds = [r["train_seconds"] for r in rows]
    return {
        "epochs": len(rows),
        "seconds_per_epoch": sum(seconds) / len(seconds),
        "sentences_per_s": sum(r["sentences_per_second"] for r in rows) / len(rows),
        "wall_seconds": wall,
        "command": " ".join(command[1:]).replace(tmp, "TMP"),
    }


def shipped_training(name: str = "en") -> dict[str, Any]:
    """What the shipped model's checkpoint recorded: training seconds to its best epoch, and that epoch."""
    config = json.loads((ROOT / "ner" / "models" / name / "config.json").read_text())
    metrics = config.get("metrics", {})
    return {
        "train_seconds": metrics.get("train_seconds"),
        "best_epoch": metrics.get("best_epoch"),
        "epochs_configured": config.get("train", {}).get("epochs"),
    }
