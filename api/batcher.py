"""Dynamic micro-batching: requests that wait for the model at the same time share one forward pass.

Each of ``NER_INFERENCE_WORKERS`` worker coroutines takes the oldest waiting request, adds the other
waiting requests for the same loaded model (oldest first, up to ``max_texts`` texts and ``max_chars``
characters in all; a request is never split), and runs them as one ``Tagger.predict`` call on the
inference threads. Nothing waits on purpose unless ``max_wait`` is set: while a batch runs, new requests
queue up, and the next batch takes them all. A lone request therefore pays no extra latency, and under
load the batches grow by themselves. The queue is bounded: beyond ``max_queue`` waiting requests the
service answers 503 at once instead of letting latency grow without limit.

If a shared call fails, each of its requests is retried alone, so one bad text fails only its own
request. A request whose client went away is dropped before its batch runs.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field

from api.errors import ApiError
from api.metrics import Metrics
from api.registry import LoadedModel
from ner.pipeline import Entity


@dataclass
class _Job:
    loaded: LoadedModel
    texts: list[str]
    future: asyncio.Future[list[list[Entity]]]
    submitted: float = field(default_factory=time.perf_counter)

    @property
    def chars(self) -> int:
        return sum(len(t) for t in self.texts)


class MicroBatcher:
    """Queues tagging requests and runs them in shared model calls (see the module docstring)."""

    def __init__(
        self,
        executor: Executor,
        metrics: Metrics,
        *,
        workers: int = 1,
        batch_size: int = 64,
        max_texts: int = 256,
        max_chars: int = 50_000,
        max_wait: float = 0.0,
        max_queue: int = 1024,
    ) -> None:
        """
        Args:
            executor: the inference threads that run the model.
            workers: model calls running at once (one worker coroutine each).
            batch_size: sentences per forward pass inside a model call.
            max_texts, max_chars: limits on one shared call; a single request over them runs alone.
            max_wait: seconds a worker waits for more requests after the first, when the call is not full.
            max_queue: waiting requests beyond which new ones get 503.
        """
        self.executor = executor
        self.metrics = metrics
        self.workers = workers
        self.batch_size = batch_size
        self.max_texts = max_texts
        self.max_chars = max_chars
        self.max_wait = max_wait
        self.max_queue = max_queue
        self._pending: deque[_Job] = deque()
        self._arrived = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start the worker coroutines on the running event loop."""
        self._tasks = [asyncio.create_task(self._work(), name=f"ner-batcher-{i}") for i in range(self.workers)]

    async def stop(self) -> None:
        """Stop the workers; requests still queued get 503."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        while self._pending:
            job = self._pending.popleft()
            if not job.future.done():
                job.future.set_exception(ApiError(503, "shutting_down", "the service is shutting down"))

    @property
    def queued(self) -> int:
        """Requests waiting for a model call."""
        return len(self._pending)

    async def tag(self, loaded: LoadedModel, texts: list[str]) -> list[list[Entity]]:
        """Entities for each text, from a model call this request may share with others."""
        if len(self._pending) >= self.max_queue:
            message = f"{len(self._pending)} requests are waiting for the model; retry shortly"
            raise ApiError(503, "overloaded", message, headers={"Retry-After": "1"})
        job = _Job(loaded, texts, asyncio.get_running_loop().create_future())
        self._pending.append(job)
        self._arrived.set()
        return await job.future

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._pending:
                self._arrived.clear()
                await self._arrived.wait()
            if self.max_wait > 0:
                await self._wait_for_more()
            jobs = self._take()
            if not jobs:
                continue
            try:
                results = await loop.run_in_executor(self.executor, self._run, jobs)
            except BaseException as error:  # cancelled (shutdown) or the executor is gone
                stop = ApiError(503, "shutting_down", "the service is shutting down")
                results = [stop if isinstance(error, asyncio.CancelledError) else error] * len(jobs)
                self._settle(jobs, results)
                if isinstance(error, asyncio.CancelledError):
                    raise
                continue
            self._settle(jobs, results)

    @staticmethod
    def _settle(jobs: Sequence[_Job], results: Sequence[list[list[Entity]] | BaseException]) -> None:
        for job, result in zip(jobs, results):
            if job.future.done():  # the client went away while the model ran
                continue
            if isinstance(result, BaseException):
                job.future.set_exception(result)
            else:
                job.future.set_result(result)

    async def _wait_for_more(self) -> None:
        """Give requests up to ``max_wait`` after the oldest one arrived to join it, unless the call is full."""
        deadline = self._pending[0].submitted + self.max_wait
        while sum(len(j.texts) for j in self._pending) < self.max_texts:
            left = deadline - time.perf_counter()
            if left <= 0:
                return
            await asyncio.sleep(min(left, 0.0005))

    def _take(self) -> list[_Job]:
        """The oldest live request and the other waiting requests of its model that fit beside it."""
        while self._pending and self._pending[0].future.done():
            self._pending.popleft()  # cancelled: the client went away
        if not self._pending:
            return []
        first = self._pending.popleft()
        jobs, texts, chars = [first], len(first.texts), first.chars
        keep: deque[_Job] = deque()
        while self._pending:
            job = self._pending.popleft()
            if job.future.done():
                continue
            fits = texts + len(job.texts) <= self.max_texts and chars + job.chars <= self.max_chars
            if job.loaded is first.loaded and fits:
                jobs.append(job)
                texts, chars = texts + len(job.texts), chars + job.chars
            else:
                keep.append(job)
        self._pending = keep
        return jobs

    def _run(self, jobs: Sequence[_Job]) -> list[list[list[Entity]] | BaseException]:
        """On an inference thread: one model call for all the jobs, with its metrics."""
        began = time.perf_counter()
        name = jobs[0].loaded.name
        for job in jobs:
            self.metrics.queue_wait.labels(name).observe(began - job.submitted)
        self.metrics.batch_requests.labels(name).observe(len(jobs))
        try:
            return self._predict(jobs)
        finally:
            self.metrics.inference.labels(name).observe(time.perf_counter() - began)

    def _predict(self, jobs: Sequence[_Job]) -> list[list[list[Entity]] | BaseException]:
        """Entities per job from one shared call; if it fails, one call per job, so only the bad one fails."""
        try:
            flat = jobs[0].loaded.tagger.predict([t for job in jobs for t in job.texts], self.batch_size)
        except Exception as error:
            if len(jobs) == 1:
                return [error]
            return [self._predict([job])[0] for job in jobs]
        out: list[list[list[Entity]] | BaseException] = []
        at = 0
        for job in jobs:
            out.append(flat[at : at + len(job.texts)])
            at += len(job.texts)
        return out
