"""Fuzz the REST API against its own OpenAPI schema (``/openapi.json``) with schemathesis.

Every operation, positive and negative cases (``generation.mode = all``), every phase (examples,
coverage, fuzzing, and stateful: schemathesis infers that ``GET /v1/models`` lists the names reload
takes), every built-in check (not a server error; status code, content type and response schema
conformance; positive data accepted, negative data rejected; unsupported methods answered 405 with
``Allow``; ...) plus the service's own (:func:`register_checks`). Two passes: one sends the admin
``X-API-Key`` so that the reload endpoint really reloads, one sends no key (the reload endpoint only;
401, or 403 where the service has none).

    python scripts/reliability/fuzz_api.py                    # starts `ner serve` on a free port
    python scripts/reliability/fuzz_api.py --url http://127.0.0.1:8000 --api-key "$NER_API_KEY"

Prints the cases run, failures by check and server errors; exits 1 on any of them.
``tests/test_fuzz_api.py`` runs the same configuration, bounded, against the app in process.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from schemathesis.engine import Status, events, from_schema
from schemathesis.filters import FilterSet

try:
    from serve_process import serve  # run as a script: this directory is on sys.path
except ImportError:
    from scripts.reliability.serve_process import serve

RELOAD = "/v1/models/{name}/reload"

# The statuses the README documents per operation; every operation may also answer 405 (wrong method).
DOCUMENTED_STATUSES: dict[str, frozenset[int]] = {
    "GET /health": frozenset({200}),
    "GET /ready": frozenset({200, 503}),
    "GET /metrics": frozenset({200}),
    "GET /v1/models": frozenset({200}),
    "POST /v1/ner": frozenset({200, 400, 404, 413, 415, 422, 503}),
    "POST /v1/ner/batch": frozenset({200, 400, 404, 413, 415, 422, 503}),
    f"POST {RELOAD}": frozenset({200, 400, 401, 403, 404, 413, 415, 422}),
}

# What no schema can say. NER_MAX_CHARS and NER_MAX_BATCH are settings, so a schema-valid text may
# still be too long (413); and a reload of a path that holds no checkpoint is refused (422).
_POSITIVE_OK = ["2xx", "401", "403", "404", "409", "413", "429"]
_NEGATIVE_OK = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
SEMANTICS: list[dict[str, Any]] = [
    {"include-path": RELOAD, "checks": {"positive_data_acceptance": {"expected-statuses": [*_POSITIVE_OK, "422"]}}},
]

# Where the schema is not honest yet, because the routes that would say more are in
# api/routes/ops.py and api/routes/models.py (the change is in the report): /metrics answers
# Prometheus text but the schema says JSON; the reload route declares 200 and a 422 shaped like
# FastAPI's {"detail": ...}, not 401/403/404/413/415. The checks these gaps trip are off for those
# operations only; `documented_status` and `json_error_shape` check what they would. Drop the list
# once the routes declare their responses.
SCHEMA_GAPS: list[dict[str, Any]] = []  # operations whose schema is known to be incomplete: none


def fuzz_config(
    *, seed: int, max_examples: int, api_key: str | None, stateful_examples: int | None = None
) -> schemathesis.Config:
    """The whole run's configuration; ``api_key`` is sent as ``X-API-Key`` on every request when given.

    ``max_examples`` bounds the fuzzing cases per operation; ``stateful_examples`` (default: the same)
    the stateful scenarios, where schemathesis links ``GET /v1/models`` to reloading the names it lists.
    """
    stateful = {"enabled": True, "generation": {"max-examples": stateful_examples or max_examples}}
    data: dict[str, Any] = {
        "seed": seed,
        "suppress-health-check": ["all"],  # a real model behind the API is slower than Hypothesis likes
        "generation": {"mode": "all", "max-examples": max_examples, "deterministic": True, "database": "none"},
        "phases": {**{name: {"enabled": True} for name in ("examples", "coverage", "fuzzing")}, "stateful": stateful},
        "checks": {
            "enabled": True,
            "positive_data_acceptance": {"expected-statuses": _POSITIVE_OK},
            "negative_data_rejection": {"expected-statuses": _NEGATIVE_OK},
        },
        "continue-on-failure": True,
        "request-timeout": 120,
        "operations": [*SEMANTICS, *SCHEMA_GAPS],
    }
    if api_key is not None:
        data["headers"] = {"X-API-Key": api_key}
    return schemathesis.Config.from_dict(data)


def _header(response: schemathesis.Response, name: str) -> str:
    values = next((v for k, v in response.headers.items() if k.lower() == name), [])
    return values[0] if values else ""


def json_error_shape(ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """Every 4xx/5xx is JSON ``{"error": {"code": str, "message": str, "details"?: ..., "request_id": str}}``,
    its ``request_id`` the one in the ``X-Request-ID`` header."""
    if response.status_code < 400 or (case.operation.label == "GET /ready" and response.status_code == 503):
        return  # /ready's 503 is its own status document
    media = _header(response, "content-type").split(";", 1)[0].strip()
    assert media == "application/json", f"error answered as {media or 'no content type'}"
    try:
        body = json.loads(response.content)
    except ValueError as e:
        raise AssertionError(f"error body is not JSON: {e}") from None
    error = body.get("error") if isinstance(body, dict) else None
    assert isinstance(error, dict), f"no 'error' object in {body!r:.200}"
    assert isinstance(error.get("code"), str) and error["code"], f"no error code in {error!r:.200}"
    assert isinstance(error.get("message"), str), f"no error message in {error!r:.200}"
    assert set(error) <= {"code", "message", "details", "request_id"}, f"unexpected keys {sorted(error)}"
    header = _header(response, "x-request-id")
    assert header and error.get("request_id") == header, f"request_id {error.get('request_id')!r} != header {header!r}"


def documented_status(ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """The status is one the README documents for this operation (or 405 for a wrong method)."""
    allowed = DOCUMENTED_STATUSES.get(case.operation.label)
    if allowed is None or response.status_code == 405:
        return
    assert response.status_code in allowed, f"{response.status_code} is not documented for {case.operation.label}"


def entities_point_into_text(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> None:
    """A 200 from /v1/ner(/batch): one result per text; entities slice their text, sorted, disjoint."""
    if response.status_code != 200 or case.operation.path not in ("/v1/ner", "/v1/ner/batch"):
        return
    body, sent = json.loads(response.content), case.body
    if not isinstance(sent, dict):
        return
    if case.operation.path == "/v1/ner":
        texts, results = [sent.get("text")], [body]
    else:
        texts, results = sent.get("texts"), body["results"]
        assert isinstance(texts, list) and len(results) == len(texts), "one result per text, in order"
    for text, result in zip(texts, results):
        end = 0
        for e in result["entities"]:
            assert isinstance(text, str) and text[e["start"] : e["end"]] == e["text"], f"{e} does not slice the text"
            assert e["start"] >= end and e["end"] > e["start"], f"{e} overlaps or is empty"
            assert 0.0 <= e["score"] <= 1.0, f"score out of [0, 1]: {e}"
            end = e["end"]


def register_checks() -> None:
    """Register the service's own checks with schemathesis (global; registering again is harmless)."""
    for check in (json_error_shape, documented_status, entities_point_into_text):
        schemathesis.check(check)


