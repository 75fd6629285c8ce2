"""A real ``ner serve`` process for the reliability scripts and tests: start, wait ready, stop.

Imported as ``serve_process`` by the scripts (run from this directory) and as
``scripts.reliability.serve_process`` by the tests.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass(frozen=True)
class Server:
    url: str
    pid: int  # uvicorn runs inside this process: its RSS is the server's
    log: Path  # its stdout and stderr
    process: subprocess.Popen[bytes]  # for signals and the exit status (faults.py)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def production_env(**extra: str) -> dict[str, str]:
    """This process's environment without any ``NER_*`` setting, so the service runs on its defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NER_")}
    env.update(extra)
    return env


@contextmanager
def serve(
    env: dict[str, str] | None = None,
    log: Path | None = None,
    args: Sequence[str] = (),
    timeout: float = 300.0,
) -> Iterator[Server]:
    """``ner serve ARGS`` on a free port, environment ``env`` (default: this process's), yielded once
    ``/ready`` answers 200; stopped with SIGINT (then killed) on exit. Output goes to ``log`` (default:
    a new, kept file in the temporary directory)."""
    port = free_port()
    if log is None:
        fd, name = tempfile.mkstemp(prefix="ner-serve-", suffix=".log")
        os.close(fd)
        log = Path(name)
    command = [sys.executable, "-m", "ner.cli", "serve", *args, "--port", str(port)]
    with open(log, "wb") as out:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(command, env=env or dict(os.environ), stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"ner serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"ner serve not ready after {timeout:.0f}s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield Server(url, process.pid, log, process)
    finally:
        process.send_signal(signal.SIGINT)  # a no-op when the caller already ended it
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def status_kib(pid: int, field: str) -> int | None:
    """A size field of /proc/PID/status in KiB (``VmRSS``, ``VmHWM``, ...), or ``None`` if unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_kib(pid: int) -> int | None:
    """Resident set size of ``pid`` in KiB (``VmRSS``), or ``None`` if unreadable."""
    return status_kib(pid, "VmRSS")
