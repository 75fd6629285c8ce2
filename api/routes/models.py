"""``GET /v1/models`` and the admin ``POST /v1/models/{name}/reload`` (hot swap)."""

from __future__ import annotations

import logging
from typing import Annotated

import anyio
from fastapi import APIRouter, Body, Depends

from api.deps import State, require_admin
from api.errors import ApiError, error_responses
from api.registry import LoadedModel, ModelLoadError
from api.schemas import ModelInfo, ModelsResponse, ReloadRequest, ReloadResponse
from ner.store import check_name

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/models", tags=["models"])


def _info(loaded: LoadedModel, default: str) -> ModelInfo:
    return ModelInfo(**loaded.info(), default=loaded.name == default)


@router.get("", response_model=ModelsResponse)
def list_models(state: State) -> ModelsResponse:
    """Every loaded model: labels, language, training metrics from its card, checkpoint digest, load time."""
    default = state.settings.default
    models = [_info(state.registry.get(n), default) for n in state.registry.names()]  # type: ignore[arg-type]
    return ModelsResponse(models=models, loading_errors=state.registry.errors())


@router.post(
    "/{name}/reload",
    response_model=ReloadResponse,
    dependencies=[Depends(require_admin)],
    responses=error_responses(400, 401, 403, 404, 408, 413, 415, 422),
)
async def reload_model(name: str, state: State, body: Annotated[ReloadRequest | None, Body()] = None) -> ReloadResponse:
    """Load, validate and atomically swap in a checkpoint for ``name`` (requires ``X-API-Key``).

    Without ``path`` the name is resolved again (the store's current version, else the shipped model).
    Requests already running finish on the old model. A checkpoint that fails validation is refused
    with 422 and the old model keeps serving.
    """
    try:
        check_name(name)
    except ValueError as e:
        raise ApiError(422, "invalid_model_name", str(e)) from None
    path = body.path if body else None
    try:
        new, old = await anyio.to_thread.run_sync(lambda: state.registry.reload(name, path))
    except ModelLoadError as e:
        state.metrics.reloads.labels(name, "refused").inc()
        logger.warning("reload of %s refused: %s", name, e)
        still = "the previous model keeps serving" if state.registry.get(name) else "nothing was loaded"
        raise ApiError(422, "checkpoint_rejected", f"{e}; {still}") from None
    state.metrics.reloads.labels(name, "ok").inc()
    before = set(old.tagger.labels) if old else set()
    after = set(new.tagger.labels)
    return ReloadResponse(
        model=_info(new, state.settings.default),
        previous_digest=old.digest if old else None,
        labels_added=sorted(after - before),
        labels_removed=sorted(before - after),
    )
