"""``POST /v1/ner`` and ``POST /v1/ner/batch``: texts in, entity spans with offsets and scores out."""

from __future__ import annotations

import logging

from fastapi import APIRouter

from api.deps import ServiceState, State, pick_model
from api.errors import ApiError, error_responses
from api.registry import LoadedModel
from api.schemas import BatchItem, BatchRequest, BatchResponse, EntityOut, NerRequest, NerResponse

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["ner"])
# Every error these routes (and the request limits in front of them) can answer, in the error shape.
_ERRORS = error_responses(400, 404, 408, 413, 415, 422, 503)


def _check_lengths(state: ServiceState, texts: list[str]) -> None:
    limit = state.settings.max_chars
    for i, text in enumerate(texts):
        if len(text) > limit:
            where = f"texts[{i}]" if len(texts) > 1 else "text"
            message = f"{where} has {len(text)} characters; the limit is {limit} (NER_MAX_CHARS)"
            raise ApiError(413, "text_too_long", message)


async def _tag(state: ServiceState, loaded: LoadedModel, texts: list[str]) -> list[list[EntityOut]]:
    """Run the model on the service's inference threads (never on the event loop), through the
    micro-batcher: requests waiting at the same time share one model call (api/batcher.py)."""
    if state.settings.log_texts:
        logger.debug("model %s: tagging %r", loaded.name, texts)
    metrics = state.metrics
    results = await state.batcher.tag(loaded, texts)
    metrics.texts.labels(loaded.name).inc(len(texts))
    metrics.characters.labels(loaded.name).inc(sum(len(t) for t in texts))
    out = []
    for entities in results:
        for e in entities:
            metrics.entities.labels(loaded.name, e.label).inc()
        out.append(
            [EntityOut(text=e.text, label=e.label, start=e.start, end=e.end, score=round(e.score, 4)) for e in entities]
        )
    return out


@router.post("/ner", response_model=NerResponse, responses=_ERRORS)
async def tag_text(body: NerRequest, state: State) -> NerResponse:
    """Entities in one text, sorted by ``start``, never overlapping. Offsets are Python string indices."""
    _check_lengths(state, [body.text])
    loaded = pick_model(state, body.model)
    entities = (await _tag(state, loaded, [body.text]))[0]
    return NerResponse(model=loaded.name, entities=entities)


@router.post("/ner/batch", response_model=BatchResponse, responses=_ERRORS)
async def tag_batch(body: BatchRequest, state: State) -> BatchResponse:
    """Entities for each text, in input order."""
    if len(body.texts) > state.settings.max_batch:
        limit = state.settings.max_batch
        raise ApiError(413, "too_many_texts", f"{len(body.texts)} texts; the limit is {limit} (NER_MAX_BATCH)")
    _check_lengths(state, body.texts)
    loaded = pick_model(state, body.model)
    results = await _tag(state, loaded, body.texts) if body.texts else []
    return BatchResponse(model=loaded.name, results=[BatchItem(entities=r) for r in results])
