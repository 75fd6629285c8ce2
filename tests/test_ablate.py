"""scripts/ablate.py: a tiny plan trained for real, its summary, resuming, and a failing run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import EN_TRAIN, TINY

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "ablate.py"


def _plan(tmp_path: Path, variants: dict[str, list[str]]) -> Path:
    base = tmp_path / "base.toml"
    sections: dict[str, list[str]] = {}
    for item in TINY:
        key, value = item.split("=", 1)
        section, name = key.split(".")
        sections.setdefault(section, []).append(f"{name} = {json.dumps(_value(value))}")
    base.write_text("\n".join(f"[{s}]\n" + "\n".join(lines) for s, lines in sections.items()) + "\n")
    plan = tmp_path / "plan.toml"
    lines = [
        f"base = {json.dumps(str(base))}",
        'lang = "en"',
        f"train = {json.dumps(EN_TRAIN.name)}",
        f"dev = {json.dumps(EN_TRAIN.name)}",
        'protocol = ["train.epochs=2", "train.patience=2"]',
        "seeds = [1, 2]",
        "[variants]",
        *(f"{name} = {json.dumps(sets)}" for name, sets in variants.items()),
    ]
    plan.write_text("\n".join(lines) + "\n")
    return plan


def _value(text: str) -> object:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _ablate(plan: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(SCRIPT), str(plan), "--data", str(EN_TRAIN.parent), "--out", str(out), *extra]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)


def test_plan_is_trained_summarised_and_resumed(tmp_path: Path) -> None:
    plan = _plan(tmp_path, {"base": [], "no_casing": ["features.casing_dim=0"], "no_memory": ["features.doc_memory=0"]})
    out = tmp_path / "runs"
    proc = _ablate(plan, out, "--jobs", "2")
    assert proc.returncode == 0, proc.stderr
    assert "| base | `(base)` |" in proc.stdout and "| no_casing | `features.casing_dim=0` |" in proc.stdout
    assert "sentences alone (mean ± std) |" in proc.stdout
    for seed in (1, 2):  # the English default has a document memory: scored again with every sentence alone
        with_memory = json.loads((out / "base" / f"seed-{seed}" / "result.json").read_text())
        assert 0.0 <= with_memory["dev_f1_alone"] <= 1.0
        without = json.loads((out / "no_memory" / f"seed-{seed}" / "result.json").read_text())
        assert without["dev_f1_alone"] == without["dev_f1"]

    rows = json.loads((out / "summary.json").read_text())["rows"]
    assert [r["variant"] for r in rows] == ["base", "no_casing", "no_memory"]
    for row in rows:
        assert row["seeds"] == 2 and len(row["dev_f1"]) == 2 and len(row["dev_f1_alone"]) == 2
        assert 0.0 <= row["dev_f1_mean"] <= 1.0
    result = json.loads((out / "no_casing" / "seed-2" / "result.json").read_text())
    assert "--set features.casing_dim=0" in result["command"] and "--set train.seed=2" in result["command"]
    config = json.loads((out / "no_casing" / "seed-2" / "model" / "config.json").read_text())
    assert config["features"]["casing_dim"] == 0 and config["train"]["seed"] == 2

    # A second invocation finds every result and trains nothing.
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("*/seed-*/result.json")}
    again = _ablate(plan, out, "--summary-only")
    assert again.returncode == 0 and again.stdout == proc.stdout
    rerun = _ablate(plan, out)
    assert rerun.returncode == 0 and rerun.stdout == proc.stdout
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


def test_failing_run_names_its_log(tmp_path: Path) -> None:
    plan = _plan(tmp_path, {"broken": ["model.hidden_size=0"]})
    proc = _ablate(plan, tmp_path / "runs", "--jobs", "1")
    assert proc.returncode != 0
    assert "broken seed 1 failed" in proc.stderr and "train.log" in proc.stderr
    assert "hidden_size" in (tmp_path / "runs" / "broken" / "seed-1" / "train.log").read_text()


def test_plan_without_base_starts_from_ner_train_defaults(tmp_path: Path) -> None:
    plan = tmp_path / "plan.toml"
    sets = json.dumps([*(s for s in TINY if not s.startswith("train.seed")), "train.epochs=1"])
    lines = ['lang = "en"', f"train = {json.dumps(EN_TRAIN.name)}", f"protocol = {sets}", "seeds = [3]"]
    plan.write_text("\n".join([*lines, "[variants]", "defaults = []"]) + "\n")
    out = tmp_path / "runs"
    proc = _ablate(plan, out, "--jobs", "1")
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "defaults" / "seed-3" / "result.json").read_text())
    assert "--config" not in result["command"] and "--dev" not in result["command"]
    config = json.loads((out / "defaults" / "seed-3" / "model" / "config.json").read_text())
    assert config["train"]["seed"] == 3 and config["train"]["epochs"] == 1
    assert config["data"]["dev"]["held_out_from_train"] == 0.05, "no dev file: part of train held out"
