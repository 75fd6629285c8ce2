"""REST speed: ``ner serve`` (production settings) against the FastAPI + spaCy reference, driven by wrk.

Single-sentence requests at several concurrencies and batch requests of 32 sentences; each service
gets a warm-up run and a measured run per load, the two services taking turns.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from scripts.reliability.serve_process import free_port, production_env, serve

LUA = Path(__file__).with_name("post.lua")
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Load:
    """One load: ``texts_per_request`` sentences per request (1: ``/v1/ner``, more: ``/v1/ner/batch``)."""

    connections: int
    texts_per_request: int = 1

    @property
    def path(self) -> str:
        return "/v1/ner" if self.texts_per_request == 1 else "/v1/ner/batch"

    @property
    def label(self) -> str:
        kind = "1 sentence" if self.texts_per_request == 1 else f"batch of {self.texts_per_request}"
        return f"{kind}, {self.connections} connections"


@dataclass(frozen=True)
class RestResult:
    service: str
    load: str
    connections: int
    texts_per_request: int
    requests_per_s: float
    sentences_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    requests: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def wrk_path() -> str:
    """The wrk binary, or an error that says how to get it."""
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk is not installed: apt-get install wrk (Debian's package)")
    return found


def write_bodies(texts: Sequence[str], load: Load, path: Path) -> None:
    """The request bodies of a load, one JSON document per line."""
    with open(path, "w", encoding="utf-8") as f:
        if load.texts_per_request == 1:
            for text in texts:
                f.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
        else:
            n = load.texts_per_request  # consecutive texts, wrapping round when there are fewer than n
            for k in range(0, max(len(texts) - n + 1, 1), n):
                batch = [texts[(k + j) % len(texts)] for j in range(n)]
                f.write(json.dumps({"texts": batch}, ensure_ascii=False) + "\n")


def run_wrk(url: str, bodies: Path, connections: int, seconds: float) -> dict[str, Any]:
    """One wrk run (one thread: the load generator shares this machine's cores) and its JSON summary."""
    command = [wrk_path(), "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
    command += ["-s", str(LUA), url, "--", str(bodies)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    line = next(x for x in reversed(done.stdout.splitlines()) if x.startswith("{"))
    return json.loads(line)


def _result(service: str, load: Load, summary: dict[str, Any]) -> RestResult:
    seconds = summary["duration_us"] / 1e6
    errors = sum(summary[k] for k in ("non_2xx", "connect_errors", "read_errors", "write_errors", "timeouts"))
    rps = summary["requests"] / seconds
    return RestResult(
        service,
        load.label,
        load.connections,
        load.texts_per_request,
        rps,
        rps * load.texts_per_request,
        summary["p50_us"] / 1000,
        summary["p95_us"] / 1000,
        summary["p99_us"] / 1000,
        errors,
        summary["requests"],
    )


@contextmanager
def reference_service() -> Iterator[str]:
    """The FastAPI + spaCy reference (bench/reference_service.py) under uvicorn, as its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "bench.reference_service:app", "--port", str(port)]
    command += ["--log-level", "warning", "--no-access-log"]
    log = tempfile.NamedTemporaryFile(prefix="reference-", suffix=".log", delete=False)
    process = subprocess.Popen(command, cwd=ROOT, env=production_env(), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"reference service exited: {Path(log.name).read_text()[-2000:]}")
            try:
                if httpx.post(f"{url}/v1/ner", json={"text": "Paris"}, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("reference service not ready after 120 s")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def compare(texts: Sequence[str], loads: Sequence[Load], seconds: float, warmup: float = 2.0) -> list[RestResult]:
    """Each load against ``ner serve --model en`` (production settings) and the reference, taking turns."""
    results = []
    env = production_env(PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with (
        tempfile.TemporaryDirectory() as tmp,
        serve(env=env, args=["--model", "en"]) as ours,
        reference_service() as ref,
    ):
        for load in loads:
            bodies = Path(tmp) / f"bodies-{load.texts_per_request}.jsonl"
            write_bodies(texts, load, bodies)
            for service, base in (("ours", ours.url), ("spaCy reference", ref)):
                run_wrk(base + load.path, bodies, load.connections, warmup)
                results.append(_result(service, load, run_wrk(base + load.path, bodies, load.connections, seconds)))
    return results
