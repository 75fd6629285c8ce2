"""Replicas behind nginx, with the shipped ``deploy/nginx.conf`` rendered for loopback ports.

Stub replicas (a few lines of ``http.server``) check what nginx adds: request ids, the 413 shape, a
503 replica skipped. Two real ``ner serve`` processes check the whole path: requests spread over both,
then one is killed with SIGKILL while requests are in flight on it and a client keeps sending, and no
request fails. The wrk script of ``scripts/scaling/replicas.py`` runs for a second against a stub that
checks its bodies. Tests that need Debian's ``nginx`` or ``wrk`` skip where it is missing (``.ci/run``
installs both).
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from scripts.reliability.serve_process import Server, free_port, production_env, serve
from scripts.scaling import nginx_lb, replicas

needs_nginx = pytest.mark.skipif(
    nginx_lb.nginx_binary() is None, reason="nginx is not installed (Debian: apt-get install nginx; .ci/run does)"
)

SHORT = "Angela Merkel met Emmanuel Macron in Paris on Tuesday, said Reuters."
LONG = " ".join([SHORT] * 600)  # about 41,000 characters in 600 sentences


def _address(url: str) -> str:
    return url.removeprefix("http://")


# --- stub replicas: what nginx does to requests and answers ---------------------------------------


def _is_ner_body(body: bytes) -> bool:
    try:
        return isinstance(json.loads(body)["text"], str)
    except (ValueError, KeyError, TypeError):
        return False


@contextmanager
def _stub(status: int = 200, check_body: bool = False) -> Iterator[str]:
    """An HTTP server on a free loopback port answering every request with ``status`` and a JSON body
    naming its port and the ``X-Request-ID`` it received; yields its ``host:port``. With ``check_body``
    a POST whose body is not ``{"text": str, ...}`` gets 400 instead."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as nginx's upstream keepalive expects

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            sent = self.rfile.read(length)
            body = json.dumps({"port": self.server.server_port, "request_id": self.headers.get("X-Request-ID")})
            self.send_response(400 if check_body and self.command == "POST" and not _is_ner_body(sent) else status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    class Quiet(ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass  # nginx closing an idle keep-alive connection is not an error here

    server = Quiet(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@needs_nginx
def test_shipped_config_renders_and_passes_nginx_t() -> None:
    config = nginx_lb.CONFIG.read_text(encoding="utf-8")
    prefix = nginx_lb.private_prefix()
    try:
        text = nginx_lb.render(config, ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"], "127.0.0.1:9", prefix)
        checked = nginx_lb.check(text, prefix)
    finally:
        shutil.rmtree(prefix)
    assert checked.returncode == 0, checked.stderr
    assert nginx_lb.upstream_servers(text) == ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"]
    # Only addresses, listen and local paths change: every proxy setting is the shipped one.
    proxy = [line.strip() for line in config.splitlines() if line.strip().startswith(("proxy_", "client_"))]
    rendered = {line.strip() for line in text.splitlines()}
    assert proxy and set(proxy) <= rendered
    assert "proxy_next_upstream error timeout http_502 http_503 non_idempotent;" in proxy
    assert "server 127.0.0.1:2 max_fails=1 fail_timeout=10s;" in rendered


def test_render_refuses_a_config_without_the_upstream_block(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="upstream ner"):
        nginx_lb.render("http {\n}\n", ["127.0.0.1:1"], "127.0.0.1:9", tmp_path)


@needs_nginx
def test_request_id_is_forwarded_or_generated() -> None:
    with _stub() as replica, nginx_lb.balance([replica], free_port()) as lb:
        sent = httpx.get(f"{lb.url}/v1/models", headers={"X-Request-ID": "abc-123"}, timeout=10).json()
        assert sent["request_id"] == "abc-123"
        generated = {httpx.get(f"{lb.url}/v1/models", timeout=10).json()["request_id"] for _ in range(3)}
        assert len(generated) == 3 and all(len(g) == 32 for g in generated)  # nginx's $request_id: 32 hex


@needs_nginx
def test_a_replica_answering_503_is_skipped() -> None:
    with _stub(503) as loading, _stub() as ready:
        with nginx_lb.balance([loading, ready], free_port(), show_upstream=True) as lb:
            replies = [httpx.post(f"{lb.url}/v1/ner", json={"text": SHORT}, timeout=10) for _ in range(6)]
    assert [r.status_code for r in replies] == [200] * 6
    ready_port = int(ready.rsplit(":", 1)[1])
    assert all(r.json()["port"] == ready_port for r in replies)
    # The 503 counted as a failure (max_fails=1): after the first retry nginx sent nothing more to it.
    tried = [r.headers["x-upstream"] for r in replies]
    assert sum(loading in t for t in tried) == 1, tried


@needs_nginx
def test_body_over_the_limit_gets_the_services_json_413() -> None:
    with _stub() as replica, nginx_lb.balance([replica], free_port()) as lb:
        at_limit = httpx.post(f"{lb.url}/v1/ner", content=b"x" * 2_097_152, timeout=30)
        over = httpx.post(f"{lb.url}/v1/ner", content=b"x" * 2_097_153, timeout=30)
    assert at_limit.status_code == 200
    assert over.status_code == 413
    assert over.headers["content-type"].startswith("application/json")
    assert over.json()["error"]["code"] == "payload_too_large"


def test_wrk_script_sends_valid_requests_and_reports_its_figures() -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (Debian: apt-get install wrk; .ci/run does)")
    with _stub(check_body=True) as replica:
        figures = replicas.run_wrk(f"http://{replica}", duration=1, connections=2, threads=1)
    assert figures["requests"] > 0 and figures["requests_per_s"] > 0
    assert figures["errors"] == {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    latency = figures["latency_us"]
    assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]


# --- two real replicas: spread, then a SIGKILL under load -----------------------------------------


def _counts(url: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every sample of metric family ``name`` at ``url``'s ``/metrics``, keyed by its sorted labels."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {
        (sample.name, *sorted(sample.labels.items())): sample.value  # type: ignore[misc]
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if family.name == name and sample.name.endswith(("_total", "_count"))
    }


def _tagged_200(server: Server) -> float:
    counts = _counts(server.url, "ner_http_requests")
    return sum(v for k, v in counts.items() if ("route", "/v1/ner") in k and ("status", "200") in k)


def _running(server: Server) -> float:
    """Model calls started (a worker took them) minus model calls finished, on ``server``."""
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    count = {
        family.name: sum(s.value for s in family.samples if s.name.endswith("_count"))
        for family in text_string_to_metric_families(text)
    }
    return count["ner_inference_queue_seconds"] - count["ner_inference_duration_seconds"]


def _post(client: httpx.Client, text: str) -> tuple[int, str, object]:
    reply = client.post("/v1/ner", json={"text": text})
    return reply.status_code, reply.headers.get("x-upstream", ""), reply.json()


@needs_nginx
@pytest.mark.slow
def test_two_replicas_share_the_load_and_survive_a_sigkill(tmp_path: Path) -> None:
    # One sentence per forward pass: the long request then runs for about a second, long enough to be
    # caught in flight whatever the machine's load (short requests are one sentence anyway). Two
    # inference workers, so that short requests do not all wait behind the long ones.
    env = production_env(NER_TORCH_THREADS="1", NER_INFERENCE_WORKERS="2", NER_BATCH_SIZE="1")
    with ExitStack() as stack:
        a = stack.enter_context(serve(env, args=["--model", "en"], log=tmp_path / "a.log"))
        b = stack.enter_context(serve(env, args=["--model", "en"], log=tmp_path / "b.log"))
        lb = stack.enter_context(nginx_lb.balance([_address(a.url), _address(b.url)], free_port(), show_upstream=True))
        client = stack.enter_context(httpx.Client(base_url=lb.url, timeout=60))

        # 1. Round robin: ten requests, five on each replica, by nginx's account and by each replica's.
        replies = [_post(client, SHORT) for _ in range(10)]
        short_answer = replies[0][2]
        assert all(status == 200 and body == short_answer for status, _, body in replies)
        assert Counter(upstream for _, upstream, _ in replies) == {_address(a.url): 5, _address(b.url): 5}
        assert (_tagged_200(a), _tagged_200(b)) == (5, 5)
        # A caller's request id reaches the replica and comes back; without one, nginx's id is the one used.
        own = client.post("/v1/ner", json={"text": SHORT}, headers={"X-Request-ID": "replica-test-1"})
        assert own.headers["x-request-id"] == "replica-test-1"
        generated = client.post("/v1/ner", json={"text": SHORT}).headers["x-request-id"]
        deadline = time.monotonic() + 5  # nginx writes its log line just after the response leaves
        while f"id={generated} " not in lb.access_log.read_text():
            assert time.monotonic() < deadline, "the replica did not keep nginx's request id"
            time.sleep(0.02)

        # 2. A long request: the replica it lands on (the victim) is the one to kill while it runs.
        # Its running-call count proves the request is in flight there, so the kill cannot miss it.
        long_reply: list[tuple[int, str, object]] = []

        def long_request() -> None:
            with httpx.Client(base_url=lb.url, timeout=60) as own:
                long_reply.append(_post(own, LONG))

        long_thread = threading.Thread(target=long_request)
        long_thread.start()
        deadline = time.monotonic() + 20
        while not (busy := [s for s in (a, b) if _running(s) >= 1]):
            assert time.monotonic() < deadline, "the long request never started on a replica"
            time.sleep(0.02)
        victim, survivor = (a, b) if busy[0] is a else (b, a)

        # 3. A client keeps sending short requests while the victim is killed (at once, so its long
        # request is surely still running) and after; those round robin sends it queue there.
        stop = threading.Event()
        results: list[tuple[float, int, str, object]] = []

        def keep_sending() -> None:
            with httpx.Client(base_url=lb.url, timeout=60) as own:
                while not stop.is_set():
                    began = time.monotonic()
                    results.append((began, *_post(own, SHORT)))

        senders = [threading.Thread(target=keep_sending) for _ in range(2)]
        for thread in senders:
            thread.start()
        time.sleep(0.05)
        killed_at = time.monotonic()
        victim.process.kill()  # SIGKILL: no drain, its connections are reset
        time.sleep(3)
        stop.set()
        for thread in [*senders, long_thread]:
            thread.join(timeout=60)

    failed = [r for r in results if r[1] != 200 or r[3] != short_answer]
    assert not failed, f"{len(failed)} of {len(results)} requests failed: {failed[:3]}"
    # The long request came back whole from the survivor: nginx sent it again after the victim died.
    ((status, route, body),) = long_reply
    assert status == 200 and route == f"{_address(victim.url)}, {_address(survivor.url)}", (status, route)
    entities = [(e["label"], e["text"]) for e in body["entities"]]  # type: ignore[index]
    assert entities == [(e["label"], e["text"]) for e in short_answer["entities"]] * 600  # type: ignore[index]
    # Once nginx has seen the victim fail it is marked down: later requests go straight to the survivor.
    late = [upstream for began, _, upstream, _ in results if began > killed_at + 1.0]
    assert late and set(late) == {_address(survivor.url)}, Counter(late)
    retried = sum("," in upstream for _, _, upstream, _ in results)
    print(f"\n{len(results)} short requests, {retried} retried on the survivor after the kill, 0 failed")
