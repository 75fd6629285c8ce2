"""Schemathesis against the app's own OpenAPI schema, in process: a bounded, seeded, derandomised run of
``scripts/reliability/fuzz_api.py``'s configuration (every operation, positive and negative cases, all
checks), plus regression tests for what fuzzing found."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from schemathesis.python import asgi

from api import Settings, create_app
from api.registry import ModelRegistry
from scripts.reliability import fuzz_api

KEY = "fuzz-test-key-0123"
SEED = 20261123
LIMITS = {"max_chars": 2000, "max_batch": 16, "max_body_bytes": 64_000}


@pytest.fixture(scope="module")
def registry() -> ModelRegistry:
    """The shipped English model, loaded once and shared by the apps below (Chinese only costs time here)."""
    registry = ModelRegistry()
    registry.reload("en")
    return registry


def _ready_app(registry: ModelRegistry, api_key: str | None) -> FastAPI:
    app = create_app(Settings(models=("en",), api_key=api_key, **LIMITS), registry)
    with asgi.get_client(app) as client:  # starts the lifespan, which schemathesis then keeps running
        deadline = time.monotonic() + 60
        while client.get("/ready").status_code != 200:
            assert time.monotonic() < deadline, client.get("/ready").json()
            time.sleep(0.05)
    return app


def _fuzz(app: FastAPI, *, key: str | None, max_examples: int, only: str | None = None) -> fuzz_api.Summary:
    config = fuzz_api.fuzz_config(seed=SEED, max_examples=max_examples, api_key=key, stateful_examples=3)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    if only is not None:
        schema = fuzz_api.only(schema, only)
    summary = fuzz_api.run(schema)
    assert summary.ok, summary.render()
    return summary


def test_every_operation_with_the_admin_key(registry: ModelRegistry) -> None:
    summary = _fuzz(_ready_app(registry, KEY), key=KEY, max_examples=30)
    assert summary.cases >= 150, summary.render()
    # Both sides were exercised: accepted requests, and each kind of rejection the schema can provoke.
    assert {200, 404, 405, 415, 422} <= set(summary.statuses), summary.render()


def test_reload_without_the_key_is_refused(registry: ModelRegistry) -> None:
    summary = _fuzz(_ready_app(registry, KEY), key=None, max_examples=40, only=fuzz_api.RELOAD)
    assert 401 in summary.statuses and 200 not in summary.statuses, summary.render()


def test_reload_while_admin_is_disabled(registry: ModelRegistry) -> None:
    summary = _fuzz(_ready_app(registry, None), key=None, max_examples=40, only=fuzz_api.RELOAD)
    assert 403 in summary.statuses and 200 not in summary.statuses, summary.render()


# Regression tests for what fuzzing found.


@pytest.fixture(scope="module")
def client(registry: ModelRegistry) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(models=("en",), api_key=KEY, **LIMITS), registry)) as c:
        yield c


@pytest.mark.parametrize(("method", "path"), [("TRACE", "/health"), ("DELETE", "/v1/ner"), ("GET", "/v1/ner/batch")])
def test_wrong_method_is_a_405_that_says_what_is_allowed(client: TestClient, method: str, path: str) -> None:
    # The JSON error handler used to drop the exception's headers, so a 405 came without Allow.
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response.headers["allow"] in ("GET", "POST")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"text": "Paris \xff\xfe"}', "not UTF-8"),
        (b"[" * 50_000, "nested too deeply"),  # json.loads raises RecursionError, not a JSONDecodeError
        (b'{"text": "x", "model": ' + b"9" * 10_000 + b"}", "cannot be decoded"),  # over the 4300-digit limit
    ],
)
def test_undecodable_json_is_422_invalid_json(client: TestClient, body: bytes, reason: str) -> None:
    # FastAPI answered these with a bare 400 "There was an error parsing the body" (code http_error).
    for path in ("/v1/ner", "/v1/ner/batch", "/v1/models/en/reload"):
        response = client.post(path, content=body, headers={"content-type": "application/json", "x-api-key": KEY})
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "invalid_json" and reason in error["message"]


def test_schema_declares_the_errors_the_ner_routes_answer(client: TestClient) -> None:
    # The generated schema listed only 200 and a 422 shaped {"detail": ...}, which the service never sends.
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/ner", "/v1/ner/batch"):
        responses = paths[path]["post"]["responses"]
        assert {"200", "400", "404", "413", "415", "422", "503"} <= set(responses)
        for status in ("404", "413", "415", "422", "503"):
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorResponse"}
