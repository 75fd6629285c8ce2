"""The REST service in-process: ``TestClient(create_app(settings))`` with the shipped models."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

import api.registry
from api import Settings, create_app
from api.registry import ModelRegistry
from ner.train import TrainResult

KEY = "test-key-0123"
EN_TEXT = "Angela Merkel met Emmanuel Macron in Paris on Tuesday, said Reuters."
EN_EXPECTED = [
    ("Angela Merkel", "PER", 0, 13),
    ("Emmanuel Macron", "PER", 18, 33),
    ("Paris", "LOC", 37, 42),
    ("Reuters", "ORG", 60, 67),
]
ZH_TEXT = "张三在北京大学工作。中国外交部发言人在上海表示。"
ZH_EXPECTED = [("张三", "PER", 0, 2), ("北京大学", "ORG", 3, 7), ("中国外交部", "ORG", 10, 15), ("上海", "LOC", 19, 21)]


def wait_ready(client: TestClient, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while client.get("/ready").status_code != 200:
        assert time.monotonic() < deadline, client.get("/ready").json()
        time.sleep(0.05)


def spans(body: dict[str, Any]) -> list[tuple[str, str, int, int]]:
    return [(e["text"], e["label"], e["start"], e["end"]) for e in body["entities"]]


def check_offsets(text: str, body: dict[str, Any]) -> None:
    end = 0
    for e in body["entities"]:
        assert text[e["start"] : e["end"]] == e["text"]
        assert e["start"] >= end, "sorted, never overlapping"
        assert 0.0 <= e["score"] <= 1.0
        end = e["end"]


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    """Both shipped models, small limits so every limit can be hit cheaply, admin enabled."""
    settings = Settings(models=("en", "zh"), api_key=KEY, max_chars=20_000, max_batch=8, max_body_bytes=64_000)
    with TestClient(create_app(settings)) as c:
        wait_ready(c)
        yield c


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["models"] == ["en", "zh"]


def test_english_entities_with_offsets_and_scores(client: TestClient) -> None:
    body = client.post("/v1/ner", json={"text": EN_TEXT}).json()
    assert body["model"] == "en"  # the default is the first configured model
    assert spans(body) == EN_EXPECTED
    check_offsets(EN_TEXT, body)
    scores = [e["score"] for e in body["entities"]]
    assert all(s > 0.5 for s in scores) and len(set(scores)) > 1, "scores are probabilities, not a constant"


def test_chinese_entities_with_offsets(client: TestClient) -> None:
    body = client.post("/v1/ner", json={"text": ZH_TEXT, "model": "zh"}).json()
    assert body["model"] == "zh"
    assert spans(body) == ZH_EXPECTED
    check_offsets(ZH_TEXT, body)


def test_offsets_are_code_points_outside_the_bmp(client: TestClient) -> None:
    text = "😀😀 Angela Merkel visited Paris."
    body = client.post("/v1/ner", json={"text": text}).json()
    assert [(e["text"], e["start"]) for e in body["entities"]] == [("Angela Merkel", 3), ("Paris", 25)]
    check_offsets(text, body)


@pytest.mark.parametrize("text", ["", "   \n\t  ", "\u3000"])
def test_empty_or_blank_text_gives_no_entities(client: TestClient, text: str) -> None:
    response = client.post("/v1/ner", json={"text": text})
    assert response.status_code == 200
    assert response.json()["entities"] == []


def test_batch_keeps_input_order_and_matches_single_requests(client: TestClient) -> None:
    texts = [EN_TEXT, "", "Apple opened a store in Berlin.", "   ", "Barack Obama spoke in Chicago."]
    body = client.post("/v1/ner/batch", json={"texts": texts}).json()
    assert body["model"] == "en" and len(body["results"]) == len(texts)
    for text, result in zip(texts, body["results"]):
        single = client.post("/v1/ner", json={"text": text}).json()
        assert result["entities"] == single["entities"]
        check_offsets(text, result)
    assert spans(body["results"][0]) == EN_EXPECTED
    zh = client.post("/v1/ner/batch", json={"texts": ["我爱北京。", ZH_TEXT], "model": "zh"}).json()
    assert spans(zh["results"][1]) == ZH_EXPECTED
    assert client.post("/v1/ner/batch", json={"texts": []}).json()["results"] == []


def test_long_english_text_is_split_and_offsets_map_back(client: TestClient) -> None:
    sentence = "Angela Merkel met Emmanuel Macron in Paris on Tuesday, said Reuters. "
    text = "Intro line.\n\n" + sentence * 150  # ~1,800 tokens, 150 sentences
    body = client.post("/v1/ner", json={"text": text}).json()
    check_offsets(text, body)
    assert len(body["entities"]) == 4 * 150
    assert [e["label"] for e in body["entities"][:4]] == ["PER", "PER", "LOC", "ORG"]


def test_long_chinese_text_without_punctuation_is_chunked(client: TestClient) -> None:
    text = "张三在北京大学工作" * 100  # 900 characters, no sentence end: cut into bounded chunks
    body = client.post("/v1/ner", json={"text": text, "model": "zh"}).json()
    check_offsets(text, body)
    found = {e["text"] for e in body["entities"]}
    assert {"张三", "北京大学"} <= found
    assert len(body["entities"]) >= 150


def _chunked(data: bytes) -> Iterator[bytes]:
    for i in range(0, len(data), 4096):
        yield data[i : i + 4096]


BAD_INPUTS: list[tuple[str, dict[str, Any], int, str]] = [
    ("unknown model", {"json": {"text": "Paris", "model": "xx"}}, 404, "unknown_model"),
    ("text too long", {"json": {"text": "a" * 20_001}}, 413, "text_too_long"),
    ("body too large", {"json": {"text": "a " * 40_000}}, 413, "payload_too_large"),
    (
        "body too large, chunked",
        {"content": _chunked(b'{"text": "' + b"a" * 70_000 + b'"}'), "headers": {"content-type": "application/json"}},
        413,
        "payload_too_large",
    ),
    ("malformed JSON", {"content": b'{"text": ', "headers": {"content-type": "application/json"}}, 422, "invalid_json"),
    ("text not a string", {"json": {"text": 5}}, 422, "invalid_request"),
    ("text null", {"json": {"text": None}}, 422, "invalid_request"),
    ("missing text", {"json": {"model": "en"}}, 422, "invalid_request"),
    ("unknown field", {"json": {"txt": "Paris"}}, 422, "invalid_request"),
    ("array body", {"json": ["Paris"]}, 422, "invalid_request"),
    ("no body", {}, 422, "invalid_request"),
    ("model not a string", {"json": {"text": "Paris", "model": 3}}, 422, "invalid_request"),
    ("plain text", {"content": b"Paris", "headers": {"content-type": "text/plain"}}, 415, "unsupported_media_type"),
    ("form", {"data": {"text": "Paris"}}, 415, "unsupported_media_type"),
    ("no content type", {"content": b'{"text": "P"}', "headers": {"content-type": ""}}, 415, "unsupported_media_type"),
    ("bad content length", {"content": b"{}", "headers": {"content-length": "x"}}, 400, "bad_content_length"),
]


@pytest.mark.parametrize(("case", "kwargs", "status", "code"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_gets_its_4xx_with_a_json_error(
    client: TestClient, case: str, kwargs: dict[str, Any], status: int, code: str
) -> None:
    response = client.post("/v1/ner", **kwargs)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"texts": ["a"] * 9}, 413, "too_many_texts"),
        ({"texts": ["ok", "a" * 20_001]}, 413, "text_too_long"),
        ({"texts": "Paris"}, 422, "invalid_request"),
        ({"texts": ["Paris", 3]}, 422, "invalid_request"),
        ({"texts": ["Paris"], "model": "nope"}, 404, "unknown_model"),
    ],
)
def test_bad_batches(client: TestClient, body: dict[str, Any], status: int, code: str) -> None:
    response = client.post("/v1/ner/batch", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_unknown_route_and_method_are_json_errors(client: TestClient) -> None:
    assert client.get("/v1/nope").json()["error"]["code"] == "not_found"
    response = client.get("/v1/ner")
    assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"


def test_too_long_text_names_the_index_in_a_batch(client: TestClient) -> None:
    message = client.post("/v1/ner/batch", json={"texts": ["ok", "a" * 20_001]}).json()["error"]["message"]
    assert "texts[1]" in message and "20001" in message


def test_models_endpoint_describes_loaded_models(client: TestClient) -> None:
    models = {m["name"]: m for m in client.get("/v1/models").json()["models"]}
    assert set(models) == {"en", "zh"}
    en = models["en"]
    assert en["language"] == "en" and en["labels"] == ["LOC", "MISC", "ORG", "PER"] and en["default"]
    assert en["metrics"]["dev"]["f1"] > 0.9
    assert en["digest"].startswith("sha256:") and len(en["digest"]) == 71
    assert en["load_seconds"] > 0 and en["loaded_at"]
    assert models["zh"]["labels"] == ["LOC", "ORG", "PER"] and not models["zh"]["default"]
    assert models["zh"]["metrics"]["held_out"]


def test_metrics_are_prometheus_text(client: TestClient) -> None:
    client.post("/v1/ner", json={"text": EN_TEXT})
    client.post("/v1/ner", json={"text": "x", "model": "nope"})
    text = client.get("/metrics").text
    assert 'ner_http_requests_total{method="POST",route="/v1/ner",status="200"}' in text
    assert 'ner_http_requests_total{method="POST",route="/v1/ner",status="404"}' in text
    assert 'ner_entities_total{label="PER",model="en"}' in text
    assert "ner_http_request_duration_seconds_bucket" in text
    assert "ner_models_loaded 2.0" in text


def test_concurrent_requests_are_never_mixed_up(client: TestClient) -> None:
    names = ["Angela Merkel", "Barack Obama", "Vladimir Putin", "Boris Johnson", "Shinzo Abe", "Jacinda Ardern"]
    cities = ["Paris", "Berlin", "London", "Tokyo", "Madrid", "Rome"]
    texts = [f"{n} arrived in {c} on Monday." * (1 + i % 3) for i, (n, c) in enumerate(zip(names * 6, cities * 6))]
    texts += [f"{n}在{c}工作。" for n in ("张三", "李四", "王五") for c in ("北京", "上海", "广州")]
    expected = [client.post("/v1/ner", json={"text": t, "model": _lang(t)}).json() for t in texts]

    def call(text: str) -> Any:
        return client.post("/v1/ner", json={"text": text, "model": _lang(text)}).json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        bodies = list(pool.map(call, texts * 3))
    assert bodies == expected * 3
    for text, body in zip(texts, bodies):
        check_offsets(text, body)
        assert body["entities"], text


def _lang(text: str) -> str:
    return "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"


def test_admin_endpoints_need_the_key(client: TestClient) -> None:
    assert client.post("/v1/models/en/reload").status_code == 401
    response = client.post("/v1/models/en/reload", headers={"X-API-Key": KEY + "x"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


def test_admin_endpoints_are_disabled_without_a_key() -> None:
    with TestClient(create_app(Settings(models=("zh",), api_key=""))) as c:
        response = c.post("/v1/models/zh/reload", headers={"X-API-Key": ""})
        assert response.status_code == 403 and response.json()["error"]["code"] == "admin_disabled"


# Reload tests get their own app: they swap models.
@pytest.fixture
def en_client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(models=("en",), api_key=KEY))) as c:
        wait_ready(c)
        yield c


def _reload(client: TestClient, name: str, path: Path | None = None) -> Any:
    body = {"path": str(path)} if path is not None else None
    return client.post(f"/v1/models/{name}/reload", headers={"X-API-Key": KEY}, json=body)


DRUG_TEXT = "Doctors prescribed ibuprofen for the pain ."


def test_reload_swaps_the_model(en_client: TestClient, tiny_drugs: TrainResult) -> None:
    before = en_client.get("/v1/models").json()["models"][0]
    assert all(e["label"] != "DRUG" for e in en_client.post("/v1/ner", json={"text": DRUG_TEXT}).json()["entities"])
    response = _reload(en_client, "en", tiny_drugs.checkpoint)
    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply["previous_digest"] == before["digest"] != reply["model"]["digest"]
    assert reply["labels_added"] == ["DRUG"] and reply["labels_removed"] == ["LOC", "MISC", "ORG", "PER"]
    entities = en_client.post("/v1/ner", json={"text": DRUG_TEXT}).json()["entities"]
    assert [(e["text"], e["label"]) for e in entities] == [("ibuprofen", "DRUG")]
    assert en_client.get("/v1/models").json()["models"][0]["digest"] == reply["model"]["digest"]
    # Reloading without a path resolves the name again: the shipped model comes back.
    assert _reload(en_client, "en").json()["model"]["digest"] == before["digest"]
    assert spans(en_client.post("/v1/ner", json={"text": EN_TEXT}).json()) == EN_EXPECTED


def _break_weights(path: Path) -> None:
    (path / "model.safetensors").write_bytes((path / "model.safetensors").read_bytes()[:1000])


def _break_labels(path: Path) -> None:
    config = (path / "config.json").read_text().replace('"B-DRUG"', '"X-DRUG"')
    (path / "config.json").write_text(config)


def _break_config(path: Path) -> None:
    (path / "config.json").write_text("{not json")


def _remove_vocab(path: Path) -> None:
    (path / "vocab.json").unlink()


@pytest.mark.parametrize("damage", [_break_weights, _break_labels, _break_config, _remove_vocab])
def test_broken_checkpoint_is_refused_and_the_old_model_keeps_serving(
    en_client: TestClient, tiny_drugs: TrainResult, tmp_path: Path, damage: Any
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_drugs.checkpoint, broken)
    damage(broken)
    before = en_client.get("/v1/models").json()["models"][0]["digest"]
    response = _reload(en_client, "en", broken)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "checkpoint_rejected" and "keeps serving" in error["message"]
    assert en_client.get("/v1/models").json()["models"][0]["digest"] == before
    assert spans(en_client.post("/v1/ner", json={"text": EN_TEXT}).json()) == EN_EXPECTED
    assert _reload(en_client, "en", tmp_path / "missing").status_code == 422
    assert _reload(en_client, "../etc").status_code in (404, 422)


def test_reload_can_add_a_model_under_a_new_name(en_client: TestClient, tiny_drugs: TrainResult) -> None:
    assert _reload(en_client, "drugs", tiny_drugs.checkpoint).status_code == 200
    body = en_client.post("/v1/ner", json={"text": DRUG_TEXT, "model": "drugs"}).json()
    assert body["model"] == "drugs" and [e["label"] for e in body["entities"]] == ["DRUG"]
    assert spans(en_client.post("/v1/ner", json={"text": EN_TEXT}).json()) == EN_EXPECTED


def test_requests_holding_the_old_model_finish_on_it(tiny_drugs: TrainResult) -> None:
    registry = ModelRegistry()
    first, _ = registry.reload("en")
    held = registry.get("en")  # what a request in flight holds
    second, old = registry.reload("en", tiny_drugs.checkpoint)
    assert old is first and registry.get("en") is second
    assert [e.label for e in held.tagger.predict([EN_TEXT])[0]] == ["PER", "PER", "LOC", "ORG"]  # type: ignore[union-attr]


def test_ready_is_503_while_loading_and_requests_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    original = api.registry.load_model

    def slow_load(*args: Any, **kwargs: Any) -> Any:
        release.wait(30)
        return original(*args, **kwargs)

    monkeypatch.setattr(api.registry, "load_model", slow_load)
    with TestClient(create_app(Settings(models=("zh",)))) as c:
        assert c.get("/health").status_code == 200
        ready = c.get("/ready")
        assert ready.status_code == 503 and ready.json()["status"] == "loading"
        response = c.post("/v1/ner", json={"text": ZH_TEXT})
        assert response.status_code == 503 and response.json()["error"]["code"] == "model_loading"
        release.set()
        wait_ready(c)
        assert spans(c.post("/v1/ner", json={"text": ZH_TEXT}).json()) == ZH_EXPECTED


def test_a_model_that_fails_at_startup_is_reported_and_the_rest_serve(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(models=("zh", "ghost"), model_dir=tmp_path))) as c:
        deadline = time.monotonic() + 60
        while c.get("/ready").json()["status"] == "loading":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        ready = c.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["status"] == "failed" and "ghost" in ready.json()["errors"]
        assert "ghost" in c.get("/v1/models").json()["loading_errors"]
        assert spans(c.post("/v1/ner", json={"text": ZH_TEXT}).json()) == ZH_EXPECTED
        assert c.post("/v1/ner", json={"text": "x", "model": "ghost"}).status_code == 404


def _block_predict(loaded: Any) -> tuple[threading.Event, threading.Event]:
    """Make one loaded model's predict wait until released; returns (started, release)."""
    started, release = threading.Event(), threading.Event()
    original = loaded.tagger.predict

    def blocking(texts: list[str], batch_size: int = 64) -> Any:
        started.set()
        release.wait(30)
        return original(texts, batch_size)

    loaded.tagger.predict = blocking
    return started, release


