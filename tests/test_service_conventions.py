"""Service conventions: request ids, JSON log lines, OpenAPI examples that are true, the settings table."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import Settings, create_app
from api.logs import (
    JSON_FIELDS,
    RequestIdFilter,
    configure_logging,
    json_formatter,
    request_id_from,
    text_formatter,
)
from api.schemas import BatchRequest, BatchResponse, NerRequest, NerResponse

from .test_api import wait_ready

README = Path(__file__).resolve().parent.parent / "README.md"
GENERATED = re.compile(r"[0-9a-f]{32}")
ENDPOINTS = (("/v1/ner", "NerRequest", "NerResponse"), ("/v1/ner/batch", "BatchRequest", "BatchResponse"))


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(models=("en", "zh"), max_chars=200, max_body_bytes=4000))) as c:
        wait_ready(c)
        yield c


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every record of the api loggers, formatted as the service formats them (JSON lines)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("api")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(previous)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_request_without_an_id_gets_a_new_one_each_time(client: TestClient) -> None:
    first, second = client.get("/health"), client.get("/health")
    assert GENERATED.fullmatch(first.headers["x-request-id"])
    assert GENERATED.fullmatch(second.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


@pytest.mark.parametrize("sane", ["abc-123", "0f8fad5b-d9cb-469f-a165-70867728950e", "trace.1:span_2", "x" * 128])
def test_a_sane_caller_id_is_echoed(client: TestClient, sane: str) -> None:
    response = client.post("/v1/ner", json={"text": "Paris"}, headers={"X-Request-ID": sane})
    assert response.status_code == 200 and response.headers["x-request-id"] == sane


@pytest.mark.parametrize(
    "bad", ["", "x" * 129, "has space", "<script>", "a/b", "new\\nline", "caf\xe9".encode("latin-1"), "a,b"]
)
def test_an_insane_caller_id_is_replaced(client: TestClient, bad: str | bytes) -> None:
    response = client.get("/health", headers={"X-Request-ID": bad})
    assert GENERATED.fullmatch(response.headers["x-request-id"]), response.headers["x-request-id"]
    assert request_id_from(bad if isinstance(bad, str) else None) != bad


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"content": b"Paris", "headers": {"content-type": "text/plain"}}, 415, "unsupported_media_type"),
        ({"content": b"{" + b" " * 5000 + b"}", "headers": {"content-type": "application/json"}}, 413, None),
        ({"json": {"text": "x" * 201}}, 413, "text_too_long"),
        ({"json": {"txt": "Paris"}}, 422, "invalid_request"),
        ({"json": {"text": "Paris", "model": "klingon"}}, 404, "unknown_model"),
    ],
)
def test_errors_carry_the_id_in_header_and_body(
    client: TestClient, kwargs: dict[str, Any], status: int, code: str | None
) -> None:
    headers = {**kwargs.pop("headers", {}), "X-Request-ID": "err-42"}
    response = client.post("/v1/ner", headers=headers, **kwargs)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == (code or "payload_too_large")
    assert response.headers["x-request-id"] == "err-42" and error["request_id"] == "err-42"


def test_a_404_for_an_unknown_path_carries_a_generated_id(client: TestClient) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.json()["error"]["request_id"] == response.headers["x-request-id"]


def test_an_unexpected_error_is_a_500_with_the_id_and_a_log_line(log_lines: io.StringIO) -> None:
    app = create_app(Settings(models=("en",)))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("kaboom")

    with TestClient(app, raise_server_exceptions=False) as c:
        response = c.get("/boom", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "boom-1"
    assert response.json()["error"] == {
        "code": "internal_error",
        "message": "internal error; see the service log",
        "request_id": "boom-1",
    }
    lines = [line for line in _lines(log_lines) if line["request_id"] == "boom-1"]
    assert {(line["logger"], line["level"]) for line in lines} == {("api.errors", "ERROR"), ("api.access", "INFO")}
    access = next(line for line in lines if line["logger"] == "api.access")
    assert (access["method"], access["path"], access["status"]) == ("GET", "/boom", 500)
    error = next(line for line in lines if line["logger"] == "api.errors")
    assert "RuntimeError: kaboom" in error["exc_info"]  # the traceback, inside the one JSON line


def test_one_json_access_line_per_request_and_no_texts(client: TestClient, log_lines: io.StringIO) -> None:
    secret = "Zanzibar Quixotic-Secret visited Paris."
    client.post("/v1/ner", json={"text": secret}, headers={"X-Request-ID": "log-1"})
    client.post("/v1/ner", json={"texts": secret}, headers={"X-Request-ID": "log-2"})  # a 422
    assert "Quixotic" not in log_lines.getvalue()
    lines = _lines(log_lines)
    access = [line for line in lines if line["logger"] == "api.access"]
    assert [(a["request_id"], a["status"]) for a in access] == [("log-1", 200), ("log-2", 422)]
    for line in access:
        assert list(line) == list(JSON_FIELDS)
        assert line["level"] == "INFO" and line["method"] == "POST" and line["path"] == "/v1/ner"
        assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])
        assert datetime.fromisoformat(line["time"]).tzinfo is not None
        assert line["message"] == f"POST /v1/ner {line['status']} {line['duration_ms']:.1f} ms"


def test_a_newline_in_the_url_cannot_forge_a_log_line(client: TestClient) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(text_formatter())
    handler.addFilter(RequestIdFilter())
    access = logging.getLogger("api.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        client.get("/x%0A2026-11-23T00:00:00.000+00:00 INFO api.access [forged] GET /admin 200")
    finally:
        access.removeHandler(handler)
        access.setLevel(logging.NOTSET)
    [line] = stream.getvalue().splitlines()
    assert "/x%0A2026-11-23" in line and line.endswith(" ms")


def test_cors_lets_a_browser_send_and_read_the_request_id() -> None:
    origin = "https://example.org"
    with TestClient(create_app(Settings(models=("en",), cors_origins=origin))) as c:  # type: ignore[arg-type]
        asks = {"Origin": origin, "Access-Control-Request-Method": "POST"}
        asks["Access-Control-Request-Headers"] = "x-request-id"
        preflight = c.options("/v1/ner", headers=asks)
        assert preflight.status_code == 200
        assert "x-request-id" in preflight.headers["access-control-allow-headers"].lower()
        response = c.get("/health", headers={"Origin": origin, "X-Request-ID": "cors-1"})
        assert response.headers["x-request-id"] == "cors-1"
        assert "x-request-id" in response.headers["access-control-expose-headers"].lower()


def test_texts_are_logged_with_their_request_id_only_when_asked(log_lines: io.StringIO) -> None:
    with TestClient(create_app(Settings(models=("en",), log_texts=True))) as c:
        wait_ready(c)
        c.post("/v1/ner", json={"text": "Quixotic Paris"}, headers={"X-Request-ID": "texts-1"})
    [line] = [line for line in _lines(log_lines) if "Quixotic" in line["message"]]
    assert line["request_id"] == "texts-1" and line["logger"] == "api.routes.ner" and line["level"] == "DEBUG"


def test_configure_logging_writes_json_lines_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging("json", logging.INFO)
        configure_logging("json", logging.INFO)  # again: still one handler, one line per record
        logging.getLogger("uvicorn.error").info("Started server process")
        logging.getLogger("some.module").debug("below the level")
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
    [line] = [json.loads(x) for x in capsys.readouterr().err.splitlines()]
    assert line["logger"] == "uvicorn.error" and line["message"] == "Started server process"
    assert line["request_id"] is None and list(line) == list(JSON_FIELDS)


def test_openapi_has_examples_for_both_endpoints(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    for path, request, response in ENDPOINTS:
        post = schema["paths"][path]["post"]
        assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(f"/{request}")
        assert post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(f"/{response}")
        assert components[request]["examples"] and components[response]["examples"]
    for model, examples in ((NerRequest, "NerRequest"), (BatchRequest, "BatchRequest")):
        for example in components[examples]["examples"]:
            model.model_validate(example)
    for model, examples in ((NerResponse, "NerResponse"), (BatchResponse, "BatchResponse")):
        for example in components[examples]["examples"]:
            model.model_validate(example)


def _same(answer: Any, example: Any) -> None:
    """Equal, but scores within 0.001 (they are rounded to 4 places by the service)."""
    if isinstance(example, dict):
        assert answer.keys() == example.keys()
        for key in example:
            if key == "score":
                assert answer[key] == pytest.approx(example[key], abs=1e-3)
            else:
                _same(answer[key], example[key])
    elif isinstance(example, list):
        assert len(answer) == len(example)
        for a, e in zip(answer, example):
            _same(a, e)
    else:
        assert answer == example


def test_openapi_examples_are_what_the_shipped_models_answer(client: TestClient) -> None:
    components = client.get("/openapi.json").json()["components"]["schemas"]
    for path, request, response in ENDPOINTS:
        pairs = zip(components[request]["examples"], components[response]["examples"], strict=True)
        for sent, expected in pairs:
            answer = client.post(path, json=sent)
            assert answer.status_code == 200, answer.text
            _same(answer.json(), expected)


def test_the_readme_settings_table_names_every_setting() -> None:
    table = README.read_text(encoding="utf-8").split("### Settings", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in Settings.model_fields if f"`NER_{name.upper()}`" not in table]
    assert not missing, f"README settings table lacks {missing}"
