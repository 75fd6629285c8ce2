"""The reliability scripts (scripts/reliability): their checks on tiny inputs, and a short real run of each."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts" / "reliability"
sys.path.insert(0, str(SCRIPTS))

import reload_under_load  # noqa: E402
import soak  # noqa: E402

TEXT = "Angela Merkel visited Paris."


def _entity(start: int, end: int, label: str = "PER", text: str = TEXT) -> dict[str, object]:
    return {"text": text[start:end], "label": label, "start": start, "end": end, "score": 0.9}


def test_well_formed_entities_pass() -> None:
    assert soak.entities_problem(TEXT, []) is None
    assert soak.entities_problem(TEXT, [_entity(0, 13), _entity(22, 27, "LOC")]) is None


@pytest.mark.parametrize(
    ("entities", "problem"),
    [
        ([_entity(22, 27), _entity(0, 13)], "out of order"),
        ([_entity(0, 13), _entity(7, 20)], "overlaps"),
        ([{**_entity(0, 13), "text": "Angela"}], "does not match"),
        ([_entity(0, 13) | {"end": 99}], "bad offsets"),
        ([_entity(0, 13) | {"score": 1.5}], "score"),
        ({"entities": []}, "not a list"),
    ],
)
def test_malformed_entities_are_caught(entities: object, problem: str) -> None:
    found = soak.entities_problem(TEXT, entities)
    assert found is not None and problem in found


def test_percentile_is_nearest_rank() -> None:
    values = list(range(1, 101))
    assert [soak.percentile(values, q) for q in (50, 95, 99, 100)] == [50, 95, 99, 100]
    assert soak.percentile([7.0], 99) == 7.0


@pytest.mark.parametrize(("reloads", "corrupt"), [(20, 3), (3, 1), (4, 0)])
def test_reload_schedule_alternates_and_ends_on_the_shipped_model(reloads: int, corrupt: int) -> None:
    plan = reload_under_load.schedule(["en"], reloads, corrupt)
    good = [kind for _, kind in plan if kind != "corrupt"]
    assert len(good) == reloads and sum(kind == "corrupt" for _, kind in plan) == corrupt
    assert good[-1] == "shipped" and all(a != b for a, b in zip(good, good[1:]))
    assert plan[0][1] != "corrupt" and plan[-1][1] != "corrupt"


def _run(script: str, *args: str, tmp_path: Path) -> tuple[str, dict[str, object]]:
    out = tmp_path / f"{script}.json"
    command = [sys.executable, str(SCRIPTS / f"{script}.py"), *args, "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout, json.loads(out.read_text())


def test_soak_runs_and_reports(tmp_path: Path) -> None:
    # find_spec, not importorskip: importing locust would monkey-patch this test process with gevent.
    if importlib.util.find_spec("locust") is None:
        pytest.skip("locust is not installed (pip install -e '.[load]')")
    stdout, report = _run("soak", "--minutes", "0.15", "--rate", "3", "--warmup", "2", tmp_path=tmp_path)
    assert "| request type | requests | req/s | errors | p50 ms | p95 ms | p99 ms | max ms |" in stdout
    assert "| **all** |" in stdout and "server RSS start → end" in stdout
    summary = report["summary"]
    assert summary["errors_total"] == 0 and summary["overall"]["requests"] > 0
    assert summary["rss_kib"]["start"] and summary["rss_kib"]["end"]


def test_reload_under_load_runs_and_reports(tmp_path: Path) -> None:
    args = ("--reloads", "3", "--corrupt", "1", "--threads", "2", "--interval", "0.2")
    stdout, report = _run("reload_under_load", *args, tmp_path=tmp_path)
    assert "| reloads ok | 3 of 3" in stdout and "| corrupt reloads refused with 422 | 1 of 1 |" in stdout
    assert report["failures"] == 0 and report["mismatches"] == 0 and report["requests"] > 0