def test_inference_never_blocks_the_event_loop(en_client: TestClient) -> None:
    started, release = _block_predict(en_client.app.state.service.registry.get("en"))  # type: ignore[attr-defined]
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(en_client.post, "/v1/ner", json={"text": EN_TEXT})
        assert started.wait(30)
        # The model call is stuck in its worker thread; the event loop still answers.
        assert en_client.get("/health").status_code == 200
        assert en_client.get("/v1/models").status_code == 200
        assert not pending.done()
        release.set()
        assert spans(pending.result().json()) == EN_EXPECTED


def test_a_request_in_flight_finishes_on_the_old_model(tiny_drugs: TrainResult) -> None:
    # Two inference workers: the blocked request holds one, the request after the reload takes the other.
    with TestClient(create_app(Settings(models=("en",), api_key=KEY, inference_workers=2))) as en_client:
        wait_ready(en_client)
        _check_in_flight(en_client, tiny_drugs)


def _check_in_flight(en_client: TestClient, tiny_drugs: TrainResult) -> None:
    started, release = _block_predict(en_client.app.state.service.registry.get("en"))  # type: ignore[attr-defined]
    text = "Angela Merkel prescribed ibuprofen in Paris ."
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(en_client.post, "/v1/ner", json={"text": text})
        assert started.wait(30)
        assert _reload(en_client, "en", tiny_drugs.checkpoint).status_code == 200
        # New requests already get the new model while the old request is still running.
        assert {e["label"] for e in en_client.post("/v1/ner", json={"text": text}).json()["entities"]} == {"DRUG"}
        release.set()
        old = pending.result().json()
    assert "DRUG" not in {e["label"] for e in old["entities"]}
    assert ("Angela Merkel", "PER") in {(e["text"], e["label"]) for e in old["entities"]}


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=10,
)


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=200), model=st.sampled_from(["en", "zh"]))
def test_any_text_gets_valid_entities(client: TestClient, text: str, model: str) -> None:
    response = client.post("/v1/ner", json={"text": text, "model": model})
    assert response.status_code == 200, response.text
    check_offsets(text, response.json())