@dataclass
class Summary:
    """What one or more passes found."""

    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: int = 0
    failures: Counter[str] = field(default_factory=Counter)  # by check name
    errors: list[str] = field(default_factory=list)  # operations that could not be tested
    examples: dict[str, str] = field(default_factory=dict)  # check -> first failure, with a curl command
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.failures or self.errors or self.server_errors) and self.cases > 0

    def add(self, other: Summary) -> None:
        self.cases += other.cases
        self.statuses.update(other.statuses)
        self.server_errors += other.server_errors
        self.failures.update(other.failures)
        self.errors += other.errors
        self.examples = {**other.examples, **self.examples}
        self.seconds += other.seconds

    def render(self) -> str:
        lines = [
            f"cases: {self.cases} in {self.seconds:.1f}s",
            "statuses: " + ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items())),
            f"server errors (5xx): {self.server_errors}",
            f"failures: {sum(self.failures.values())}"
            + "".join(f"\n  {name}: {n}" for name, n in sorted(self.failures.items())),
            f"errors: {len(self.errors)}" + "".join(f"\n  {e}" for e in self.errors),
        ]
        lines += [f"first {name} failure: {text}" for name, text in sorted(self.examples.items())]
        return "\n".join(lines)


def only(schema: schemathesis.BaseSchema, path: str) -> schemathesis.BaseSchema:
    """Restrict ``schema`` (in place) to the operations on ``path``."""
    # Not `schema.include(path=...)`: the engine (schemathesis 4.32) runs every operation of such a clone.
    filters = FilterSet()
    filters.include(path=path)
    schema.filter_set = filters
    return schema


