"""``create_app(settings)``: the FastAPI application, its lifespan and middleware."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api.batcher import MicroBatcher
from api.deps import ServiceState
from api.errors import install_error_handlers
from api.limits import RequestLimits
from api.logs import RequestContext
from api.metrics import Metrics, MetricsMiddleware
from api.registry import ModelRegistry
from api.routes import demo, models, ner, ops
from api.settings import Settings

logger = logging.getLogger(__name__)

DESCRIPTION = """Named-entity recognition (char+word BiLSTM-CRF) for English and Chinese.

Entity offsets `start`/`end` are **Python string indices (Unicode code points)** into the submitted
text, so `text[start:end]` is the entity. JavaScript strings count UTF-16 units: convert with
`Array.from(text)` for texts outside the Basic Multilingual Plane. `score` is the CRF's probability
of that span with that label (forward-backward), in [0, 1].
"""


def create_app(settings: Settings | None = None, registry: ModelRegistry | None = None) -> FastAPI:
    """Build the service. Models not already in ``registry`` load in the background at startup;
    ``/ready`` says when they are in. (``ner serve`` loads them first, so a bad checkpoint stops it.)"""
    settings = settings or Settings()
    metrics = Metrics()
    registry = registry or ModelRegistry(model_dir=settings.model_dir, quantize=settings.quantize)
    metrics.loaded.set_function(lambda: len(registry.names()))  # read at scrape time

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.torch_threads:
            import torch

            torch.set_num_threads(settings.torch_threads)
        executor = ThreadPoolExecutor(max_workers=settings.inference_workers, thread_name_prefix="ner-inference")
        batcher = MicroBatcher(
            executor,
            metrics,
            workers=settings.inference_workers,
            batch_size=settings.batch_size,
            max_texts=settings.batch_max_texts,
            max_chars=settings.batch_max_chars,
            max_wait=settings.batch_wait_ms / 1000,
            max_queue=settings.max_queue,
        )
        metrics.queued.set_function(lambda: batcher.queued)
        state = ServiceState(settings=settings, registry=registry, metrics=metrics, executor=executor, batcher=batcher)
        app.state.service = state
        batcher.start()

        async def load() -> None:
            try:
                missing = tuple(n for n in settings.models if registry.get(n) is None)
                await anyio.to_thread.run_sync(registry.load_all, missing)
            finally:
                state.loading_done = True
                if not state.registry.errors():
                    logger.info("ready: serving %s", ", ".join(state.registry.names()))

        task = asyncio.create_task(load())
        try:
            yield
        finally:
            if not task.done():
                task.cancel()
            await batcher.stop()
            state.executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="ner-service", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    install_error_handlers(app)
    app.include_router(ops.router)
    app.include_router(ner.router)
    app.include_router(models.router)
    if settings.demo:
        demo.install(app)
    # Added last = outermost: metrics see every response, including the limits' 413/415.
    app.add_middleware(RequestLimits, max_body_bytes=settings.max_body_bytes, body_timeout=settings.body_timeout)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-API-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID"],  # so a browser client can read the id of an answer
        )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    # Outermost: every answer, the limits' 4xx included, carries X-Request-ID and gets an access line.
    app.add_middleware(RequestContext)
    return app
