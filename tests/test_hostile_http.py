"""Hostile input at the HTTP level against a real ``ner serve`` (English only, small limits): the cases
of ``scripts/reliability/hostile.py`` over raw sockets. Every case gets its status and JSON error, the
server keeps answering, its log holds no traceback and its memory stays put."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from api.limits import RequestLimits
from scripts.reliability import hostile
from scripts.reliability.serve_process import Server, serve

LIMITS = hostile.Limits(max_chars=5000, max_batch=64, max_body_bytes=200_000)
CASES = hostile.cases(LIMITS)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {
        "NER_MAX_CHARS": str(LIMITS.max_chars),
        "NER_MAX_BATCH": str(LIMITS.max_batch),
        "NER_MAX_BODY_BYTES": str(LIMITS.max_body_bytes),
    }
    log = tmp_path_factory.mktemp("hostile") / "serve.log"
    with serve({**os.environ, **env}, log, args=["--model", "en"]) as running:
        yield running


@pytest.fixture(scope="module")
def baseline(server: Server) -> tuple[int, int]:
    """The ready server's (VmRSS, VmHWM), read before any hostile case."""
    return hostile.memory_kib(server.pid)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_request(server: Server, baseline: tuple[int, int], case: hostile.Case) -> None:
    outcome = hostile.exchange(server.url, case)
    assert hostile.problem(case, outcome) is None
    assert hostile.alive(server.url), "the server stopped answering"


def test_oversized_body_is_refused_before_it_is_read(server: Server) -> None:
    # 100 MB declared, 10 bytes sent: the 413 comes at once, without waiting for the rest.
    case = next(c for c in CASES if c.name.startswith("declared too large"))
    outcome = hostile.exchange(server.url, case)
    assert outcome.status == 413 and outcome.seconds < 1.0, outcome


def test_full_bodies_at_once(server: Server) -> None:
    flood = next(c for c in CASES if c.name.endswith(hostile.FULL_BODY))
    outcome, trouble = hostile.at_once(server.url, flood, 8)
    assert trouble is None and outcome.status == 413
    assert hostile.alive(server.url)


def test_no_traceback_and_bounded_memory(server: Server, baseline: tuple[int, int]) -> None:
    # Runs after every case above (pytest keeps the order of definition within a module).
    assert hostile.alive(server.url)
    log = server.log.read_text(errors="replace")
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log[-3000:]
    _, peak = hostile.memory_kib(server.pid)
    assert (peak - baseline[1]) / 1024 < 256, f"peak RSS grew by {(peak - baseline[1]) / 1024:.0f} MiB"


@pytest.mark.parametrize(
    ("length", "status"),
    [(b"\xb2", 400), (b"12a", 400), (b"9" * 5000, 413), (b"0" * 5000 + b"2", 200), (b"2", 200), (b"101", 413)],
)
def test_content_length_that_only_the_middleware_sees(length: bytes, status: int) -> None:
    # uvicorn's parser refuses these itself (the cases above), but other ASGI servers and in-process
    # clients pass them on: the middleware took "²" (latin-1 0xB2) for a number since "²".isdigit(), and
    # int() refuses 5,000 digits; both raised, a 500.
    sent: list[dict[str, Any]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await JSONResponse({})(scope, receive, send)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"content-length", length), (b"content-type", b"application/json")]
    scope = {"type": "http", "method": "POST", "path": "/v1/ner", "headers": headers}
    anyio.run(RequestLimits(app, max_body_bytes=100), scope, receive, send)
    assert sent[0]["status"] == status
