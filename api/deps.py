"""Dependencies shared by the routers: the app's state, the model a request asks for, the admin key."""

from __future__ import annotations

import hmac
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from api.batcher import MicroBatcher
from api.errors import ApiError
from api.metrics import Metrics
from api.registry import LoadedModel, ModelRegistry
from api.settings import Settings


@dataclass
class ServiceState:
    """Everything a request handler may touch, built once per app in the lifespan."""

    settings: Settings
    registry: ModelRegistry
    metrics: Metrics
    # NER_INFERENCE_WORKERS threads of its own run the model: a small fixed pool keeps per-thread
    # allocator arenas (and so memory) bounded, unlike anyio's shared pool of up to 40 threads.
    executor: ThreadPoolExecutor
    # Requests for the model queue here and share model calls on the executor's threads.
    batcher: MicroBatcher
    loading_done: bool = False


def get_state(request: Request) -> ServiceState:
    return request.app.state.service


State = Annotated[ServiceState, Depends(get_state)]


def pick_model(state: ServiceState, name: str | None) -> LoadedModel:
    """The model to serve a request with; 404 for a name the service does not serve, 503 while loading."""
    name = name or state.settings.default
    loaded = state.registry.get(name)
    if loaded is not None:
        return loaded
    if not state.loading_done and name in state.settings.models:
        raise ApiError(503, "model_loading", f"model {name!r} is still loading; retry shortly")
    served = ", ".join(state.registry.names()) or "none"
    raise ApiError(404, "unknown_model", f"model {name!r} is not served here; served models: {served}")


def require_admin(state: State, x_api_key: Annotated[str | None, Header()] = None) -> None:
    """Admin endpoints: 403 while NER_API_KEY is unset, 401 for a missing or wrong X-API-Key."""
    expected = state.settings.api_key
    if expected is None:
        raise ApiError(403, "admin_disabled", "admin endpoints are disabled: set NER_API_KEY to enable them")
    if x_api_key is None or not hmac.compare_digest(x_api_key.encode(), expected.get_secret_value().encode()):
        raise ApiError(401, "unauthorized", "missing or wrong X-API-Key header")