def run(schema: schemathesis.BaseSchema) -> Summary:
    """Run every phase against ``schema`` (its app, or its base URL) and tally the outcome."""
    register_checks()
    summary, began = Summary(), time.monotonic()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished) and event.is_test_scenario:
            recorder = event.recorder
            summary.cases += len(recorder.cases)
            for interaction in recorder.interactions.values():
                if interaction.response is not None:
                    summary.statuses[interaction.response.status_code] += 1
                    summary.server_errors += interaction.response.status_code >= 500
            for case_id, checks in recorder.checks.items():
                for check in checks:
                    if check.status == Status.SUCCESS:
                        continue
                    summary.failures[check.name] += 1
                    if check.name not in summary.examples and check.failure_info is not None:
                        failure = check.failure_info.failure
                        curl = recorder.cases[case_id].value.as_curl_command()
                        summary.examples[check.name] = f"{failure.title}: {failure.message}\n    {curl:.600}"
        elif isinstance(event, events.NonFatalError):
            summary.errors.append(f"{event.label}: {event.info}")
        elif isinstance(event, events.FatalError):
            summary.errors.append(f"fatal: {event.exception!r}")
    summary.seconds = time.monotonic() - began
    return summary


def fuzz_url(url: str, *, api_key: str | None, seed: int, max_examples: int, stateful_examples: int) -> Summary:
    """Every operation (with ``api_key`` when given), then the reload endpoint again without a key."""
    passes = [(api_key, None), (None, RELOAD)] if api_key else [(None, None)]
    total = Summary()
    for key, only_path in passes:
        config = fuzz_config(seed=seed, max_examples=max_examples, api_key=key, stateful_examples=stateful_examples)
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json", config=config)
        if only_path is not None:
            schema = only(schema, only_path)
        found = run(schema)
        print(f"--- {'X-API-Key sent' if key else 'no X-API-Key'}, {only_path or 'every operation'}", flush=True)
        print(f"{found.render()}\n", flush=True)
        total.add(found)
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running service; default: start `ner serve` on a free port")
    parser.add_argument("--api-key", default=os.environ.get("NER_API_KEY"), help="its NER_API_KEY (with --url)")
    parser.add_argument("--models", default="en,zh", help="models the started server loads")
    parser.add_argument("--max-examples", type=int, default=600, help="fuzzing cases per operation and pass")
    parser.add_argument("--stateful-examples", type=int, default=100, help="stateful scenarios per pass")
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args(argv)
    sizes = {"seed": args.seed, "max_examples": args.max_examples, "stateful_examples": args.stateful_examples}

    if args.url:
        summary = fuzz_url(args.url.rstrip("/"), api_key=args.api_key, **sizes)
    else:
        key = secrets.token_urlsafe(16)
        with serve({**os.environ, "NER_API_KEY": key}, args=["--model", args.models]) as server:
            print(f"ner serve --model {args.models} at {server.url} (pid {server.pid}, log {server.log})", flush=True)
            summary = fuzz_url(server.url, api_key=key, **sizes)
    print(f"=== total\n{summary.render()}")
    print("OK" if summary.ok else "FAILED")
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
