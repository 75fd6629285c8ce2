"""Hostile input at the HTTP level, over raw sockets, against a real ``ner serve`` process.

Bodies over the size limit (declared, or chunked and never declared), trickled and truncated bodies,
bytes that are not UTF-8, JSON nested 100,000 deep, numbers no float or 4300-digit int can hold,
wrong content types, and every limit hit exactly and by one. After each case the server must still
answer ``/health``; at the end its log must hold no traceback. The server's resident memory
(``VmRSS``) and peak (``VmHWM``, from ``/proc/PID/status``) are read after each case; the whole
sequence runs twice, and the second round must not raise the peak much (memory stays bounded).

    python scripts/reliability/hostile.py                     # starts `ner serve` at production limits
    python scripts/reliability/hostile.py --url http://127.0.0.1:8000 --pid 12345

Prints a Markdown table (case, status, time, RSS) and exits 1 if any case or the memory bound fails.
``tests/test_hostile_http.py`` runs the same cases at small limits.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

try:
    from serve_process import serve  # run as a script: this directory is on sys.path
except ImportError:  # imported from the repository root (the tests)
    from scripts.reliability.serve_process import serve

# A sentence with entities in it; long texts repeat it.
SENTENCE = "Angela Merkel met Emmanuel Macron in Paris on Tuesday, said Reuters. "
# The declared size of the "declared too large" case: 100 MB that are never sent.
HUGE = 100_000_000
BATCH = "/v1/ner/batch"
FULL_BODY = " (a full body)"


@dataclass(frozen=True)
class Limits:
    max_chars: int
    max_batch: int
    max_body_bytes: int


@dataclass(frozen=True)
class Case:
    """One raw HTTP request and what the service must answer."""

    name: str
    headers: dict[str, str]
    # The body, in pieces; a float is a pause of that many seconds between pieces.
    parts: tuple[bytes | float, ...] = ()
    path: str = "/v1/ner"
    # Acceptable statuses; empty: no answer is expected (the client hangs up first).
    expect: frozenset[int] = frozenset()
    code: str | None = None  # the JSON error code, for a 4xx
    results: int | None = None  # entries in a 200's "results" (batch) or None
    within: float = 60.0  # seconds until the answer must have come
    hang_up: bool = False  # close the connection after sending, without reading


@dataclass
class Outcome:
    status: int | None  # None: no answer (closed, or timed out)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    seconds: float = 0.0
    timed_out: bool = False


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def _post(
    name: str,
    body: bytes,
    expect: frozenset[int],
    *,
    code: str | None = None,
    path: str = "/v1/ner",
    content_type: str | None = "application/json",
    results: int | None = None,
) -> Case:
    headers = {"Content-Length": str(len(body))}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return Case(name, headers, (body,), path=path, expect=expect, code=code, results=results)


def _framing(name: str, headers: dict[str, str], expect: frozenset[int]) -> Case:
    return Case(name, {"Content-Type": "application/json", **headers}, (b'{"text": "Paris"}',), expect=expect)


def _chunked(body: bytes, size: int) -> tuple[bytes, ...]:
    pieces = [b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size]) for i in range(0, len(body), size)]
    return (*pieces, b"0\r\n\r\n")


def tiny(n: int) -> bytes:
    """A batch body of ``n`` one-word texts."""
    return _json({"texts": ["Paris."] * n})


def text_of(chars: int) -> str:
    """A text of exactly ``chars`` characters, full of entities."""
    return (SENTENCE * (chars // len(SENTENCE) + 1))[:chars]


def cases(limits: Limits) -> list[Case]:
    """Every hostile case at these limits."""
    ok, bad, big, media = frozenset({200}), frozenset({422}), frozenset({413}), frozenset({415})
    valid = _json({"text": SENTENCE})
    over = limits.max_body_bytes + 1
    deep = b"[" * 100_000
    digits = b"9" * 10_000
    # As many one-letter texts as a body under the limit holds (4 bytes each: `"a",`).
    flood_texts = (limits.max_body_bytes - 20) // 4
    flood = b'{"texts": [' + b'"a",' * (flood_texts - 1) + b'"a"]}'
    return [
        # Size: refused from the declared length, before the body is read; and without a declared length.
        Case(
            "declared too large, body never sent",
            {"Content-Type": "application/json", "Content-Length": str(max(HUGE, over))},
            (b'{"text": "',),
            expect=big,
            code="payload_too_large",
            within=3.0,
        ),
        Case(
            "chunked, over the limit",
            {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
            _chunked(b'{"text": "' + b"a" * over + b'"}', 16_384),
            expect=big,
            code="payload_too_large",
            within=10.0,
        ),
        Case(
            "chunked, under the limit",
            {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
            _chunked(valid, 7),
            expect=ok,
        ),
        _post("body of exactly the byte limit", valid[:-1] + b" " * (limits.max_body_bytes - len(valid)) + b"}", ok),
        _post("body one byte over the limit", valid[:-1] + b" " * (limits.max_body_bytes + 1 - len(valid)) + b"}", big),
        # Slow and broken bodies.
        Case(
            "slow body (3 s trickle)",
            {"Content-Type": "application/json", "Content-Length": str(len(valid))},
            tuple(x for i in range(0, len(valid), 12) for x in (valid[i : i + 12], 0.5))[:-1],
            expect=ok,
        ),
        Case(
            "truncated body, client hangs up",
            {"Content-Type": "application/json", "Content-Length": str(len(valid) + 1000)},
            (valid,),
            hang_up=True,
        ),
        # Bytes and JSON no parser should choke on.
        _post("invalid UTF-8", b'{"text": "Paris \xff\xfe\xc3"}', bad, code="invalid_json"),
        _post("lone surrogate escape", b'{"text": "Paris \\ud800"}', bad, code="invalid_request"),
        _post("100,000 nested [", deep, bad, code="invalid_json"),
        _post("100,000 nested [ ] closed", deep + b"]" * 100_000, bad, code="invalid_json"),
        _post("text nested 500 deep", b'{"text": ' + b"[" * 500 + b"]" * 500 + b"}", bad, code="invalid_request"),
        _post("1e999 as the text", b'{"text": 1e999}', bad, code="invalid_request"),
        _post("1e999 as the model", b'{"text": "Paris", "model": 1e999}', bad, code="invalid_request"),
        _post("-1e999 in texts", b'{"texts": [-1e999]}', bad, path=BATCH),
        _post("10,000-digit integer as the text", b'{"text": ' + digits + b"}", bad, code="invalid_json"),
        _post("10,000-digit integer in texts", b'{"texts": [' + digits + b"]}", bad, path=BATCH),
        _post("NaN as the text", b'{"text": NaN}', bad, code="invalid_request"),
        # Not JSON, or JSON that is not a request.
        _post("no content type", valid, media, code="unsupported_media_type", content_type=None),
        _post("text/plain", valid, media, code="unsupported_media_type", content_type="text/plain"),
        _post("form", b"text=Paris", media, content_type="application/x-www-form-urlencoded"),
        _post("multipart", b"--x\r\n\r\nParis\r\n--x--", media, content_type="multipart/form-data; boundary=x"),
        _post("application/jsonx", valid, media, content_type="application/jsonx"),
        _post("application/json; charset=utf-8", valid, ok, content_type="application/json; charset=utf-8"),
        _post("empty body", b"", bad, code="invalid_request"),
        _post("empty JSON object", b"{}", bad, code="invalid_request"),
        _post("JSON null", b"null", bad, code="invalid_request"),
        _post("JSON array", b"[]", bad, code="invalid_request"),
        _post("JSON string", b'"Paris"', bad, code="invalid_request"),
        _post("unknown field", b'{"text": "Paris", "txt": "Paris"}', bad, code="invalid_request"),
        # Exactly at the limits, and one over.
        _post(f"text of {limits.max_chars} characters", _json({"text": text_of(limits.max_chars)}), ok),
        _post(f"text of {limits.max_chars + 1} characters", _json({"text": text_of(limits.max_chars + 1)}), big),
        _post(f"{limits.max_batch} tiny texts", tiny(limits.max_batch), ok, path=BATCH, results=limits.max_batch),
        _post(f"{limits.max_batch + 1} tiny texts", tiny(limits.max_batch + 1), big, code="too_many_texts", path=BATCH),
        _post(f"{flood_texts:,} tiny texts{FULL_BODY}", flood, big, code="too_many_texts", path=BATCH),
        # Framing that the HTTP parser itself refuses (uvicorn answers in plain text).
        _framing("Content-Length not a number", {"Content-Length": "12a"}, frozenset({400})),
        _framing("Content-Length of 5,000 digits", {"Content-Length": "9" * 5000}, frozenset({400})),
        _framing("negative Content-Length", {"Content-Length": "-1"}, frozenset({400})),
        _framing("1 MB header", {"X-Padding": "a" * 1_000_000, "Content-Length": "17"}, frozenset({400, 431})),
    ]


def _readable(sock: socket.socket) -> bool:
    return bool(select.select([sock], [], [], 0)[0])


def _read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes] | None:
    """Status, headers and body of one HTTP/1.1 answer; ``None`` if the server closed without one."""
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    length = int(headers.get("content-length", -1))
    while length < 0 or len(body) < length:  # no length: read to the close we asked for
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            break
        body += chunk
    return int(status_line.split()[1]), headers, body if length < 0 else body[:length]


def exchange(url: str, case: Case) -> Outcome:
    """Send ``case`` over a fresh connection; stop sending as soon as the server answers."""
    parts = urlsplit(url)
    head = f"POST {case.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in case.headers.items()) + "\r\n"
    began = time.perf_counter()
    with socket.create_connection((parts.hostname, parts.port), timeout=case.within) as sock:
        for part in (head.encode("latin-1"), *case.parts):
            if isinstance(part, float):
                time.sleep(part)
                continue
            if _readable(sock):
                break  # an early answer (or close): the rest of the request is not wanted
            try:
                sock.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                break
        if case.hang_up:
            return Outcome(None, seconds=time.perf_counter() - began)
        try:
            answer = _read_answer(sock)
        except TimeoutError:
            return Outcome(None, seconds=time.perf_counter() - began, timed_out=True)
    seconds = time.perf_counter() - began
    return Outcome(None, seconds=seconds) if answer is None else Outcome(*answer, seconds=seconds)


def problem(case: Case, outcome: Outcome) -> str | None:
    """What is wrong with ``outcome`` for ``case``; ``None`` when it is as expected."""
    if outcome.timed_out:
        return f"no answer within {case.within}s"
    if outcome.status not in case.expect and not (case.hang_up and outcome.status is None):
        return f"status {outcome.status}, expected {sorted(case.expect) or 'none'}: {outcome.body[:200]!r}"
    if outcome.seconds > case.within:
        return f"took {outcome.seconds:.1f}s, more than {case.within}s"
    if outcome.status is None or outcome.headers.get("content-type", "").startswith("text/plain"):
        return None  # no answer, or uvicorn's own refusal of a malformed request
    try:
        body = json.loads(outcome.body)
    except ValueError:
        return f"answer is not JSON: {outcome.body[:200]!r}"
    if outcome.status >= 400:
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict) or not {"code", "message"} <= set(error):
            return f"not the JSON error shape: {body!r:.200}"
        if case.code is not None and error["code"] != case.code:
            return f"error code {error['code']}, expected {case.code}"
    elif case.results is not None and len(body.get("results", ())) != case.results:
        return f"{len(body.get('results', ()))} results, expected {case.results}"
    return None


def alive(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=10).status_code == 200
    except httpx.HTTPError:
        return False


def memory_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of process ``pid`` in KiB: resident now, and the peak so far."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


@dataclass
class Row:
    round: int
    case: str
    status: int | None
    seconds: float
    rss_kib: int | None
    peak_kib: int | None
    problem: str | None


def at_once(url: str, case: Case, n: int) -> tuple[Outcome, str | None]:
    """``n`` copies of ``case`` sent at the same time: the slowest outcome, and the first problem."""
    with ThreadPoolExecutor(n) as pool:
        outcomes = list(pool.map(lambda _: exchange(url, case), range(n)))
    troubles = [t for t in (problem(case, o) for o in outcomes) if t]
    return max(outcomes, key=lambda o: o.seconds), (troubles[0] if troubles else None)


def run(url: str, pid: int | None, limits: Limits, rounds: int = 2, concurrency: int = 16) -> list[Row]:
    """Every case, ``rounds`` times, with the server's memory after each; then, each round, the
    full-body flood ``concurrency`` times at once (every one of them is buffered and parsed)."""
    rows = []
    for round_ in range(1, rounds + 1):
        todo = [(case.name, case, 1) for case in cases(limits)]
        if concurrency > 1:
            flood = next(case for case in cases(limits) if case.name.endswith(FULL_BODY))
            todo.append((f"{concurrency} x {flood.name} at once", flood, concurrency))
        for name, case, n in todo:
            outcome, trouble = at_once(url, case, n)
            if not alive(url):
                trouble = f"server stopped answering /health; {trouble or ''}"
            rss, peak = memory_kib(pid) if pid is not None else (None, None)
            rows.append(Row(round_, name, outcome.status, outcome.seconds, rss, peak, trouble))
            if trouble and trouble.startswith("server stopped"):
                return rows
    return rows


def _mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.0f}"


def markdown(rows: list[Row], baseline: tuple[int, int] | None) -> str:
    lines = [
        "| round | case | status | time (s) | RSS (MiB) | peak RSS (MiB) | problem |",
        "|---|---|---|---|---|---|---|",
    ]
    if baseline is not None:
        lines.append(f"| 0 | (ready, before any case) | - | - | {_mib(baseline[0])} | {_mib(baseline[1])} | |")
    for r in rows:
        status = "closed" if r.status is None else str(r.status)
        cells = [str(r.round), r.case, status, f"{r.seconds:.2f}", _mib(r.rss_kib), _mib(r.peak_kib), r.problem or ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def memory_problem(rows: list[Row], baseline: tuple[int, int], max_growth_mib: float) -> str | None:
    """Peak growth over the ready server beyond ``max_growth_mib``, or any growth in the peak after round 1."""
    first = max((r.peak_kib or 0) for r in rows if r.round == 1)
    last = max((r.peak_kib or 0) for r in rows)
    if (first - baseline[1]) / 1024 > max_growth_mib:
        return f"peak grew by {(first - baseline[1]) / 1024:.0f} MiB in round 1 (bound {max_growth_mib:.0f} MiB)"
    if last > first * 1.05 + 16 * 1024:  # a repeat of the same requests must not need more memory
        return f"peak still growing after round 1: {first / 1024:.0f} -> {last / 1024:.0f} MiB"
    return None


def main(argv: list[str] | None = None) -> int:
    from api.settings import Settings  # the service's defaults (and any NER_* in this environment)

    defaults = Settings()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running service; default: start `ner serve` on a free port")
    parser.add_argument("--pid", type=int, help="the running service's process id, to read its memory")
    parser.add_argument("--models", default=",".join(defaults.models), help="models the started server loads")
    parser.add_argument("--max-chars", type=int, default=defaults.max_chars)
    parser.add_argument("--max-batch", type=int, default=defaults.max_batch)
    parser.add_argument("--max-body-bytes", type=int, default=defaults.max_body_bytes)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16, help="full-body floods sent at once")
    parser.add_argument("--max-growth-mib", type=float, default=256.0, help="bound on the peak's growth in round 1")
    args = parser.parse_args(argv)
    limits = Limits(args.max_chars, args.max_batch, args.max_body_bytes)

    def go(url: str, pid: int | None, log: Path | None) -> int:
        baseline = memory_kib(pid) if pid is not None else None
        began = time.monotonic()
        rows = run(url, pid, limits, args.rounds, args.concurrency)
        print(markdown(rows, baseline))
        print(f"\n{len(rows)} requests in {time.monotonic() - began:.1f}s; limits {limits}")
        failures = [f"{r.case}: {r.problem}" for r in rows if r.problem]
        if log is not None and "Traceback" in log.read_text(errors="replace"):
            failures.append(f"traceback in the server log {log}")
        if baseline is not None:
            peaks = [max((r.peak_kib or 0) for r in rows if r.round == n) for n in range(1, args.rounds + 1)]
            after = ", ".join(f"after round {n} {_mib(peak)} MiB" for n, peak in enumerate(peaks, 1))
            print(f"peak RSS (VmHWM): ready {_mib(baseline[1])} MiB, {after}")
            trouble = memory_problem(rows, baseline, args.max_growth_mib)
            failures += [f"memory: {trouble}"] if trouble else []
        print("\n".join(["", *failures, "FAILED"]) if failures else "\nOK")
        return 1 if failures else 0

    if args.url:
        return go(args.url.rstrip("/"), args.pid, None)
    env = {
        "NER_MAX_CHARS": str(limits.max_chars),
        "NER_MAX_BATCH": str(limits.max_batch),
        "NER_MAX_BODY_BYTES": str(limits.max_body_bytes),
    }
    with serve({**os.environ, **env}, args=["--model", args.models]) as server:
        print(f"ner serve --model {args.models} at {server.url} (pid {server.pid}, log {server.log})\n", flush=True)
        return go(server.url, server.pid, server.log)


if __name__ == "__main__":
    sys.exit(main())
