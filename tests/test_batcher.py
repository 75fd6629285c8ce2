"""Dynamic micro-batching (api/batcher.py): shared model calls, limits, isolation, queue bound, shutdown."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import pytest

from api.app import create_app
from api.batcher import MicroBatcher
from api.errors import ApiError
from api.metrics import Metrics
from api.registry import ModelRegistry
from api.settings import Settings
from ner.pipeline import Entity


@dataclass
class FakeTagger:
    """Tags every word that starts with a capital as X; the first call blocks until ``release`` is set."""

    calls: list[list[str]] = field(default_factory=list)
    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def predict(self, texts: list[str], batch_size: int = 64) -> list[list[Entity]]:
        self.calls.append(list(texts))
        self.entered.set()
        assert self.release.wait(10), "the test never released the model"
        if any("boom" in t for t in texts):
            raise RuntimeError("boom")
        return [[Entity(w, "X", 0, len(w), 1.0) for w in t.split() if w[:1].isupper()] for t in texts]


@dataclass(eq=False)
class FakeModel:
    name: str
    tagger: FakeTagger


async def _started(batcher: MicroBatcher, model: FakeModel, texts: list[str]) -> asyncio.Task[list[list[Entity]]]:
    task = asyncio.create_task(batcher.tag(model, texts))  # type: ignore[arg-type]
    await asyncio.sleep(0.01)  # let it reach the queue
    return task


async def _first_call_running(model: FakeModel) -> None:
    while not model.tagger.entered.is_set():
        await asyncio.sleep(0.001)


def _batcher(executor: ThreadPoolExecutor, **kwargs: object) -> MicroBatcher:
    batcher = MicroBatcher(executor, Metrics(), **kwargs)  # type: ignore[arg-type]
    batcher.start()
    return batcher


def test_requests_that_wait_together_share_one_call() -> None:
    async def scenario() -> None:
        model = FakeModel("m", FakeTagger())
        with ThreadPoolExecutor(1) as pool:
            batcher = _batcher(pool)
            first = await _started(batcher, model, ["Alice runs"])
            await _first_call_running(model)
            waiting = [await _started(batcher, model, [f"Bob{i} and Carol{i}"]) for i in range(3)]
            assert batcher.queued == 3
            model.tagger.release.set()
            results = await asyncio.gather(first, *waiting)
            await batcher.stop()
        assert model.tagger.calls == [["Alice runs"], ["Bob0 and Carol0", "Bob1 and Carol1", "Bob2 and Carol2"]]
        assert [[e.text for e in r[0]] for r in results] == [["Alice"]] + [[f"Bob{i}", f"Carol{i}"] for i in range(3)]

    asyncio.run(scenario())


def test_models_are_never_mixed_and_limits_cut_calls() -> None:
    async def scenario() -> None:
        tagger = FakeTagger()
        a, b = FakeModel("a", tagger), FakeModel("b", tagger)
        with ThreadPoolExecutor(1) as pool:
            batcher = _batcher(pool, max_texts=3, max_chars=1000)
            first = await _started(batcher, a, ["A"])
            await _first_call_running(a)
            tasks = [
                await _started(batcher, a, ["A1", "A2"]),
                await _started(batcher, b, ["B1"]),
                await _started(batcher, a, ["A3"]),
                await _started(batcher, a, ["A4"]),  # would make 4 texts: next call
                await _started(batcher, a, ["L1", "L2", "L3", "L4", "L5"]),  # over max_texts alone: runs alone
            ]
            tagger.release.set()
            await asyncio.gather(first, *tasks)
            await batcher.stop()
        assert tagger.calls == [["A"], ["A1", "A2", "A3"], ["B1"], ["A4"], ["L1", "L2", "L3", "L4", "L5"]]

    asyncio.run(scenario())


def test_a_failing_request_fails_alone() -> None:
    async def scenario() -> None:
        model = FakeModel("m", FakeTagger())
        with ThreadPoolExecutor(1) as pool:
            batcher = _batcher(pool)
            first = await _started(batcher, model, ["Warm"])
            await _first_call_running(model)
            good, bad, good2 = [await _started(batcher, model, [t]) for t in ("Ann", "boom", "Ben")]
            model.tagger.release.set()
            await first
            assert [e.text for e in (await good)[0]] == ["Ann"]
            assert [e.text for e in (await good2)[0]] == ["Ben"]
            with pytest.raises(RuntimeError, match="boom"):
                await bad
            await batcher.stop()
        # The shared call failed, then each request ran alone.
        assert model.tagger.calls[1:] == [["Ann", "boom", "Ben"], ["Ann"], ["boom"], ["Ben"]]

    asyncio.run(scenario())


def test_the_queue_is_bounded_and_cancelled_requests_are_dropped() -> None:
    async def scenario() -> None:
        model = FakeModel("m", FakeTagger())
        with ThreadPoolExecutor(1) as pool:
            batcher = _batcher(pool, max_queue=2)
            first = await _started(batcher, model, ["Busy"])
            await _first_call_running(model)
            gone = await _started(batcher, model, ["Gone"])
            kept = await _started(batcher, model, ["Kept"])
            with pytest.raises(ApiError) as refused:
                await batcher.tag(model, ["Third"])  # type: ignore[arg-type]
            assert refused.value.status == 503 and refused.value.code == "overloaded"
            assert refused.value.headers == {"Retry-After": "1"}
            gone.cancel()
            model.tagger.release.set()
            await asyncio.gather(first, kept)
            await batcher.stop()
        assert model.tagger.calls == [["Busy"], ["Kept"]]

    asyncio.run(scenario())


def test_max_wait_lets_a_second_request_join_an_idle_worker() -> None:
    async def scenario() -> None:
        model = FakeModel("m", FakeTagger())
        model.tagger.release.set()
        with ThreadPoolExecutor(1) as pool:
            batcher = _batcher(pool, max_wait=0.2)
            one = asyncio.create_task(batcher.tag(model, ["One"]))  # type: ignore[arg-type]
            await asyncio.sleep(0.02)
            two = asyncio.create_task(batcher.tag(model, ["Two"]))  # type: ignore[arg-type]
            await asyncio.gather(one, two)
            await batcher.stop()
        assert model.tagger.calls == [["One", "Two"]]

    asyncio.run(scenario())


def test_stop_answers_queued_requests_with_503() -> None:
    async def scenario() -> None:
        model = FakeModel("m", FakeTagger())
        with ThreadPoolExecutor(1) as pool:
            batcher = _batcher(pool)
            running = await _started(batcher, model, ["Busy"])
            await _first_call_running(model)
            queued = await _started(batcher, model, ["Queued"])
            await batcher.stop()
            model.tagger.release.set()
            for task in (running, queued):
                with pytest.raises(ApiError) as stopped:
                    await task
                assert stopped.value.status == 503 and stopped.value.code == "shutting_down"

    asyncio.run(scenario())


def test_concurrent_requests_to_the_real_service_share_calls_and_get_their_own_answers() -> None:
    registry = ModelRegistry()
    registry.load_all(("en",))
    tagger = registry.get("en").tagger  # type: ignore[union-attr]
    texts = [
        f"{name} met Angela Merkel in {city} on Monday."
        for name, city in [("Barack Obama", "Paris"), ("Boris Johnson", "Berlin"), ("Emmanuel Macron", "Rome")] * 8
    ]
    expected = [[e.to_dict() | {"score": round(e.score, 4)} for e in ents] for ents in tagger.predict(texts)]
    app = create_app(Settings(models=("en",)), registry=registry)

    async def scenario() -> tuple[list[dict], bytes]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://ner") as client:
                answers = await asyncio.gather(*(client.post("/v1/ner", json={"text": t}) for t in texts))
                metrics = (await client.get("/metrics")).content
        return [a.json() for a in answers], metrics

    answers, metrics = asyncio.run(scenario())
    assert [a["entities"] for a in answers] == expected
    # 24 requests at once on one worker: at least one call carried more than one request.
    counts = {line.split()[0]: float(line.split()[1]) for line in metrics.decode().splitlines() if line[:1] != "#"}
    assert counts['ner_batch_requests_count{model="en"}'] < len(texts)
    assert counts['ner_batch_requests_sum{model="en"}'] == len(texts)


def test_ner_quantize_serves_an_int8_model() -> None:
    app = create_app(Settings(models=("en",), quantize=True))

    async def scenario() -> tuple[dict, dict]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://ner") as client:
                while (await client.get("/ready")).status_code != 200:
                    await asyncio.sleep(0.05)
                models = (await client.get("/v1/models")).json()
                answer = (await client.post("/v1/ner", json={"text": "Angela Merkel visited Paris."})).json()
        return models, answer

    models, answer = asyncio.run(scenario())
    assert models["models"][0]["quantized"] is True
    assert [(e["text"], e["label"]) for e in answer["entities"]] == [("Angela Merkel", "PER"), ("Paris", "LOC")]
