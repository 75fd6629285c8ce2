"""Fault injection against real processes: training killed with SIGKILL, a full disk under a
training run, and SIGTERM to a server with a request in flight. Each fault returns a plain dict of
what happened; ``tests/test_faults.py`` asserts on them, and by hand they print as JSON:

    python scripts/reliability/faults.py kill --runs 5           # SIGKILL `ner train` at varied moments
    python scripts/reliability/faults.py disk-full --size 5m      # needs root (mount -t tmpfs)
    python scripts/reliability/faults.py sigterm --chars 100000   # `ner serve --model zh`, SIGTERM mid-request

What "nothing lost" means here: after a kill the output directory still loads (``checkpoint.load``)
and predicts; the checkpoint it loads has all of its files; anything a killed save left behind is
hidden (``.tmp-PID-*``, ``.model.old-model``), never read by loaders, and removed by the next save.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

try:
    from serve_process import serve  # run as a script: this directory is on sys.path
except ImportError:
    from scripts.reliability.serve_process import serve

ROOT = Path(__file__).resolve().parents[2]
NER = [sys.executable, "-m", "ner.cli"]
EN_TRAIN = ROOT / "tests" / "fixtures" / "en_train.txt"
# A model trained in seconds (the same settings as the tests' TINY).
TINY = [
    "features.pretrained=none",
    "features.word_dim=16",
    "features.char_dim=8",
    "features.char_hidden=16",
    "features.casing_dim=4",
    "model.hidden_size=32",
    "model.dropout=0.0",
    "model.word_dropout=0.0",
    "train.optimizer=adam",
    "train.lr=0.02",
    "train.lr_decay=0",
    "train.batch_size=4",
    "train.seed=7",
    "train.threads=1",
]
SAMPLE = "Angela Merkel visited Paris on Tuesday ."
ZH_UNIT = "张三在北京大学工作。中国外交部发言人在上海表示。"


def _train_command(out: Path, train_file: Path, overrides: Sequence[str], epochs: int) -> list[str]:
    sets = [*overrides, f"train.epochs={epochs}", f"train.patience={epochs}"]
    return [
        *NER, "train", "--train", str(train_file), "--dev", str(train_file), "--out", str(out), "--lang", "en",
        *(x for o in sets for x in ("--set", o)),
    ]  # fmt: skip


def inspect_output(out: Path) -> dict[str, Any]:
    """What a reader finds in a training output directory: does it load and predict, which files
    the loaded checkpoint has, whether metrics.jsonl holds only whole lines, and what else is there."""
    from ner import checkpoint
    from ner.pipeline import Tagger

    report: dict[str, Any] = {"listing": sorted(p.name for p in out.iterdir()) if out.is_dir() else []}
    report["leftovers"] = [n for n in report["listing"] if n not in (checkpoint.MODEL_DIR, "metrics.jsonl")]
    metrics = out / "metrics.jsonl"
    lines = metrics.read_text(encoding="utf-8").splitlines() if metrics.exists() else []
    try:
        report["metrics_lines"] = len([json.loads(line) for line in lines])
        report["metrics_whole"] = metrics.read_text(encoding="utf-8").endswith("\n") or not lines
    except json.JSONDecodeError:
        report["metrics_lines"], report["metrics_whole"] = len(lines), False
    try:
        path = checkpoint.resolve(out)
        model, featurizer, config = checkpoint.load(out)
        entities = Tagger(model, featurizer, config).predict([SAMPLE])[0]
    except Exception as e:  # reported, not raised: the caller decides what is acceptable
        report.update(loadable=False, error=f"{type(e).__name__}: {e}")
        return report
    report.update(
        loadable=True,
        checkpoint=str(path.relative_to(out)),
        checkpoint_files=sorted(p.name for p in path.iterdir()),
        entities=[(e.text, e.label) for e in entities],
    )
    return report


def _wait_for_checkpoint(process: subprocess.Popen[bytes], out: Path, started_ns: int, timeout: float) -> None:
    """Until this run has saved a checkpoint and logged an epoch (files newer than its start)."""
    config, metrics = out / "model" / "config.json", out / "metrics.jsonl"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if (
                config.stat().st_mtime_ns >= started_ns
                and metrics.stat().st_mtime_ns >= started_ns
                and metrics.read_text(encoding="utf-8").count("\n") >= 1
            ):
                return
        except FileNotFoundError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"training ended or stalled before its first checkpoint (exit {process.poll()})")
        time.sleep(0.01)


def _kill_at_next_save(process: subprocess.Popen[bytes], out: Path, timeout: float) -> bool:
    """SIGKILL as soon as a save is seen in progress (its temporary or moved-aside directory)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if any(n.startswith((".tmp-", ".model.old")) for n in os.listdir(out)):
            process.kill()
            return True
    process.kill()
    return False