@settings(max_examples=80, deadline=None)
@given(
    body=st.one_of(
        _JSON,
        st.fixed_dictionaries({"text": _JSON}),
        st.fixed_dictionaries({"texts": _JSON}),
        st.fixed_dictionaries({"text": st.text(max_size=50), "model": _JSON}),
    ),
    path=st.sampled_from(["/v1/ner", "/v1/ner/batch"]),
)
def test_no_input_produces_a_500(client: TestClient, body: Any, path: str) -> None:
    response = client.post(path, json=body)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["error"]["code"]


def test_lone_surrogates_are_a_422_not_a_500(client: TestClient) -> None:
    headers = {"content-type": "application/json"}
    response = client.post("/v1/ner", content=b'{"text": "Paris \\ud800"}', headers=headers)
    assert response.status_code == 422 and "surrogate" in response.json()["error"]["message"]
    pair = client.post("/v1/ner", content=b'{"text": "\\ud83d\\ude00 Paris"}', headers=headers).json()
    assert [(e["text"], e["start"]) for e in pair["entities"]] == [("Paris", 2)]


def test_cors_is_off_by_default_and_configurable() -> None:
    preflight = {"Origin": "https://example.org", "Access-Control-Request-Method": "POST"}
    with TestClient(create_app(Settings(models=("zh",)))) as c:
        assert "access-control-allow-origin" not in c.options("/v1/ner", headers=preflight).headers
        assert "access-control-allow-origin" not in c.get("/health", headers={"Origin": "https://example.org"}).headers
    with TestClient(create_app(Settings(models=("zh",), cors_origins="https://example.org"))) as c:  # type: ignore[arg-type]
        response = c.options("/v1/ner", headers=preflight)
        assert response.headers["access-control-allow-origin"] == "https://example.org"
        other = c.options("/v1/ner", headers={**preflight, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize("log_texts", [False, True])
def test_request_texts_stay_out_of_logs_unless_asked(caplog: pytest.LogCaptureFixture, log_texts: bool) -> None:
    secret = "Zanzibar Quixotic-Secret visited Paris."
    caplog.set_level("DEBUG")
    with TestClient(create_app(Settings(models=("en",), log_texts=log_texts))) as c:
        wait_ready(c)
        c.post("/v1/ner", json={"text": secret})
        c.post("/v1/ner/batch", json={"texts": [secret, 5]})  # a 422 with the text in the request
        c.post("/v1/ner", json={"text": secret, "model": "nope"})
    assert ("Quixotic-Secret" in caplog.text) == log_texts


def test_reload_refuses_a_language_change_under_a_served_name(en_client: TestClient) -> None:
    from ner.checkpoint import SHIPPED

    response = _reload(en_client, "en", SHIPPED / "zh")
    assert response.status_code == 422 and "'zh' model" in response.json()["error"]["message"]
    assert spans(en_client.post("/v1/ner", json={"text": EN_TEXT}).json()) == EN_EXPECTED
    assert _reload(en_client, "zh-extra", SHIPPED / "zh").status_code == 200  # under a new name it is fine


def test_a_trickling_body_is_cut_off_with_408() -> None:
    from api.limits import RequestLimits

    async def never_called(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the app must not see a body that never finished")

    async def trickle() -> dict[str, Any]:
        if not sent:
            sent.append(1)
            return {"type": "http.request", "body": b'{"text": "Par', "more_body": True}
        await anyio.sleep(60)
        raise AssertionError("unreachable")

    sent: list[int] = []
    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {"type": "http", "method": "POST", "headers": [(b"content-type", b"application/json")]}
    began = time.monotonic()
    anyio.run(RequestLimits(never_called, max_body_bytes=1000, body_timeout=0.2), scope, trickle, send)
    assert time.monotonic() - began < 5
    assert messages[0]["status"] == 408 and b"body_timeout" in messages[1]["body"]


def test_model_calls_run_on_the_fixed_inference_threads(en_client: TestClient) -> None:
    loaded = en_client.app.state.service.registry.get("en")  # type: ignore[attr-defined]
    original, threads = loaded.tagger.predict, set()

    def recording(texts: list[str], batch_size: int = 64) -> Any:
        threads.add(threading.current_thread().name)
        return original(texts, batch_size)

    loaded.tagger.predict = recording
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: en_client.post("/v1/ner", json={"text": f"Paris {i}"}), range(40)))
    # NER_INFERENCE_WORKERS=1: one thread of our own, however many requests ran at once.
    assert len(threads) == 1 and next(iter(threads)).startswith("ner-inference")
    assert "ner_inference_queue_seconds_count" in en_client.get("/metrics").text