def kill_training(
    out: Path,
    delays: Sequence[float | None] = (0.0, None, 0.3, None, 1.0),
    train_file: Path = EN_TRAIN,
    overrides: Sequence[str] = TINY,
    epochs: int = 300,
) -> list[dict[str, Any]]:
    """Start ``ner train`` into ``out`` once per delay (``--overwrite`` after the first) and SIGKILL it
    that many seconds after its first checkpoint, or, for ``None``, the moment a save is in progress.
    Returns :func:`inspect_output` after each kill, plus when and where the kill landed."""
    reports = []
    for run, delay in enumerate(delays):
        started_ns = time.time_ns()
        command = _train_command(out, train_file, overrides, epochs) + (["--overwrite"] if run else [])
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_for_checkpoint(process, out, started_ns, timeout=120)
            if delay is None:
                during_save = _kill_at_next_save(process, out, timeout=5)
            else:
                time.sleep(delay)
                during_save = any(n.startswith((".tmp-", ".model.old")) for n in os.listdir(out))
                process.kill()
        finally:
            process.kill()
            returncode = process.wait()
        report = inspect_output(out)
        report.update(run=run, delay=delay, during_save=during_save, returncode=returncode)
        reports.append(report)
    return reports


def resave(out: Path) -> dict[str, Any]:
    """The next save into ``out`` (what a resumed or new run does): load, save again, inspect."""
    from ner import checkpoint

    model, featurizer, config = checkpoint.load(out)
    checkpoint.save(model, featurizer, out / checkpoint.MODEL_DIR, config)
    return inspect_output(out)


def mount_tmpfs(mountpoint: Path, size: str) -> bool:
    """Mount a size-limited tmpfs at ``mountpoint``; ``False`` when not permitted (not root, containers)."""
    mountpoint.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mountpoint)], capture_output=True, check=False
    )
    return done.returncode == 0


def unmount(mountpoint: Path) -> None:
    subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True, check=False)


def _tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def disk_full(
    workdir: Path, size: str = "5m", train_file: Path = EN_TRAIN, overrides: Sequence[str] = TINY
) -> dict[str, Any] | None:
    """Fill a real ``size`` tmpfs: (1) ``ner train`` a model of about 3.3 MB, whose second checkpoint
    cannot fit beside the first; (2) ``checkpoint.save`` a model bigger than the whole disk into an
    empty directory. ``None`` when the tmpfs cannot be mounted."""
    import errno

    from ner import checkpoint

    mountpoint = workdir / "tmpfs"
    if not mount_tmpfs(mountpoint, size):
        return None
    report: dict[str, Any] = {"size": size}
    try:
        out = mountpoint / "run"
        big = [*overrides, "model.hidden_size=300"]  # 2 x 4 x 300 x (36 + 300) LSTM weights: 3.3 MB
        command = _train_command(out, train_file, big, epochs=40)
        started = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        stderr = done.stderr.strip().splitlines()
        report["train"] = {
            "returncode": done.returncode,
            "seconds": round(time.monotonic() - started, 1),
            "traceback": any(line.startswith("Traceback") for line in stderr),
            "last_stderr_line": stderr[-1] if stderr else "",
            "tree": _tree(out),
            "after": inspect_output(out),
        }

        model, featurizer, config = checkpoint.load(out)  # the surviving checkpoint, made huge
        huge = type(model).for_featurizer(featurizer, type(model.config)(hidden_size=600), model.labels)
        weights_mb = sum(p.numel() for p in huge.parameters()) * 4 / 1e6
        empty = mountpoint / "empty"
        try:
            checkpoint.save(huge, featurizer, empty / checkpoint.MODEL_DIR, config)
            error: dict[str, Any] = {"raised": None}
        except OSError as e:
            error = {"raised": type(e).__name__, "errno": errno.errorcode.get(e.errno or 0), "message": str(e)}
        except Exception as e:  # anything but OSError is a finding
            error = {"raised": type(e).__name__, "message": str(e)}
        report["save_bigger_than_disk"] = {"weights_mb": round(weights_mb, 1), **error, "tree": _tree(empty)}
    finally:
        unmount(mountpoint)
    return report


def sigterm_drain(
    model: str = "zh", chars: int = 100_000, wait: float = 0.5, workdir: Path | None = None
) -> dict[str, Any]:
    """Start ``ner serve --model zh``; send one long request (``chars`` characters of ``ZH_UNIT``
    repeated) from a thread; SIGTERM the server ``wait`` seconds into it. Reports the in-flight
    request's status, whether its entities are those of the unit at every repetition, whether a new
    connection is refused afterwards, and the server's exit status and time to exit."""
    import httpx

    log = Path(workdir or tempfile.mkdtemp()) / "serve.log"
    report: dict[str, Any] = {}
    with serve(None, log, args=["--model", model], timeout=120) as running:
        url, server = running.url, running.process
        unit = httpx.post(f"{url}/v1/ner", json={"text": ZH_UNIT, "model": model}, timeout=30).json()["entities"]
        repeats = chars // len(ZH_UNIT)
        text = ZH_UNIT * repeats
        expected = [
            {**e, "start": e["start"] + i * len(ZH_UNIT), "end": e["end"] + i * len(ZH_UNIT)}
            for i in range(repeats)
            for e in unit
        ]
        result: dict[str, Any] = {}

        def long_request() -> None:
            started = time.monotonic()
            try:
                result["response"] = httpx.post(f"{url}/v1/ner", json={"text": text, "model": model}, timeout=120)
            except httpx.HTTPError as e:
                result["error"] = f"{type(e).__name__}: {e}"
            result["seconds"] = time.monotonic() - started

        client = threading.Thread(target=long_request)
        client.start()
        time.sleep(wait)
        signalled = time.monotonic()
        server.send_signal(signal.SIGTERM)
        time.sleep(0.3)  # uvicorn closes its listening socket at once
        try:
            httpx.get(f"{url}/health", timeout=2)
            report["new_connection"] = "accepted"
        except httpx.ConnectError:
            report["new_connection"] = "refused"
        except httpx.HTTPError as e:
            report["new_connection"] = f"{type(e).__name__}: {e}"
        client.join(timeout=120)
        try:
            report["returncode"] = server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            report["returncode"] = None  # still running 30 s after SIGTERM
        report["exit_seconds_after_sigterm"] = round(time.monotonic() - signalled, 2)
        response = result.get("response")
        got = (
            [{k: e[k] for k in ("text", "label", "start", "end")} for e in response.json()["entities"]]
            if (response is not None and response.status_code == 200)
            else None
        )
        want = [{k: e[k] for k in ("text", "label", "start", "end")} for e in expected]
        report.update(
            chars=len(text),
            in_flight_status=response.status_code if response is not None else result.get("error"),
            in_flight_seconds=round(result.get("seconds", -1.0), 2),
            entities=len(got) if got is not None else None,
            entities_correct=got == want,
        )
    report["log_tail"] = log.read_text(encoding="utf-8", errors="replace").splitlines()[-6:]
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="fault", required=True)
    kill = sub.add_parser("kill", help="SIGKILL `ner train` at varied moments")
    kill.add_argument("--runs", type=int, default=5)
    full = sub.add_parser("disk-full", help="train and save into a size-limited tmpfs (root)")
    full.add_argument("--size", default="5m")
    term = sub.add_parser("sigterm", help="SIGTERM `ner serve` with a long request in flight")
    term.add_argument("--chars", type=int, default=100_000)
    term.add_argument("--wait", type=float, default=0.5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        if args.fault == "kill":
            delays = [(None if i % 2 else 0.25 * i) for i in range(args.runs)]
            out = Path(tmp) / "run"
            reports = kill_training(out, delays)
            print(json.dumps({"kills": reports, "next_save": resave(out)}, ensure_ascii=False, indent=1))
        elif args.fault == "disk-full":
            report = disk_full(Path(tmp), args.size)
            print(json.dumps(report or {"skipped": "cannot mount a tmpfs here (needs root)"}, indent=1))
        else:
            print(json.dumps(sigterm_drain(chars=args.chars, wait=args.wait, workdir=Path(tmp)), indent=1))


if __name__ == "__main__":
    main()
